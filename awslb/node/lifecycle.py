"""Scale-in that waits for live sessions, run by the agent on each media server.

The group has a terminate lifecycle hook. When Auto Scaling picks this server to leave, the
instance's *target lifecycle state* in instance metadata (IMDSv2,
``/latest/meta-data/autoscaling/target-lifecycle-state``) becomes ``Terminated`` while the
instance waits in ``Terminating:Wait``. The :class:`Drainer` then:

1. tells HAProxy (and the redirector) to send no new clients: the agent's admin state
   becomes ``drain``; established sessions stay;
2. waits until the stat page shows no publishers and no viewers, or until the maximum
   drain time, recording a lifecycle-action heartbeat every half heartbeat timeout so the
   hook does not expire while it waits;
3. completes the lifecycle action (``CONTINUE``), and the instance terminates.

While it is in service it also keeps the group from picking a busy server in the first
place: with sessions it sets the instance's scale-in protection, and clears it when idle.

Nothing here is started early by a metadata service that does not answer: an unknown
target state is never ``Terminated``. A stat page that does not answer is an unknown session
count, never zero: the drain then runs to its maximum time.

Standard library only; the AWS calls go through the client it is given (``awslb.node.awsapi``).
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("awslb.node.lifecycle")

IMDS = "http://169.254.169.254"
TERMINATED = "Terminated"
# A lifecycle hook waits at most 100 heartbeat timeouts or 48 hours, whichever is less
# (AWS: "Amazon EC2 Auto Scaling lifecycle hooks", global timeout).
GLOBAL_TIMEOUT_MAX = 48 * 3600


class Imds:
    """The instance metadata service, IMDSv2 only (a session token on every read)."""

    def __init__(self, base: str = IMDS, timeout: float = 1.0, token_ttl: int = 21600,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base, self.timeout, self.token_ttl, self.clock = base.rstrip("/"), timeout, token_ttl, clock
        self._token: str | None = None
        self._token_at = 0.0

    def _get_token(self) -> str | None:
        if self._token and self.clock() - self._token_at < self.token_ttl / 2:
            return self._token
        req = urllib.request.Request(f"{self.base}/latest/api/token", method="PUT",
                                     headers={"X-aws-ec2-metadata-token-ttl-seconds": str(self.token_ttl)})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (link-local IMDS)
                self._token, self._token_at = resp.read(4096).decode().strip(), self.clock()
        except (urllib.error.URLError, OSError, ValueError):
            self._token = None
        return self._token

    def get(self, path: str) -> str | None:
        """The value at ``/latest/meta-data/<path>``, or None when it cannot be read."""
        token = self._get_token()
        if token is None:
            return None
        req = urllib.request.Request(f"{self.base}/latest/meta-data/{path}",
                                     headers={"X-aws-ec2-metadata-token": token})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return resp.read(4096).decode().strip() or None
        except urllib.error.HTTPError as exc:
            if exc.code == 401:  # the token expired early: ask for a new one next time
                self._token = None
            return None
        except (urllib.error.URLError, OSError, ValueError):
            return None


@dataclass(frozen=True)
class Hook:
    """Which lifecycle action to heartbeat and complete."""

    group: str
    name: str
    instance_id: str
    heartbeat_timeout: float = 300.0
    max_drain: float = 3600.0

    def check(self) -> None:
        """A drain longer than the hook can wait is refused (its global timeout would end it)."""
        limit = min(100 * self.heartbeat_timeout, GLOBAL_TIMEOUT_MAX)
        if not 0 < self.max_drain <= limit:
            raise ValueError(f"maximum drain time {self.max_drain:g} s is longer than the hook can wait "
                             f"({limit:g} s: 100 heartbeat timeouts or 48 h)")


class Drainer:
    """The drain state machine; :meth:`tick` is called on the agent's timer.

    ``sessions()`` returns publishers + viewers from the stat page, or None when unknown;
    ``set_admin(state)`` tells the agent ``drain`` or ``ready``.
    """

    def __init__(self, hook: Hook, imds: Imds, autoscaling: Any, sessions: Callable[[], int | None],
                 set_admin: Callable[[str], None], protect: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        hook.check()
        self.hook, self.imds, self.autoscaling = hook, imds, autoscaling
        self.sessions, self.set_admin, self.protect, self.clock = sessions, set_admin, protect, clock
        self.draining_since: float | None = None
        self.last_heartbeat = 0.0
        self.protected: bool | None = None
        self.done: str | None = None  # why the action was completed

    def _ids(self) -> dict[str, str]:
        return {"AutoScalingGroupName": self.hook.group, "InstanceId": self.hook.instance_id}

    def _call(self, what: str, fn: Callable[..., Any], **kw: Any) -> bool:
        try:
            fn(**kw)
            return True
        except Exception as exc:  # AWS said no or did not answer: try again on the next tick
            log.warning("%s failed: %s", what, exc)
            return False

    def tick(self) -> None:
        if self.done is not None:
            return
        if self.draining_since is None:
            self._watch()
        else:
            self._drain()

    def _watch(self) -> None:
        if self.imds.get("autoscaling/target-lifecycle-state") == TERMINATED:
            log.info("the group is terminating this server: draining (at most %g s)", self.hook.max_drain)
            self.set_admin("drain")
            self.draining_since = self.last_heartbeat = self.clock()
            self._drain()
            return
        n = self.sessions()
        if self.protect and n is not None and (n > 0) != self.protected:
            if self._call("scale-in protection", self.autoscaling.set_instance_protection,
                          InstanceIds=[self.hook.instance_id], AutoScalingGroupName=self.hook.group,
                          ProtectedFromScaleIn=n > 0):
                self.protected = n > 0

    def _drain(self) -> None:
        now = self.clock()
        assert self.draining_since is not None
        n = self.sessions()
        if n == 0:
            self._complete("no sessions left")
        elif now - self.draining_since >= self.hook.max_drain:
            self._complete(f"maximum drain time reached with {'unknown' if n is None else n} session(s)")
        elif now - self.last_heartbeat >= self.hook.heartbeat_timeout / 2:
            if self._call("lifecycle heartbeat", self.autoscaling.record_lifecycle_action_heartbeat,
                          LifecycleHookName=self.hook.name, **self._ids()):
                self.last_heartbeat = now

    def _complete(self, why: str) -> None:
        if self._call("complete lifecycle action", self.autoscaling.complete_lifecycle_action,
                      LifecycleHookName=self.hook.name, LifecycleActionResult="CONTINUE", **self._ids()):
            log.info("lifecycle action completed: %s", why)
            self.done = why


def stat_sessions(url: str, timeout: float = 2.0) -> Callable[[], int | None]:
    """Publishers + viewers (every protocol, HLS included) from the stat page; None unknown."""
    from awslb.node import agent

    def count() -> int | None:
        try:
            publishers, viewers, hls = agent.stream_counts(agent.fetch_stat(url, timeout))
        except agent.StatError:
            return None
        return publishers + viewers + hls

    return count
