"""The balancer of seed 002: edges report their load over UDP, clients ask over HTTP where to go.

No proxy in the media path: a client asks ``GET /redirect`` and connects straight to the
address it is given (seed 002's ``redirect=<host>``, seed 004's "public IP of the least
loaded node").

**Reports** (UDP, :mod:`awslb.node.wire`): a datagram is accepted only with a valid
HMAC-SHA256 tag, a timestamp within ``max_age`` seconds of this clock and a sequence number
above the last one accepted from that edge id; anything else (forged, stale, replayed,
truncated, oversized, malformed) is counted and dropped without touching the view. An edge
appears with its first report and is removed when it misses three (3.5 reporting intervals
of its own without a report). Reports are signed, not encrypted.

**Least loaded.** Each figure an edge reports (CPU %, publishers, subscribers, HLS streams,
Mbit/s in and out) is divided by that edge's own limit for it (the limits of ``awslb agent
serve``); the score is the weighted mean of those ratios (``weights``, 1 each by default;
a figure without a limit or without a value is left out). An edge is never chosen when it
is not ``up`` (draining, overloaded, down), when it was taken out with ``POST
/servers/<id>/drain``, or when any ratio has reached 1. Clients handed an edge since its
last report count as subscribers (against its subscriber limit; with no such limit, each
adds 0.001 to the score), so a burst between two reports spreads over the edges instead of
landing on one. Equal scores are broken at random. The choice is a heap pop, not a scan:
the cost of a redirect does not grow with the number of edges.

**HTTP** (asyncio, HTTP/1.1 with keep-alive):

- ``GET /redirect[?app=NAME][&count=N]``: ``redirect=<address>`` (one line per edge, the
  least loaded first), or ``{"redirect": ..., "redirects": [...]}`` with ``Accept:
  application/json``; ``app`` keeps the edges that serve it (an edge that lists no
  applications serves all); 503 with the reason when no edge can take a client. Only the
  first edge of the answer counts as handed out.
- ``GET /servers``: every edge, its figures, limits, score and the age of its last report;
  404 when the server-info document is turned off.
- ``POST /servers/<id>/drain`` and ``/ready``: take an edge out and put it back (it stays
  out across its restarts until ``ready``); ``Authorization: Bearer <token>`` (401
  without; 403 when no token is configured).
- ``GET /healthz``: ``{"status": "ok", ...}`` and the report counters.

Standard library only: this runs on a small instance beside the edges.
"""

from __future__ import annotations

import asyncio
import heapq
import hmac
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from awslb.node import wire

DEFAULT_HTTP_PORT = 8088
MISSED_REPORTS = 3.5           # an edge is removed this many of its intervals after its last report
HANDOUT_COST = 0.001           # score added per client handed out, when the edge has no subscriber limit
MAX_COUNT = 100                # ?count= at most
MAX_HEADER = 8192
MAX_BODY = 4096
SWEEP_EVERY = 0.5             # seconds between sweeps (a pick skips an expired edge in between)
IDLE_EVERY = 5.0               # seconds between looks for idle connections
IDLE_TIMEOUT = 60.0            # seconds a keep-alive connection may stay silent
DEFAULT_WEIGHTS: Mapping[str, float] = {f: 1.0 for f in wire.FIGURES}


@dataclass
class Edge:
    id: str
    address: str
    state: str
    figures: Mapping[str, float | None]
    limits: Mapping[str, float]
    interval: float
    apps: tuple[str, ...]
    seen: float                  # monotonic time of the last report
    sent: float                  # the edge's timestamp of that report (epoch seconds)
    handed: int = 0              # clients handed this edge since that report
    version: int = 0             # bumps whenever its heap entry goes stale
    score: float | None = None   # None: cannot take a client

    def serves(self, app: str | None) -> bool:
        return app is None or not self.apps or app in self.apps


@dataclass
class Stats:
    accepted: int = 0
    dropped: Counter = field(default_factory=Counter)   # reason -> count
    redirects: int = 0
    unavailable: int = 0


class Redirector:
    """The edges' view and the choice; :meth:`serve` puts it on a UDP port and an HTTP port."""

    def __init__(self, key: bytes, *, max_age: float = wire.DEFAULT_MAX_AGE,
                 weights: Mapping[str, float] | None = None, server_info: bool = True,
                 admin_token: bytes | None = None, max_edges: int = 10_000,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, log: Callable[[str], None] | None = None):
        self.key = key
        self.max_age = max_age
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        self.server_info = server_info
        self.admin_token = admin_token
        self.max_edges = max_edges
        self.clock = clock
        self.monotonic = monotonic
        self.rng = rng or random.Random()
        self.log = log or (lambda m: None)
        self.edges: dict[str, Edge] = {}
        self.drained: set[str] = set()
        self.last_seq: dict[str, tuple[int, float]] = {}   # id -> (sequence, its timestamp)
        self.stats = Stats()
        self._heap: list[tuple[float, float, int, str]] = []
        self.connections: set[HttpConnection] = set()
        self.idle_timeout = IDLE_TIMEOUT

    # -- reports ------------------------------------------------------------------------

    def ingest(self, data: bytes) -> bool:
        """One datagram: accepted into the view, or counted as dropped. Never raises."""
        try:
            reason = self._ingest(data)
        except Exception as exc:  # a bug here must not stop the listener; count it and go on
            reason = f"error: {type(exc).__name__}"
        if reason:
            self.stats.dropped[reason] += 1
            return False
        self.stats.accepted += 1
        return True

    def _ingest(self, data: bytes) -> str:
        try:
            d = wire.verify(data, self.key, self.clock(), self.max_age)
        except wire.WireError as exc:
            return str(exc).split(":", 1)[0]
        r = d.report
        last = self.last_seq.get(r.id)
        if last is not None and d.seq <= last[0]:
            return "replayed"
        edge = self.edges.get(r.id)
        if edge is None and len(self.edges) >= self.max_edges:
            return "too many edges"
        self.last_seq[r.id] = (d.seq, d.timestamp)
        now = self.monotonic()
        if edge is None:
            edge = self.edges[r.id] = Edge(r.id, r.address, r.state, r.figures, r.limits, r.interval, r.apps,
                                           now, d.timestamp)
            self.log(f"edge {r.id} ({r.address}) joined: {r.state}")
        else:
            if edge.state != r.state or edge.address != r.address:
                self.log(f"edge {r.id} ({r.address}): {r.state}")
            edge.address, edge.state, edge.figures, edge.limits = r.address, r.state, r.figures, r.limits
            edge.interval, edge.apps, edge.seen, edge.sent, edge.handed = r.interval, r.apps, now, d.timestamp, 0
        self._rescore(edge)
        return ""

    def sweep(self) -> list[str]:
        """Remove the edges that missed three reports; forget sequence numbers no replay can use."""
        now = self.monotonic()
        gone = [e.id for e in self.edges.values() if now - e.seen > MISSED_REPORTS * e.interval]
        for eid in gone:
            del self.edges[eid]
            self.log(f"edge {eid} left: no report for {MISSED_REPORTS:g} intervals")
        # A sequence number must be remembered as long as its datagram could pass as fresh.
        oldest = self.clock() - self.max_age - 1
        for eid in [k for k, (_, ts) in self.last_seq.items() if ts < oldest and k not in self.edges]:
            del self.last_seq[eid]
        if len(self._heap) > 2 * len(self.edges) + 64:
            self._heap = [(e.score, self.rng.random(), e.version, e.id) for e in self.edges.values()
                          if e.score is not None]
            heapq.heapify(self._heap)
        return gone

    # -- the choice ---------------------------------------------------------------------

    def score(self, e: Edge) -> float | None:
        """The weighted mean of figure/limit over the edge's limited figures; None at a limit."""
        if e.state != "up" or e.id in self.drained:
            return None
        total = wsum = 0.0
        extra = 0.0
        for name in wire.FIGURES:
            value = e.figures.get(name)
            if name == "subscribers":
                if e.limits.get(name, 0) > 0:
                    value = (value or 0) + e.handed
                else:
                    extra = e.handed * HANDOUT_COST
            limit = e.limits.get(name, 0)
            if value is None or limit <= 0:
                continue
            ratio = value / limit
            if ratio >= 1:
                return None
            w = self.weights.get(name, 0)
            total += w * ratio
            wsum += w
        return (total / wsum if wsum else 0.0) + extra

    def _rescore(self, e: Edge) -> None:
        e.version += 1
        e.score = self.score(e)
        if e.score is not None:
            heapq.heappush(self._heap, (e.score, self.rng.random(), e.version, e.id))

    def pick(self, count: int = 1, app: str | None = None) -> list[Edge]:
        """Up to ``count`` edges that can take a client, least loaded first; the first is handed out."""
        now = self.monotonic()
        chosen: list[Edge] = []
        aside: list[tuple[float, float, int, str]] = []
        heap = self._heap
        while heap and len(chosen) < count:
            entry = heapq.heappop(heap)
            e = self.edges.get(entry[3])
            if e is None or e.version != entry[2] or now - e.seen > MISSED_REPORTS * e.interval:
                continue  # stale entry, or an edge the sweep is about to remove
            if e.serves(app):
                chosen.append(e)
                if len(chosen) == 1:
                    continue  # the first is handed out: rescored below, its entry is not put back
            aside.append(entry)
        for entry in aside:
            heapq.heappush(heap, entry)
        if chosen:
            first = chosen[0]
            first.handed += 1
            self._rescore(first)
            self.stats.redirects += 1
        else:
            self.stats.unavailable += 1
        return chosen

    def why_none(self, app: str | None) -> str:
        edges = [e for e in self.edges.values() if e.serves(app)]
        where = f" for application {app!r}" if app else ""
        if not edges:
            return f"no edge is reporting{where}"
        states = Counter("taken out" if e.id in self.drained else e.state if e.state != "up" else "at a limit"
                         for e in edges)
        detail = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        return f"no edge can take a client{where}: {len(edges)} reporting ({detail})"

    # -- admin ---------------------------------------------------------------------------

    def drain(self, eid: str) -> bool:
        e = self.edges.get(eid)
        if e is None:
            return False
        self.drained.add(eid)
        self._rescore(e)
        self.log(f"edge {eid} taken out (drain)")
        return True

    def ready(self, eid: str) -> bool:
        e = self.edges.get(eid)
        if e is None and eid not in self.drained:
            return False
        self.drained.discard(eid)
        if e is not None:
            self._rescore(e)
        self.log(f"edge {eid} back in (ready)")
        return True

    # -- documents ------------------------------------------------------------------------

    def view(self) -> tuple:
        """Everything a report can change, comparable (tests: garbage changes none of it)."""
        return (tuple(sorted((e.id, e.address, e.state, tuple(sorted(e.figures.items())),
                              tuple(sorted(e.limits.items())), e.interval, e.apps, e.seen, e.handed)
                             for e in self.edges.values())),
                tuple(sorted(self.last_seq.items())), tuple(sorted(self.drained)))

    def servers(self) -> dict:
        now = self.monotonic()
        out = []
        for e in sorted(self.edges.values(), key=lambda e: e.id):
            state = "draining" if e.id in self.drained and e.state == "up" else e.state
            doc: dict = {"id": e.id, "address": e.address, "state": state, "reported_state": e.state,
                         "taken_out": e.id in self.drained, "available": e.score is not None,
                         "score": None if e.score is None else round(e.score, 4)}
            doc.update({k: e.figures.get(k) for k in wire.FIGURES})
            doc.update({"limits": dict(e.limits), "handed_out": e.handed, "apps": list(e.apps),
                        "interval": e.interval, "age": round(now - e.seen, 3)})
            out.append(doc)
        return {"servers": out}

    def health(self) -> dict:
        return {"status": "ok", "edges": len(self.edges),
                "available": sum(1 for e in self.edges.values() if e.score is not None),
                "reports": {"accepted": self.stats.accepted, "dropped": dict(self.stats.dropped)},
                "redirects": self.stats.redirects, "unavailable": self.stats.unavailable}

    # -- HTTP -----------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> tuple[int, str, bytes, tuple]:
        """One request -> (status, content type, body, extra headers). Pure of sockets."""
        path, _, query = target.partition("?")
        as_json = "application/json" in headers.get("accept", "")
        if path == "/redirect":
            if method != "GET":  # not HEAD either: every answer hands a client out
                return _error(405, "use GET", as_json, (("Allow", "GET"),))
            return self._redirect(query, as_json)
        if path == "/healthz":
            if method not in ("GET", "HEAD"):
                return _error(405, "use GET", as_json, (("Allow", "GET, HEAD"),))
            return 200, JSON, _dump(self.health()), ()
        if path == "/servers":
            if not self.server_info:
                return _error(404, "server info is turned off", as_json)
            if method not in ("GET", "HEAD"):
                return _error(405, "use GET", as_json, (("Allow", "GET, HEAD"),))
            return 200, JSON, _dump(self.servers()), ()
        if path.startswith("/servers/"):
            parts = path.split("/")
            if len(parts) != 4 or parts[3] not in ("drain", "ready"):
                return _error(404, "not found: use /servers/<id>/drain or /servers/<id>/ready", as_json)
            if method != "POST":
                return _error(405, "use POST", as_json, (("Allow", "POST"),))
            return self._admin(unquote(parts[2]), parts[3], headers.get("authorization", ""), as_json)
        return _error(404, "not found: GET /redirect, GET /servers, GET /healthz, "
                      "POST /servers/<id>/drain|ready", as_json)

    def _redirect(self, query: str, as_json: bool) -> tuple[int, str, bytes, tuple]:
        app, count = None, 1
        if query:
            try:
                q = parse_qs(query, keep_blank_values=True, strict_parsing=True, max_num_fields=8)
            except ValueError:
                return _error(400, "malformed query string", as_json)
            unknown = set(q) - {"app", "count"}
            if unknown:
                return _error(400, f"unknown parameter {sorted(unknown)[0]!r} (app, count)", as_json)
            if "count" in q:
                c = q["count"][-1]
                if not c.isdigit() or not 1 <= int(c) <= MAX_COUNT:
                    return _error(400, f"count must be a number from 1 to {MAX_COUNT}", as_json)
                count = int(c)
            if "app" in q:
                app = q["app"][-1]
                if not wire.valid_app(app):
                    return _error(400, "app: letters, digits and ._- (at most 64)", as_json)
        chosen = self.pick(count, app)
        if not chosen:
            return _error(503, self.why_none(app), as_json, (("Retry-After", "1"),))
        if as_json:
            return 200, JSON, _dump({"redirect": chosen[0].address, "redirects": [e.address for e in chosen]}), ()
        return 200, TEXT, "".join(f"redirect={e.address}\n" for e in chosen).encode(), ()

    def _admin(self, eid: str, action: str, auth: str, as_json: bool) -> tuple[int, str, bytes, tuple]:
        if self.admin_token is None:
            return _error(403, "the admin API is off: start the redirector with --admin-token-file", as_json)
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.admin_token):
            return _error(401, "a bearer token is required (Authorization: Bearer <token>)", as_json,
                          (("WWW-Authenticate", 'Bearer realm="awslb-redirector"'),))
        if not wire.valid_edge_id(eid):
            return _error(404, "no such edge", as_json)
        done = self.drain(eid) if action == "drain" else self.ready(eid)
        if not done:
            return _error(404, f"no edge {eid!r} is reporting", as_json)
        return 200, JSON, _dump({"id": eid, "taken_out": eid in self.drained}), ()

    # -- serving --------------------------------------------------------------------------

    async def serve(self, udp: tuple[str, int], http: tuple[str, int],
                    ready: Callable[[tuple, list[tuple]], None] | None = None) -> None:
        """Listen for reports on ``udp`` and for clients on ``http`` until :meth:`stop`."""
        loop = asyncio.get_running_loop()
        red = self

        class Reports(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple) -> None:
                red.ingest(data)

        transport, _ = await loop.create_datagram_endpoint(Reports, local_addr=udp)
        try:
            server = await loop.create_server(lambda: HttpConnection(red), http[0] or None, http[1],
                                              reuse_address=True, backlog=2048)
        except BaseException:
            transport.close()
            raise
        stopped = asyncio.Event()
        self._wake = lambda: loop.call_soon_threadsafe(stopped.set)

        async def sweeper() -> None:
            looked = time.monotonic()
            while True:
                await asyncio.sleep(SWEEP_EVERY)
                self.sweep()
                now = time.monotonic()
                if now - looked >= IDLE_EVERY:  # close the keep-alive connections idle for too long
                    looked = now
                    for conn in [c for c in self.connections if c.last < now - self.idle_timeout]:
                        conn.close()

        task = loop.create_task(sweeper())
        if ready is not None:
            ready(transport.get_extra_info("sockname"), [s.getsockname() for s in server.sockets])
        try:
            async with server:
                await stopped.wait()
        finally:
            task.cancel()
            transport.close()
            for conn in list(self.connections):
                conn.close()

    def stop(self) -> None:
        wake = getattr(self, "_wake", None)
        if wake is not None:
            wake()


JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 413: "Content Too Large", 431: "Request Header Fields Too Large",
           501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported"}


def _dump(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def _error(status: int, message: str, as_json: bool, extra: tuple = ()) -> tuple[int, str, bytes, tuple]:
    if as_json:
        return status, JSON, _dump({"error": message}), extra
    return status, TEXT, f"error: {message}\n".encode(), extra


def response(status: int, ctype: str, body: bytes, extra: Iterable[tuple[str, str]] = (),
             keep_alive: bool = True, head: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", f"Content-Type: {ctype}",
             f"Content-Length: {len(body)}", "Cache-Control: no-store",
             "Connection: keep-alive" if keep_alive else "Connection: close"]
    lines.extend(f"{k}: {v}" for k, v in extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head else body)


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """A request's line and headers; what this server refuses is a :class:`BadRequest`."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise BadRequest(400, "malformed request line") from None
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(505, "HTTP/1.1 only")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400, "malformed header")
        headers[name.lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise BadRequest(501, "chunked bodies are not accepted")
    length = headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        raise BadRequest(413, "a body of at most 4096 bytes")
    return method, target, version, headers


class HttpConnection(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining, just enough for this API; bounded buffers."""

    def __init__(self, red: Redirector):
        self.red = red
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.last = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.last = time.monotonic()
        self.red.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.red.connections.discard(self)
        self.transport = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.last = time.monotonic()
        self.buf += data
        while self.transport is not None and not self.transport.is_closing():
            end = self.buf.find(b"\r\n\r\n")
            if end < 0 and len(self.buf) <= MAX_HEADER:
                return  # more of the head to come
            try:
                if end < 0 or end > MAX_HEADER:
                    raise BadRequest(431, "request header too large")
                method, target, version, headers = parse_head(self.buf[:end])
            except BadRequest as exc:
                self._fail(exc.status, exc.message)
                return
            total = end + 4 + int(headers.get("content-length", "0"))
            if len(self.buf) < total:
                return
            self.buf = self.buf[total:]
            conn = headers.get("connection", "").lower()
            keep = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
            status, ctype, body, extra = self.red.handle(method, target, headers)
            self.transport.write(response(status, ctype, body, extra, keep, method == "HEAD"))
            if not keep:
                self.transport.close()

    def _fail(self, status: int, message: str) -> None:
        assert self.transport is not None
        self.transport.write(response(status, TEXT, f"error: {message}\n".encode(), keep_alive=False))
        self.transport.close()
        self.buf = b""


def run(red: Redirector, udp: tuple[str, int], http: tuple[str, int],
        ready: Callable[[tuple, list[tuple]], None] | None = None) -> None:
    """Run in this thread until SIGTERM or SIGINT."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, red.stop)
            except (NotImplementedError, RuntimeError):
                pass
        await red.serve(udp, http, ready)

    asyncio.run(main())


__all__ = ["DEFAULT_HTTP_PORT", "Edge", "Redirector", "run"]
