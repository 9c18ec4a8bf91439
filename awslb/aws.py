"""The one door to AWS: the only module that imports boto3 or botocore.

Clients come from one ``boto3.Session`` with adaptive retries and an awslb user agent,
are made lazily (never at import time) and are cached per service and region. Every
``ClientError`` becomes an :class:`~awslb.errors.AwsError` carrying the AWS code and a
hint; every NotFound flavour becomes ``None`` in :meth:`Aws.find`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.exceptions
import botocore.loaders
import botocore.parsers
import botocore.session
from botocore.config import Config

from awslb import __version__
from awslb.errors import AwsError, UsageError

# Operations whose name starts with one of these only read; everything else mutates.
READ_PREFIXES = ("Describe", "List", "Get")

# Hooks every new Aws object registers on its session: (event name, handler).
# Tests and benchmarks use `hooked()` to count or fail calls made by commands.
_GLOBAL_HOOKS: list[tuple[str, Callable[..., Any], bool]] = []

NOT_FOUND_CODES = {
    "AccessPointNotFound",
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound",
    "RuleNotFound",
    "CertificateNotFound",
    "ResourceNotFoundException",
    "NoSuchEntity",
    "InvalidGroup.NotFound",
    "InvalidAMIID.NotFound",
    "InvalidAMIID.Unavailable",
    "InvalidInstanceID.NotFound",
    "InvalidSnapshot.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateId.Malformed",
    "InvalidSubnetID.NotFound",
    "InvalidVpcID.NotFound",
    "InvalidPermission.NotFound",
    "InvalidAllocationID.NotFound",
}

HINTS = {
    "UnauthorizedOperation": "your credentials lack this permission: `awslb iam-policy -f STACK.toml` prints the policy awslb needs",
    "AccessDenied": "your credentials lack this permission: `awslb iam-policy -f STACK.toml` prints the policy awslb needs",
    "AccessDeniedException": "your credentials lack this permission: `awslb iam-policy -f STACK.toml` prints the policy awslb needs",
    "AuthFailure": "the credentials are not valid: check AWS_PROFILE / --profile, or run `aws sso login`",
    "InvalidClientTokenId": "the credentials are not valid: check AWS_PROFILE / --profile, or run `aws sso login`",
    "ExpiredToken": "the session token expired: refresh it (`aws sso login`) and run the command again",
    "ExpiredTokenException": "the session token expired: refresh it (`aws sso login`) and run the command again",
    "RequestExpired": "the machine's clock is off, or the token expired",
    "Throttling": "AWS is throttling this account: run the command again in a minute; it resumes where it stopped",
    "ThrottlingException": "AWS is throttling this account: run the command again in a minute; it resumes where it stopped",
    "RequestLimitExceeded": "AWS is throttling this account: run the command again in a minute; it resumes where it stopped",
    "DependencyViolation": "something outside this stack still uses the resource: remove that dependency first",
    "ResourceInUse": "the resource is still in use: wait a minute and run the command again",
    "ResourceInUseException": "the resource is still in use: wait a minute and run the command again",
    "TooManyLoadBalancers": "the account's load balancer quota is reached: delete unused balancers or ask AWS for more",
    "TooManyTargetGroups": "the account's target group quota is reached",
    "LimitExceeded": "an account quota is reached: see the Service Quotas console",
    "LimitExceededException": "an account quota is reached: see the Service Quotas console",
    "InstanceLimitExceeded": "the account's instance quota is reached: see the Service Quotas console",
    "CertificateNotFound": "use the ARN of an issued ACM certificate in this region (`aws acm list-certificates`)",
    "UnsupportedCertificate": "use an issued ACM certificate in the balancer's region",
    "InvalidAMIID.NotFound": "the image is not in this region: check --region or copy it with `awslb ami create --copy-to`",
    "InvalidInstanceID.NotFound": "no such instance in this region: check the id and --region",
    "InvalidKeyPair.NotFound": "no such key pair in this region: check --key-name and --region",
    "InvalidSubnetID.NotFound": "no such subnet in this region: check --subnet and --region",
    "InvalidGroup.NotFound": "no such security group in this region: check --security-group and --region",
    "ValidationError": "AWS rejected a value: check the flags named in the message",
    "InvalidParameterValue": "AWS rejected a value: check the flags named in the message",
    "InvalidParameterCombination": "AWS rejected a combination of settings: check the flags named in the message",
    "DuplicateTargetGroupName": "a target group of that name exists outside this stack: pick another --name",
    "DuplicateLoadBalancerName": "a balancer of that name exists outside this stack: pick another --name",
    "AlreadyExists": "a resource of that name exists outside this stack: pick another --name",
    "InvalidGroup.Duplicate": "a security group of that name exists outside this stack: pick another stack name",
    "InternalFailure": "AWS had an internal error: run the command again; it resumes where it stopped",
    "ServiceUnavailable": "AWS is unavailable right now: run the command again later",
    "EndpointConnectionError": "AWS could not be reached: check the network, --region and --endpoint-url",
}


def is_mutating(operation: str) -> bool:
    """True for operations that change something (not Describe*/List*/Get*)."""
    return not operation.startswith(READ_PREFIXES)


def is_not_found(code: str) -> bool:
    return code in NOT_FOUND_CODES or code.endswith(("NotFound", "NotFoundException"))


def hint_for(code: str) -> str | None:
    if code in HINTS:
        return HINTS[code]
    if is_not_found(code):
        return "it does not exist (any more) in this region: check the id and --region"
    return None


@contextmanager
def hooked(event: str, handler: Callable[..., Any], first: bool = False) -> Iterator[None]:
    """Register a botocore event handler on every Aws session made inside the block.

    ``first`` puts it before botocore's own handlers (and moto's, for 'before-send').
    """
    entry = (event, handler, first)
    _GLOBAL_HOOKS.append(entry)
    try:
        yield
    finally:
        _GLOBAL_HOOKS.remove(entry)


def client_error(operation: str, code: str, message: str = "injected") -> Exception:
    """Build a botocore ClientError (for fault injection in tests and benchmarks)."""
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )


_LOADER: botocore.loaders.Loader | None = None
_LOADER_LOCK = threading.Lock()


def _boto3_session(**kwargs: Any) -> boto3.Session:
    """A new session that shares the process's loader of service models.

    Parsing the JSON models is most of what making a client costs (about 0.1 s each);
    every session in one process (each command run in-process, the library used in a
    loop) reads the same files, so they share the loader and its cache.
    """
    global _LOADER
    core = botocore.session.get_session()
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _LOADER)
        session = boto3.Session(botocore_session=core, **kwargs)
        # boto3 appends its own data directory to the loader's paths for every session.
        paths = _LOADER.search_paths
        paths[:] = list(dict.fromkeys(paths))
    return session


class Aws:
    """Lazily made, cached boto3 clients with one error mapping."""

    def __init__(
        self,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_attempts: int = 10,
    ):
        self._profile = profile
        # AWS_REGION as the AWS SDKs and CLI v2 read it (botocore itself reads only AWS_DEFAULT_REGION).
        self._region = region or os.environ.get("AWS_REGION") or None
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self._max_attempts = max_attempts
        self._reachable = False
        self._unreachable: AwsError | None = None
        # Told about waits the user should see (an endpoint that does not answer yet).
        self.progress: Callable[[str], None] = lambda text: None
        self._session: boto3.Session | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    # -- session and clients ---------------------------------------------------------

    @property
    def session(self) -> boto3.Session:
        with self._lock:
            return self._session_locked()

    def _session_locked(self) -> boto3.Session:
        if self._session is None:
            if self.endpoint_url:
                # An emulator (or LocalStack): never probe the instance metadata service.
                os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
            try:
                session = _boto3_session(profile_name=self._profile, region_name=self._region)
                if self.endpoint_url and session.get_credentials() is None:
                    session = _boto3_session(aws_access_key_id="awslb-emulator",
                                             aws_secret_access_key="awslb-emulator", region_name=self._region)
            except botocore.exceptions.ProfileNotFound as exc:
                raise UsageError(f"--profile: {exc}") from None
            for event, handler, first in _GLOBAL_HOOKS:
                if first:
                    session.events.register_first(event, handler)
                else:
                    session.events.register(event, handler)
            self._session = session
        return self._session

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise UsageError(
                "no AWS region: pass --region, set AWS_REGION, or set a region in ~/.aws/config"
            )
        return region

    def check_credentials(self) -> None:
        """Fail with a one-line usage error when no credentials can be found."""
        try:
            creds = self.session.get_credentials()
        except botocore.exceptions.BotoCoreError as exc:
            raise UsageError(f"--profile: {exc}") from None
        if creds is None:
            raise UsageError(
                "no AWS credentials: pass --profile, set AWS_PROFILE, run `aws configure` or `aws sso login`"
            )

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.region
        key = (service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                session = self._session_locked()
                config = Config(
                    retries={"mode": os.environ.get("AWSLB_RETRY_MODE", "adaptive"),
                             "max_attempts": self._max_attempts},
                    user_agent_extra=f"awslb/{__version__}",
                    connect_timeout=10,
                    read_timeout=60,
                )
                if self.endpoint_url and not self._reachable:
                    self._wait_for_endpoint()
                try:
                    client = session.client(
                        service, region_name=region, endpoint_url=self.endpoint_url, config=config
                    )
                except botocore.exceptions.InvalidRegionError:
                    raise UsageError(f"--region: {region!r} is not a region name (like eu-central-1)") from None
                except ValueError as exc:
                    raise UsageError(f"--endpoint-url: {exc}") from None
                self._clients[key] = client
        return client

    def _wait_for_endpoint(self, within: float = 8.0) -> None:
        """An --endpoint-url that does not answer is a clear error within seconds, not
        minutes of botocore's retries; a progress line shows while it is tried again."""
        import socket
        import time
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(self.endpoint_url or "")
            host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise UsageError(f"--endpoint-url: {exc}") from None
        if not host:
            raise UsageError(f"--endpoint-url: {self.endpoint_url!r} names no host")
        if self._unreachable is not None:  # found before, by another thread: no second wait
            raise self._unreachable
        deadline = time.monotonic() + within
        attempt = 0
        while True:
            attempt += 1
            try:
                with socket.create_connection((host, port), timeout=2):
                    self._reachable = True
                    return
            except OSError as exc:
                if time.monotonic() + 1 > deadline:
                    self._unreachable = AwsError(
                        "connect", "EndpointConnectionError",
                        f"{self.endpoint_url} does not answer ({exc.strerror or exc})",
                        "start the emulator behind --endpoint-url (or AWS_ENDPOINT_URL), or check "
                        "the address; with --sandbox, `awslb sandbox status`")
                    raise self._unreachable from None
                self.progress(f"waiting for {self.endpoint_url} to answer (attempt {attempt}: {exc.strerror or exc})…")
                time.sleep(1)

    # -- calls -----------------------------------------------------------------------

    def call(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict:
        """Call ``operation`` (snake_case) and return the response, or raise AwsError."""
        client = self.client(service, region)
        with _mapped(operation):
            return getattr(client, operation)(**params)

    def find(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict | None:
        """Like :meth:`call`, but every NotFound flavour answers ``None``."""
        try:
            return self.call(service, operation, region=region, **params)
        except AwsError as exc:
            if is_not_found(exc.code):
                return None
            raise

    def paginate(
        self, service: str, operation: str, key: str, *, region: str | None = None, **params: Any
    ) -> list:
        """All items under ``key`` across every page of ``operation`` (NotFound: empty)."""
        client = self.client(service, region)
        items: list = []
        try:
            with _mapped(operation):
                for page in client.get_paginator(operation).paginate(**params):
                    items.extend(page.get(key, []))
        except AwsError as exc:
            if is_not_found(exc.code):
                return []
            raise
        return items

    def wait(
        self,
        service: str,
        waiter: str,
        *,
        region: str | None = None,
        delay: float = 15,
        max_attempts: int = 40,
        **params: Any,
    ) -> None:
        """Block on boto3's own waiter; a failed or timed-out wait is an AwsError."""
        client = self.client(service, region)
        try:
            client.get_waiter(waiter).wait(
                WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts}, **params
            )
        except botocore.exceptions.WaiterError as exc:
            reason = str(exc.last_response.get("Error", {}).get("Message", "")) if exc.last_response else ""
            raise AwsError(
                f"wait {waiter}", "WaiterFailed", f"{exc.kwargs.get('reason', exc)} {reason}".strip(),
                "the resource did not reach the expected state in time: check it in the console, then run again",
            ) from None
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", "Unknown"))
            raise AwsError(f"wait {waiter}", code, str(err.get("Message", "")), hint_for(code)) from None


@contextmanager
def _mapped(operation: str) -> Iterator[None]:
    """Turn botocore's exceptions into awslb's one-line errors."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        raise AwsError(exc.operation_name, code, str(err.get("Message", "")), hint_for(code)) from None
    except botocore.exceptions.NoCredentialsError:
        raise UsageError(
            "no AWS credentials: pass --profile, set AWS_PROFILE, run `aws configure` or `aws sso login`"
        ) from None
    except botocore.exceptions.ParamValidationError as exc:
        raise AwsError(_camel(operation), "ParamValidation", str(exc).replace("\n", " ")) from None
    except botocore.exceptions.EndpointConnectionError as exc:
        raise AwsError(
            _camel(operation), "EndpointConnectionError", str(exc), HINTS["EndpointConnectionError"]
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(_camel(operation), type(exc).__name__, str(exc)) from None
    except botocore.parsers.ResponseParserError as exc:
        # Not an AWS answer at all: an emulator (--sandbox, --endpoint-url) lacking the call.
        raise AwsError(_camel(operation), "InvalidResponse", str(exc).splitlines()[0].rstrip(":"),
                       "the endpoint did not answer like AWS: an emulator behind --endpoint-url or "
                       "--sandbox may not implement this call") from None


# For code that hands awslb's clients to functions written for plain boto3 (awslb.node):
# their errors become one-line AwsErrors too.
mapped = _mapped


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))
