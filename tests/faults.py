"""Fault injection for tests and benchmarks: fail, interrupt or throttle AWS calls.

Registered as botocore event handlers through `awslb.aws.hooked`, so they apply to every
client awslb makes inside the block.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from botocore.awsrequest import AWSResponse

from awslb.aws import client_error, is_mutating


@dataclass
class FailNth:
    """A 'before-call' handler that fails the n-th mutating call (0-based) once."""

    n: int
    exc: type[BaseException] | None = None  # KeyboardInterrupt to simulate Ctrl-C; default a ClientError
    code: str = "InternalFailure"
    seen: int = 0
    failed: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, model, **kwargs):
        if not is_mutating(model.name):
            return None
        with self.lock:
            index = self.seen
            self.seen += 1
        if index == self.n:
            self.failed = model.name
            if self.exc is not None:
                raise self.exc()
            raise client_error(model.name, self.code, "injected fault")
        return None


_QUERY_ERROR = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                b"<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>")
_EC2_ERROR = (b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
              b"</Message></Error></Errors><RequestID>1</RequestID></Response>")
_JSON_ERROR = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
_REST_XML_ERROR = (b'<?xml version="1.0"?><ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
                   b"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
                   b"<RequestId>1</RequestId></ErrorResponse>")
REST_JSON = {"lambda", "scheduler"}


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **kwargs):
        yield self._body


@dataclass
class Throttle:
    """A 'before-send' handler answering a share of requests with a throttling error.

    The answer goes through botocore's normal parsing and retry handling, so this tests
    that awslb's retry mode absorbs throttling, as it would with AWS.
    """

    share: float = 1 / 3
    seed: int = 7
    throttled: int = 0
    sent: int = 0
    rng: random.Random = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def __call__(self, request, **kwargs):
        with self.lock:
            self.sent += 1
            hit = self.rng.random() < self.share
            if hit:
                self.throttled += 1
        if not hit:
            return None
        service = str(kwargs.get("event_name", "")).split(".")[1:2]
        if service == ["ec2"]:
            body, headers = _EC2_ERROR, {}
        elif request.headers.get("X-Amz-Target"):
            body, headers = _JSON_ERROR, {"Content-Type": "application/x-amz-json-1.1"}
        elif service and service[0] in REST_JSON:
            # rest-json services (Lambda, EventBridge Scheduler): the code in x-amzn-ErrorType.
            body = b'{"message": "Rate exceeded"}'
            headers = {"Content-Type": "application/json", "x-amzn-ErrorType": "ThrottlingException"}
            return AWSResponse(request.url, 429, headers, _Raw(body))
        elif service and service[0] == "route53":
            body, headers = _REST_XML_ERROR, {"Content-Type": "text/xml"}
        else:
            body, headers = _QUERY_ERROR, {}
        return AWSResponse(request.url, 400, headers, _Raw(body))
