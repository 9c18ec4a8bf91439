"""The HAProxy agent of seed 001, in Python instead of bash + xinetd.

A sampler reads the WCS stat page (``http://127.0.0.1:8081/?action=stat``) and the host's
CPU and network counters (``/proc``) on a timer, turns them into a verdict, and caches the
agent reply. Every agent-check connection gets that cached line at once, so a check costs
one accept and one write, not a process, a curl and a verdict per check.

The verdict (pure code, :func:`verdict`):

- ``up ready N%``: N, the weight in percent of the configured weight, falls as the
  highest load ratio (CPU, publishers, subscribers, HLS, bandwidth in/out against their
  limits) rises. ``ready`` is always sent: ``up`` alone does not clear an earlier ``drain``.
- a limit is reached (``over``, the ``--over`` flag):

  - ``down #reason`` (the default, seed 001: "returns down ... HAProxy stops sending new
    connections until it gets up"): HAProxy marks the server DOWN. New clients go to other
    servers, and so do sticky ones: a persistence cookie naming a DOWN server is ignored
    (without ``option persist``, which awslb does not set), so the client is balanced
    elsewhere. Established connections stay: HAProxy closes a DOWN server's sessions only
    with ``on-marked-down shutdown-sessions`` (not set), so open WebSockets go on.
  - ``up drain #reason``: HAProxy's DRAIN: the server stays UP with weight 0; no new
    clients, but sticky clients (cookie) still reach it, and established connections stay.

- ``down #reason``: the stat page does not answer (WCS is not serving).
- admin drain (scale-in, :meth:`Agent.set_admin`, driven by awslb.node.lifecycle) is always
  ``up drain``: the sticky clients of live sessions must still reach the server being drained.

HAProxy's reading of a reply is modelled by :func:`parse_reply` (after HAProxy's
``tcpcheck_agent_expect_reply``): the line must end with CR or LF or it is ignored; words
are split on spaces, tabs and commas; a weight is a word that starts with a digit and holds
``%`` (a bare number is an error); ``#`` starts a description only at the start of a word,
so ``down#reason`` is one unknown word, not ``down``.

Standard library only: agents run on the media servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import cast

from awslb.node import stats as stats_page

DEFAULT_PORT = 9707
DEFAULT_STAT_URL = "http://127.0.0.1:8081/?action=stat"
# Who `agent serve` answers unless told otherwise: loopback and the private ranges (the
# guide's xinetd allowed only the HAProxy host and localhost; HAProxy sits in the VPC).
DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
# A verdict older than this many intervals is not served as it is: `down #stale ...`.
STALE_INTERVALS = 3

# Stream counters of the WCS stat page (seed 001), by what the guide's limits count.
PUBLISHER_KEYS = ("streams_webrtc_in", "streams_rtmp_in", "streams_rtsp_in", "streams_rtsp_push_in",
                  "streams_rtmfp_in")
SUBSCRIBER_KEYS = ("streams_webrtc_out", "streams_websocket_out", "streams_rtmp_out", "streams_rtsp_out",
                   "streams_rtsp_push_out", "streams_rtmfp_out", "streams_rtmp_client_out")
HLS_KEYS = ("streams_hls",)

# CPU and bandwidth are rates: measured over at least this many seconds.
MIN_WINDOW = 0.5

HEALTH_WORDS = ("up", "down", "stopped", "fail")
ADMIN_WORDS = ("ready", "drain", "maint")


# -- the stat page --------------------------------------------------------------------------

def parse_stat(text: str) -> Mapping[str, int | str]:
    """The stat page's ``key=value`` lines (one parser for the agent and `awslb status`)."""
    return stats_page.parse(text)


def _count(stats: Mapping[str, int | str], keys: Iterable[str]) -> int:
    total = 0
    for k in keys:
        total += stats_page.count(stats.get(k)) or 0
    return min(total, stats_page.MAX_COUNT)


def stream_counts(stats: Mapping[str, int | str]) -> tuple[int, int, int]:
    """(publishers, subscribers, HLS streams) from the stat page's counters."""
    return _count(stats, PUBLISHER_KEYS), _count(stats, SUBSCRIBER_KEYS), _count(stats, HLS_KEYS)


def fetch_stat(url: str, timeout: float, fetch: stats_page.Fetch | None = None) -> Mapping[str, int | str]:
    """GET the stat page within ``timeout`` seconds in all; a failure is a ``StatError``."""
    try:
        body = (fetch or stats_page.Fetch()).get(url, timeout, limit=1 << 20)
    except stats_page.PageError as exc:
        raise StatError(f"stat page: {exc}") from None
    stats = parse_stat(body)
    if not any(k.startswith(("streams_", "connections")) for k in stats):
        raise StatError("stat page: no stream counters (is this the WCS stat page?)")
    return stats


class StatError(Exception):
    pass


# -- host counters (/proc) -----------------------------------------------------------------

@dataclass(frozen=True)
class HostCounters:
    when: float
    cpu_busy: int | None = None
    cpu_total: int | None = None
    rx_bytes: int | None = None
    tx_bytes: int | None = None


def read_host(proc: str = "/proc") -> HostCounters:
    """CPU jiffies and network bytes (all interfaces but loopback), or None where unreadable."""
    busy = total = rx = tx = None
    try:
        with open(f"{proc}/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
        busy = total - fields[3] - (fields[4] if len(fields) > 4 else 0)
    except (OSError, ValueError, IndexError):
        pass
    try:
        rx = tx = 0
        with open(f"{proc}/net/dev") as f:
            for line in f.readlines()[2:]:
                name, _, data = line.partition(":")
                if name.strip() == "lo":
                    continue
                cols = data.split()
                rx += int(cols[0])
                tx += int(cols[8])
    except (OSError, ValueError, IndexError):
        rx = tx = None
    return HostCounters(time.monotonic(), busy, total, rx, tx)


@dataclass(frozen=True)
class HostLoad:
    cpu: float | None = None       # percent
    band_in: float | None = None   # Mbit/s
    band_out: float | None = None  # Mbit/s


def host_load(before: HostCounters, after: HostCounters) -> HostLoad:
    cpu = band_in = band_out = None
    if None not in (before.cpu_total, after.cpu_total, before.cpu_busy, after.cpu_busy):
        dt = after.cpu_total - before.cpu_total  # type: ignore[operator]
        if dt > 0:
            cpu = 100.0 * (after.cpu_busy - before.cpu_busy) / dt  # type: ignore[operator]
    secs = after.when - before.when
    if secs > 0 and None not in (before.rx_bytes, after.rx_bytes, before.tx_bytes, after.tx_bytes):
        band_in = max(0, after.rx_bytes - before.rx_bytes) * 8 / secs / 1e6  # type: ignore[operator]
        band_out = max(0, after.tx_bytes - before.tx_bytes) * 8 / secs / 1e6  # type: ignore[operator]
    return HostLoad(cpu, band_in, band_out)


# -- the verdict (pure) --------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """The guide's thresholds: CPU %, publishers, subscribers, HLS streams, Mbit/s in and out."""

    cpu: float = 90
    publishers: int = 100
    subscribers: int = 100
    hls: int = 100
    band_in: float = 100
    band_out: float = 100


@dataclass(frozen=True)
class Sample:
    publishers: int = 0
    subscribers: int = 0
    hls: int = 0
    cpu: float | None = None
    band_in: float | None = None
    band_out: float | None = None
    error: str | None = None  # the stat page did not answer


OVER_CHOICES = ("down", "drain")


@dataclass(frozen=True)
class Verdict:
    state: str              # "up", "drain" or "down"
    weight: int | None      # percent, for "up"
    reason: str = ""
    overloaded: bool = False  # a limit is reached (state is then the --over choice)

    def reply(self) -> str:
        """The agent's line for HAProxy, newline-terminated."""
        reason = " ".join(self.reason.split())  # one line, whatever the reason says
        if self.state == "up":
            return f"up ready {self.weight}%\n"
        if self.state == "drain":
            return f"up drain #{reason}\n" if reason else "up drain\n"
        return f"down #{reason}\n" if reason else "down\n"


UNITS = {"cpu": "%", "band_in": " Mbit/s", "band_out": " Mbit/s"}


def verdict(sample: Sample, limits: Limits, over: str = "down") -> Verdict:
    """Sample + limits -> what the agent tells HAProxy; ``over``: the state at a limit (down or drain)."""
    if over not in OVER_CHOICES:
        raise ValueError(f"over: down or drain, not {over!r}")
    if sample.error:
        return Verdict("down", None, sample.error)
    worst_name, worst = "", 0.0
    for name in ("cpu", "publishers", "subscribers", "hls", "band_in", "band_out"):
        value = getattr(sample, name)
        limit = getattr(limits, name)
        if value is None or limit <= 0:
            continue
        ratio = value / limit
        if ratio > worst:
            worst_name, worst = name, ratio
    if worst >= 1:
        unit = UNITS.get(worst_name, "")
        value = getattr(sample, worst_name)
        shown = f"{value:.0f}" if isinstance(value, float) else str(value)
        return Verdict(over, None, f"{worst_name} {shown}{unit} >= {getattr(limits, worst_name):g}{unit}",
                       overloaded=True)
    # The weight falls with the load; 1% at the edge keeps the server in the farm.
    weight = max(1, min(100, round(100 * (1 - worst))))
    return Verdict("up", weight, f"{worst_name} at {worst:.0%}" if worst_name else "idle")


# -- how HAProxy reads a reply -------------------------------------------------------------

@dataclass
class AgentReply:
    raw: str
    ignored: bool = False           # no CR/LF: HAProxy ignores the line
    health: str | None = None       # up / down / stopped / fail (last wins)
    admin: str | None = None        # ready / drain / maint (last wins)
    weight: int | None = None       # percent of the configured weight
    maxconn: int | None = None
    description: str = ""           # after '#', shown only with a health word
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.ignored and not self.errors

    def explain(self) -> str:
        if self.ignored:
            return "ignored: the line does not end with a newline (HAProxy waits for CR or LF)"
        parts = []
        if self.health:
            parts.append({"up": "marked UP (if the regular check passes too)"}.get(
                self.health, f"marked DOWN ({self.health})"))
        if self.admin:
            parts.append({"ready": "READY: clears DRAIN and MAINT", "drain": "DRAIN: only persistent "
                          "connections", "maint": "MAINT: no connections, checks stopped"}[self.admin])
        if self.weight is not None:
            parts.append(f"weight {self.weight}% of the configured weight"
                         + (" (0 = DRAIN)" if self.weight == 0 else ""))
        if self.maxconn is not None:
            parts.append(f"maxconn {self.maxconn}")
        if self.description and self.health:
            parts.append(f"reason: {self.description}")
        parts.extend(f"error: {e}" for e in self.errors)
        return "; ".join(parts) if parts else "no change (nothing HAProxy acts on)"


def parse_reply(text: str) -> AgentReply:
    """Read an agent's reply the way HAProxy does (``tcpcheck_agent_expect_reply``)."""
    out = AgentReply(raw=text)
    ends = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
    if not ends:
        out.ignored = True
        return out
    line = text[: min(ends)]
    i = 0
    while i < len(line):
        c = line[i]
        if c in " \t,":
            i += 1
            continue
        if c == "#":
            out.description = line[i + 1:].strip(" \t")
            break
        j = i + 1
        while j < len(line) and line[j] not in " \t,":
            j += 1
        word = line[i:j]
        i = j
        low = word.lower()
        if low in HEALTH_WORDS:
            out.health = low
        elif low in ADMIN_WORDS:
            out.admin = low
        elif word[0].isdigit() and "%" in word:
            digits = len(word) - len(word.lstrip("0123456789"))
            if word[digits:] == "%":
                out.weight = int(word[:digits])
            else:
                out.errors.append(f"{word!r}: trailing garbage in weight string")
        elif low.startswith("maxconn:"):
            value = word[len("maxconn:"):]
            if value.isdigit():
                out.maxconn = int(value)
            else:
                out.errors.append(f"{word!r}: maxconn needs a number")
        else:
            hint = " (a weight needs '%')" if word.isdigit() else ""
            hint = hint or (" (put a space before '#')" if "#" in word else "")
            out.errors.append(f"{word!r}: not an agent word{hint}")
    return out


class Refused(ConnectionError):
    """The agent took the connection and closed it without a word: it does not answer us."""


def check(host: str, port: int = DEFAULT_PORT, timeout: float = 3.0) -> AgentReply:
    """Connect to an agent and read its reply (what `awslb agent check` prints).

    An agent resets a connection from outside its ``--allow`` at once: that is
    :class:`Refused`, not an empty reply.
    """
    chunks: list[bytes] = []
    reset = eof = False
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionResetError:  # the reset can come before connect() returns
        sock, reset = None, True
    with sock or contextlib.nullcontext():
        while sock is not None and sum(len(c) for c in chunks) < 4096:
            try:
                data = sock.recv(4096)
            except TimeoutError:
                break
            except ConnectionResetError:  # an agent that refuses us resets
                reset = True
                break
            if not data:
                eof = True
                break
            chunks.append(data)
            if b"\n" in data or b"\r" in data:
                break
    if not chunks and reset:
        raise Refused("the agent refused this address: it reset the connection without answering "
                      "(is this host in its --allow?)")
    if not chunks and eof:
        raise Refused("the agent closed the connection without answering (it refused this address, "
                      "or it is not an agent)")
    return parse_reply(b"".join(chunks).decode("ascii", "replace"))


# -- the agent: sampler thread + asyncio server --------------------------------------------

Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def parse_allow(cidrs: Iterable[str]) -> Networks:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


class Agent:
    """Answers agent checks from a cached verdict; :meth:`sample` refreshes it on a timer."""

    def __init__(self, stat_url: str = DEFAULT_STAT_URL, limits: Limits | None = None, *,
                 interval: float = 2.0, timeout: float = 1.5, allow: Networks | None = None,
                 proc: str = "/proc", on_change: Callable[[Verdict, Sample], None] | None = None,
                 over: str = "down"):
        if over not in OVER_CHOICES:
            raise ValueError(f"over: down or drain, not {over!r}")
        self.stat_url = stat_url
        self.limits = limits or Limits()
        self.over = over
        self.interval = interval
        self.timeout = min(timeout, interval) if interval > 0 else timeout
        self.allow = allow or []
        self.proc = proc
        self.on_change = on_change
        self._host = read_host(proc)
        self._allowed: dict[str, bool] = {}
        self.current = Verdict("down", None, "starting")
        self.reply = self.current.reply().encode("ascii")
        self.since = time.monotonic()  # when the cached reply was decided
        self.last_sample = Sample()
        self._stop = threading.Event()
        self._fetch: stats_page.Fetch | None = None

    # sampling ------------------------------------------------------------------------

    def sample(self) -> Verdict:
        """Read the stat page and the host counters once; update the cached reply."""
        self._fetch = fetch = stats_page.Fetch()
        if self._stop.is_set():
            fetch.abort()
        try:
            publishers, subscribers, hls = stream_counts(fetch_stat(self.stat_url, self.timeout, fetch))
            error = None
        except StatError as exc:
            publishers = subscribers = hls = 0
            error = str(exc)
        now = read_host(self.proc)
        if now.when - self._host.when >= MIN_WINDOW:
            load = host_load(self._host, now)
            self._host = now
        else:  # too short to measure (the first sample at start-up): CPU and bandwidth unknown
            load = HostLoad()
        s = Sample(publishers, subscribers, hls, load.cpu, load.band_in, load.band_out, error)
        self.set(verdict(s, self.limits, self.over), s)
        return self.current

    def set_admin(self, state: str) -> None:
        """``drain``: answer ``up drain`` whatever the load (scale-in in progress:
        awslb.node.lifecycle), never ``down``, so sticky clients of live sessions still get
        through, even over a limit with ``--over down`` (only a stat page that does not answer
        is ``down``). ``ready``: back to the verdict of the load."""
        if state not in ("drain", "ready"):
            raise ValueError(f"admin state {state!r}: drain or ready")
        self.admin = state
        self.set(self.current, None)

    def set(self, v: Verdict, s: Sample | None = None) -> None:
        if getattr(self, "admin", "ready") == "drain" and (v.state == "up" or v.overloaded):
            v = Verdict("drain", None, "scale-in: draining live sessions")
        changed = (v.state, v.reason if v.state != "up" else "") != (
            self.current.state, self.current.reason if self.current.state != "up" else "")
        self.current, self.reply = v, v.reply().encode("ascii", "replace")
        self.since = time.monotonic()
        if s is not None:
            self.last_sample = s
        if changed and self.on_change is not None:
            self.on_change(v, s or self.last_sample)

    def _sampler(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception as exc:  # never let the timer die; say why on the next check
                self.set(replace(self.current, state="down", weight=None, reason=f"agent error: {exc}",
                                 overloaded=False))

    # serving -------------------------------------------------------------------------

    def answer(self) -> bytes:
        """The cached reply, or ``down #stale`` when no sample has decided one for 3 intervals."""
        age = time.monotonic() - self.since
        if self.interval > 0 and age > STALE_INTERVALS * self.interval:
            return Verdict("down", None, f"stale: no verdict for {age:.0f}s (the stat page or "
                           f"the sampler is stuck)").reply().encode("ascii", "replace")
        return self.reply

    def allowed(self, peer: str) -> bool:
        if not self.allow:
            return True
        hit = self._allowed.get(peer)
        if hit is None:
            try:
                ip = ipaddress.ip_address(peer.split("%", 1)[0])
            except ValueError:
                return False
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            hit = any(ip.version == n.version and ip in n for n in self.allow)
            if len(self._allowed) < 4096:
                self._allowed[peer] = hit
        return hit

    async def serve(self, host: str, port: int, ready: Callable[[list[tuple]], None] | None = None) -> None:
        """Serve until :meth:`stop` (or SIGTERM/SIGINT when run from the CLI)."""
        loop = asyncio.get_running_loop()
        agent = self

        class Answer(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                peer = transport.get_extra_info("peername")
                stream = cast(asyncio.Transport, transport)  # a TCP server's transports are streams
                if not agent.allowed(peer[0] if peer else ""):
                    sock = transport.get_extra_info("socket")
                    if sock is not None:  # a reset, not a clean close: the caller knows it was refused
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    stream.abort()
                    return
                stream.write(agent.answer())
                stream.close()

        server = await loop.create_server(Answer, None if host in ("", "*") else host, port,
                                          reuse_address=True, backlog=1024)
        self._stop.clear()
        stopped = asyncio.Event()
        self._wake = lambda: loop.call_soon_threadsafe(stopped.set)
        # The first sample off the loop: SIGTERM is handled (and aborts the fetch) meanwhile.
        await loop.run_in_executor(None, self.sample)
        sampler = threading.Thread(target=self._sampler, name="awslb-agent-sampler", daemon=True)
        sampler.start()
        if ready is not None:
            ready([s.getsockname() for s in server.sockets])
        try:
            async with server:
                await stopped.wait()
        finally:
            self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        fetch = self._fetch
        if fetch is not None:
            fetch.abort()  # a fetch in flight ends now, not at its deadline
        wake = getattr(self, "_wake", None)
        if wake is not None:
            wake()


def run(agent: Agent, host: str, port: int, ready: Callable[[list[tuple]], None] | None = None) -> None:
    """Run the agent in this thread until SIGTERM or SIGINT."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, agent.stop)
            except (NotImplementedError, RuntimeError):
                pass
        await agent.serve(host, port, ready)

    asyncio.run(main())


__all__ = ["OVER_CHOICES", "Agent", "AgentReply", "Limits", "Sample", "Verdict", "check", "parse_reply", "parse_stat",
           "run", "verdict"]
