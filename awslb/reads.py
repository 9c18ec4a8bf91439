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

    def _once(self, method: str, service: str, operation: str, region: str | None, params: dict[str, Any]) -> Any:
        do = getattr(self._aws, method)
        if not operation.startswith(READS):
            return do(service, operation, region=region, **params)
        key = json.dumps([method, service, operation, region, params], sort_keys=True, default=str)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # the same question asked at once by two kinds goes out once
            if key in self._answers:
                self.hits += 1
            else:
                self._answers[key] = do(service, operation, region=region, **params)
            return copy.deepcopy(self._answers[key])

    def call(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict:
        return cast(dict, self._once("call", service, operation, region, params))

    def find(self, service: str, operation: str, *, region: str | None = None, **params: Any) -> dict | None:
        return cast("dict | None", self._once("find", service, operation, region, params))

    def paginate(self, service: str, operation: str, key: str, *, region: str | None = None,
                 **params: Any) -> list:
        do = self._aws.paginate
        if not operation.startswith(READS):
            return do(service, operation, key, region=region, **params)
        return cast(list, self._once_paginated(service, operation, key, region, params))

    def _once_paginated(self, service: str, operation: str, key: str, region: str | None,
                        params: dict[str, Any]) -> Any:
        cache_key = json.dumps(["paginate", service, operation, key, region, params], sort_keys=True, default=str)
        with self._lock:
            lock = self._locks.setdefault(cache_key, threading.Lock())
        with lock:
            if cache_key in self._answers:
                self.hits += 1
            else:
                self._answers[cache_key] = self._aws.paginate(service, operation, key, region=region, **params)
            return copy.deepcopy(self._answers[cache_key])


def cached(aws: Aws) -> Aws:
    """``aws`` for a read-only pass, each distinct read made once."""
    return cast("Aws", CachedReads(aws))
