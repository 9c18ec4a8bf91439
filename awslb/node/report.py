"""The edge's side of least-loaded redirect (seed 002): report load to the redirectors over UDP.

``awslb agent serve --report-to HOST:PORT --report-key-file F`` starts a :class:`Reporter`
beside the agent. Every ``interval`` seconds (2.5 by default, as Wowza's edges) it reads the
agent's latest verdict and sample through a callback, and sends one signed datagram
(:mod:`awslb.node.wire`: HMAC-SHA256 over header and payload, not encrypted) to every
redirector. The agent's verdict becomes the state: ``up`` -> up, ``drain`` (a limit is
reached) -> overloaded, ``down`` (the media server does not answer) -> down; ``draining``
is sent while :attr:`Reporter.draining` is set.

The address clients are told to use is ``--redirect-address`` or, on EC2, the instance's
public IPv4 from the instance metadata service (IMDSv2: a token PUT, then a GET, one
second each). ``AWSLB_METADATA_URL`` replaces the metadata base URL (tests run a fake one
on loopback). The edge id is ``--edge-id``, else the instance id, else the host name.

Standard library only: this runs on the media servers.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from awslb.node import wire

DEFAULT_INTERVAL = 2.5
METADATA_URL = "http://169.254.169.254"
METADATA_ENV = "AWSLB_METADATA_URL"
METADATA_TIMEOUT = 1.0

# The agent's verdict -> the state a redirector reads.
VERDICT_STATES = {"up": "up", "drain": "overloaded", "down": "down"}


# -- instance metadata (IMDSv2) ---------------------------------------------------------

class MetadataError(Exception):
    pass


def metadata_base() -> str:
    return os.environ.get(METADATA_ENV, METADATA_URL).rstrip("/")


def metadata(path: str, base: str | None = None, timeout: float = METADATA_TIMEOUT) -> str:
    """One value from the instance metadata service, with an IMDSv2 session token."""
    base = metadata_base() if base is None else base.rstrip("/")
    # A proxy configured for the process must not see metadata requests.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        req = urllib.request.Request(f"{base}/latest/api/token", method="PUT",
                                     headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        with opener.open(req, timeout=timeout) as resp:
            token = resp.read(4096).decode("ascii", "replace").strip()
        req = urllib.request.Request(f"{base}/latest/meta-data/{path}",
                                     headers={"X-aws-ec2-metadata-token": token})
        with opener.open(req, timeout=timeout) as resp:
            return resp.read(4096).decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        raise MetadataError(f"{path}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise MetadataError(f"{path}: {getattr(exc, 'reason', exc)}") from None


def redirect_address(given: str | None, base: str | None = None) -> str:
    """``given``, or the instance's public IPv4; :class:`MetadataError` says why not."""
    if given:
        return given
    address = metadata("public-ipv4", base)
    if not wire.valid_address(address):
        raise MetadataError(f"public-ipv4: not an address: {address[:64]!r}")
    return address


def edge_id(given: str | None, base: str | None = None) -> str:
    """``given``, else the instance id, else this host's name (first label, made valid)."""
    if given:
        return given
    try:
        found = metadata("instance-id", base)
        if wire.valid_edge_id(found):
            return found
    except MetadataError:
        pass
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in socket.gethostname())[:128]
    return name if wire.valid_edge_id(name) else "edge"


# -- the reporter -------------------------------------------------------------------------

@dataclass(frozen=True)
class Load:
    """What the agent knows now: its verdict's state, the figures and its limits."""

    verdict: str                                 # up / drain / down (the agent's verdict)
    figures: Mapping[str, float | None]
    limits: Mapping[str, float]


def agent_load(agent: object) -> Load:
    """Read an :class:`awslb.node.agent.Agent`'s current verdict, last sample and limits."""
    v, s, lim = agent.current, agent.last_sample, agent.limits  # type: ignore[attr-defined]
    # Over a limit is "overloaded" for a redirector, whether HAProxy was told down or drain.
    state = "drain" if getattr(v, "overloaded", False) else v.state
    return Load(state, {k: getattr(s, k) for k in wire.FIGURES},
                {k: float(getattr(lim, k)) for k in wire.FIGURES})


class Reporter:
    """Sends a signed report to every target every ``interval`` seconds, on its own thread."""

    def __init__(self, targets: Sequence[tuple[str, int]], key: bytes, edge: str, address: str,
                 load: Callable[[], Load], *, interval: float = DEFAULT_INTERVAL, apps: Sequence[str] = (),
                 log: Callable[[str], None] | None = None):
        self.targets = list(targets)
        self.key = key
        self.edge = edge
        self.address = address
        self.load = load
        self.interval = interval
        self.apps = tuple(apps)
        self.log = log or (lambda m: print(m, file=sys.stderr, flush=True))
        self.draining = False
        self.stopping = False
        self.seq = wire.first_sequence()
        self.sent = 0
        self._socks: dict[int, socket.socket] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._errors: dict[tuple[str, int], str] = {}

    def report(self) -> wire.Report:
        load = self.load()
        if self.stopping:
            state = "down"
        else:
            state = "draining" if self.draining else VERDICT_STATES.get(load.verdict, "down")
        return wire.Report(self.edge, self.address, state, load.figures, load.limits, self.interval, self.apps)

    def _sock(self, family: int) -> socket.socket:
        s = self._socks.get(family)
        if s is None:
            s = self._socks[family] = socket.socket(family, socket.SOCK_DGRAM)
        return s

    def send_once(self) -> int:
        """Sign the current report and send it to every target (every address of a target's
        name); how many targets it was sent to."""
        self.seq += 1
        data = wire.encode(self.report(), self.key, self.seq)
        ok = 0
        for target in self.targets:
            try:
                # A name with several addresses is several redirectors: each gets the report.
                found = {(info[0], info[4][:2]) for info in
                         socket.getaddrinfo(target[0], target[1], type=socket.SOCK_DGRAM)}
                for family, addr in sorted(found):
                    self._sock(family).sendto(data, addr)
                ok += 1
                error = ""
            except OSError as exc:
                error = str(exc.strerror or exc)
            if self._errors.get(target, "") != error:  # say it once when it starts, once when it ends
                self._errors[target] = error
                where = f"{target[0]}:{target[1]}"
                self.log(f"report to {where}: {error}" if error else f"report to {where}: sending again")
        self.sent += 1
        return ok

    def _run(self) -> None:
        while True:
            try:
                self.send_once()
            except Exception as exc:  # never let the timer die (a bad figure, a full socket buffer)
                self.log(f"report: {exc}")
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="awslb-reporter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer and send a last report saying ``down``: no client is sent here any more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.stopping = True
        try:
            self.send_once()
        except Exception as exc:
            self.log(f"report: {exc}")
        for s in self._socks.values():
            s.close()
        self._socks.clear()


__all__ = ["Load", "MetadataError", "Reporter", "agent_load", "edge_id", "metadata", "redirect_address"]
