"""One read, answered once: a planning pass asks AWS each distinct question a single time.

Several kinds look at the same things while planning (the stack's balancers and their
tags for the balancer and its listeners, the stack's groups for the group and the launch
configurations). :class:`CachedReads` wraps the AWS door for the read-only part of a run
(preflight and observe) and answers a repeated read (same operation, same parameters)
from memory. Writes never go through it: the executor uses the door itself.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from awslb.aws import Aws

READS = ("describe_", "list_", "get_")


class CachedReads:
    def __init__(self, aws: Aws):
        self._aws = aws
        self._answers: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.hits = 0

    def __getattr__(self, name: str) -> Any:  # region, check_credentials, wait, client...
        return getattr(self._aws, name)

    def _memo(self, parts: list[Any], ask: Callable[[], Any]) -> Any:
        key = json.dumps(parts, sort_keys=True, default=str)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # the same question asked at once by two kinds goes out once
            if key in self._answers:
                self.hits += 1
            else:
                self._answers[key] = ask()
            return copy.deepcopy(self._answers[key])

    def call(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict:
        ask = partial(self._aws.call, service, operation, region=region, **params)
        if not operation.startswith(READS):
            return ask()
        return cast(dict, self._memo(["call", service, operation, region, params], ask))

    def find(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict | None:
        ask = partial(self._aws.find, service, operation, region=region, **params)
        if not operation.startswith(READS):
            return ask()
        return cast("dict | None", self._memo(["find", service, operation, region, params], ask))

    def paginate(self, service: str, operation: str, key: str, *, region: str | None = None,
                 **params: Any) -> list:
        ask = partial(self._aws.paginate, service, operation, key, region=region, **params)
        if not operation.startswith(READS):
            return ask()
        return cast(list, self._memo(["paginate", service, operation, key, region, params], ask))


def cached(aws: Aws) -> Aws:
    """``aws`` for a read-only pass, each distinct read made once."""
    return cast("Aws", CachedReads(aws))
