"""The redirector's view and choice, on fake clocks (no sockets): least loaded, limits, bursts,
expiry, replays, drain/ready, and the HTTP answers; plus property-based garbage datagrams."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awslb.node import wire
from awslb.node.redirector import Redirector
from awslb.node.report import Load, Reporter

KEY = b"k" * 32
LIMITS = {"publishers": 100, "subscribers": 100, "hls": 100}


class Clock:
    def __init__(self) -> None:
        self.wall, self.mono = 1_800_000_000.0, 1000.0

    def advance(self, secs: float) -> None:
        self.wall += secs
        self.mono += secs


def make(**kw) -> tuple[Redirector, Clock]:
    c = Clock()
    kw.setdefault("admin_token", b"t" * 20)
    return Redirector(KEY, clock=lambda: c.wall, monotonic=lambda: c.mono, rng=random.Random(1), **kw), c


class Edge:
    """An edge's datagrams, signed as the reporter signs them, sequence rising."""

    def __init__(self, red: Redirector, clock: Clock, eid: str, subscribers: float = 0, **kw):
        self.red, self.clock, self.eid = red, clock, eid
        self.seq = 100
        self.kw = {"address": f"198.51.100.{len(red.edges) + 1}", "state": "up", "interval": 2.5,
                   "limits": LIMITS, "figures": {"publishers": 0, "subscribers": subscribers, "hls": 0}}
        self.kw.update(kw)

    def datagram(self, **kw) -> bytes:
        self.kw.update(kw)
        self.seq += 1
        return wire.encode(wire.Report(self.eid, **self.kw), KEY, self.seq, now=self.clock.wall)

    def send(self, **kw) -> bool:
        return self.red.ingest(self.datagram(**kw))


def farm(subs: dict[str, float]) -> tuple[Redirector, Clock, dict[str, Edge]]:
    red, clock = make()
    edges = {}
    for eid, s in subs.items():
        edges[eid] = Edge(red, clock, eid, s)
        assert edges[eid].send()
    return red, clock, edges


def ids(red: Redirector, n: int = 1, app: str | None = None) -> list[str]:
    return [e.id for e in red.pick(n, app)]


def test_least_loaded_first_and_the_answer_follows_reports() -> None:
    red, clock, edges = farm({"a": 50, "b": 10, "c": 80})
    assert ids(red) == ["b"]
    edges["b"].send(figures={"subscribers": 90})
    edges["a"].send(figures={"subscribers": 5})
    assert ids(red) == ["a"]
    assert ids(red, 3) == ["a", "c", "b"]


def test_an_edge_at_a_limit_or_not_up_is_never_chosen() -> None:
    red, clock, edges = farm({"a": 100, "b": 99})
    edges["c"] = Edge(red, clock, "c", 0, state="overloaded")
    edges["d"] = Edge(red, clock, "d", 0, state="draining")
    edges["e"] = Edge(red, clock, "e", 0, state="down")
    for eid in "cde":
        edges[eid].send()
    assert ids(red, 5) == ["b"]
    assert ids(red) == []   # b took one client: 99 + 1 reaches its limit of 100
    assert red.pick(1) == []
    reason = red.why_none(None)
    assert "5 reporting" in reason and "2 at a limit" in reason and "1 draining" in reason


def test_a_burst_between_reports_spreads_over_equal_edges() -> None:
    red, clock, edges = farm({f"e{i}": 10 for i in range(5)})
    got = Counter(ids(red)[0] for _ in range(200))
    assert sorted(got.values()) == [40] * 5   # each hand-out counts until the next report
    assert len(Counter(ids(red)[0] for _ in range(450 - 200))) == 5
    assert red.pick(1) == []                  # 10 + 90 clients each: every edge at its limit of 100


def test_hand_outs_count_until_the_next_report_only() -> None:
    red, clock, edges = farm({"a": 10, "b": 13})
    assert [ids(red)[0] for _ in range(3)] == ["a"] * 3
    for _ in range(7):
        ids(red)
    a, b = red.edges["a"], red.edges["b"]
    assert a.handed + b.handed == 10 and abs((10 + a.handed) - (13 + b.handed)) <= 1
    edges["a"].send()   # the report carries the clients that connected
    assert a.handed == 0 and b.handed > 0


def test_without_a_subscriber_limit_hand_outs_still_spread() -> None:
    red, clock = make()
    for eid in ("a", "b"):
        Edge(red, clock, eid, 0, limits={}).send()
    got = Counter(ids(red)[0] for _ in range(100))
    assert got == {"a": 50, "b": 50}


def test_ties_are_broken_at_random() -> None:
    firsts = set()
    for seed in range(20):
        red, clock = make()
        red.rng = random.Random(seed)
        for eid in ("a", "b", "c"):
            Edge(red, clock, eid, 10).send()
        firsts.add(ids(red)[0])
    assert firsts == {"a", "b", "c"}


def test_weights_change_the_order() -> None:
    red, clock = make(weights={"cpu": 10, "subscribers": 1})
    lim = {"cpu": 100, "subscribers": 100}
    Edge(red, clock, "busy-cpu", limits=lim, figures={"cpu": 60, "subscribers": 10}).send()
    Edge(red, clock, "busy-subs", limits=lim, figures={"cpu": 10, "subscribers": 60}).send()
    assert ids(red) == ["busy-subs"]


def test_apps_filter_the_edges() -> None:
    red, clock = make()
    Edge(red, clock, "live", 50, apps=("live",)).send()
    Edge(red, clock, "vod", 0, apps=("vod",)).send()
    Edge(red, clock, "any", 70).send()
    assert ids(red, 3, "live") == ["live", "any"]
    assert ids(red, 1, "vod") == ["vod"]
    assert ids(red, 1, "other") == ["any"]


def test_an_edge_missing_three_reports_is_removed_and_rejoins_with_its_next() -> None:
    red, clock, edges = farm({"a": 10, "b": 20})
    clock.advance(2.5 * 3)
    edges["b"].send()
    assert red.sweep() == []      # a missed three reports just now: still within the grace
    clock.advance(2.5 * 0.6)
    assert red.sweep() == ["a"]
    assert ids(red) == ["b"] and set(red.edges) == {"b"}
    assert edges["a"].send()
    assert set(red.edges) == {"a", "b"}


def test_an_expired_edge_is_not_chosen_before_the_sweep() -> None:
    red, clock, edges = farm({"a": 10})
    clock.advance(2.5 * 4)
    assert red.pick(1) == []


def test_replayed_and_stale_datagrams_change_nothing() -> None:
    red, clock, edges = farm({"a": 10, "b": 20})
    old = edges["a"].datagram(figures={"subscribers": 1})
    assert red.ingest(old)
    edges["a"].send(figures={"subscribers": 70})
    before = red.view()
    assert not red.ingest(old)                       # replayed
    clock.advance(11)
    assert not red.ingest(edges["b"].datagram(figures={"subscribers": 0}) and b"")  # empty: truncated
    late = wire.encode(wire.Report("b", "198.51.100.2", figures={"subscribers": 0}, limits=LIMITS), KEY,
                       10**18, now=clock.wall - 11)
    assert not red.ingest(late)                      # stale
    assert red.view() == before
    assert red.stats.dropped == Counter({"replayed": 1, "truncated": 1, "stale": 1})


def test_a_restarted_edge_is_accepted_and_its_old_datagrams_are_not() -> None:
    red, clock = make()
    first = Reporter([], KEY, "i-1", "192.0.2.1", lambda: Load("up", {}, {}))
    old = wire.encode(first.report(), KEY, first.seq + 1, now=clock.wall)
    assert red.ingest(wire.encode(first.report(), KEY, first.seq + 2, now=clock.wall))
    clock.advance(1)
    second = Reporter([], KEY, "i-1", "192.0.2.1", lambda: Load("up", {}, {}))  # a restart: a new counter
    assert second.seq > first.seq + 2
    assert red.ingest(wire.encode(second.report(), KEY, second.seq + 1, now=clock.wall))
    assert not red.ingest(old)


def test_sequence_memory_outlives_the_edge_until_its_datagrams_are_stale() -> None:
    red, clock, edges = farm({"a": 10})
    kept = edges["a"].datagram()
    red.ingest(kept)
    clock.advance(9)
    red.sweep()
    assert "a" not in red.edges and "a" in red.last_seq
    assert not red.ingest(kept)        # still fresh enough to pass: refused as a replay
    clock.advance(3)
    red.sweep()
    assert "a" not in red.last_seq     # now it would be refused as stale anyway


def test_too_many_edges_are_refused() -> None:
    red, clock = make(max_edges=2)
    assert Edge(red, clock, "a").send() and Edge(red, clock, "b").send()
    assert not Edge(red, clock, "c").send()
    assert red.stats.dropped["too many edges"] == 1


def test_drain_and_ready() -> None:
    red, clock, edges = farm({"a": 10, "b": 50})
    assert red.drain("a") and ids(red, 2) == ["b"]
    edges["a"].send()
    assert ids(red, 2) == ["b"]        # a report does not bring it back
    assert red.ready("a") and ids(red) == ["a"]
    assert not red.drain("nope")


def test_the_heap_stays_bounded() -> None:
    red, clock, edges = farm({f"e{i}": 10 for i in range(10)})
    for _ in range(50):
        for e in edges.values():
            e.send()
        red.pick(3)
    red.sweep()
    assert len(red._heap) <= 2 * len(red.edges) + 64


# -- HTTP answers (pure) ----------------------------------------------------------------------

def get(red: Redirector, target: str, method: str = "GET", **headers: str) -> tuple[int, bytes]:
    status, _, body, _ = red.handle(method, target, {k.lower(): v for k, v in headers.items()})
    return status, body


def test_redirect_text_and_json() -> None:
    red, clock, edges = farm({"a": 50, "b": 10})
    assert get(red, "/redirect") == (200, b"redirect=198.51.100.2\n")
    status, body = get(red, "/redirect?count=2", accept="application/json")
    assert status == 200 and json.loads(body) == {"redirect": "198.51.100.2",
                                                  "redirects": ["198.51.100.2", "198.51.100.1"]}


@pytest.mark.parametrize("target, status", [
    ("/redirect?count=0", 400), ("/redirect?count=101", 400), ("/redirect?count=x", 400),
    ("/redirect?app=a/b", 400), ("/redirect?foo=1", 400), ("/redirect?&&", 400), ("/nope", 404),
    ("/servers/a/explode", 404),
])
def test_bad_requests(target: str, status: int) -> None:
    red, clock, edges = farm({"a": 10})
    assert get(red, target)[0] == status


def test_no_edge_is_503_with_the_reason() -> None:
    red, clock = make()
    assert get(red, "/redirect") == (503, b"error: no edge is reporting\n")
    Edge(red, clock, "a", 10, state="draining").send()
    status, body = get(red, "/redirect", accept="application/json")
    assert status == 503 and json.loads(body) == {"error": "no edge can take a client: 1 reporting (1 draining)"}


def test_server_info_and_its_switch() -> None:
    red, clock, edges = farm({"a": 10})
    status, body = get(red, "/servers")
    doc = json.loads(body)["servers"][0]
    assert status == 200 and doc["id"] == "a" and doc["subscribers"] == 10 and doc["state"] == "up"
    assert doc["available"] and doc["age"] == 0 and doc["limits"] == LIMITS
    red.server_info = False
    assert get(red, "/servers")[0] == 404
    assert get(red, "/healthz")[0] == 200


def test_admin_api_needs_the_bearer_token() -> None:
    red, clock, edges = farm({"a": 10, "b": 20})
    assert get(red, "/servers/a/drain", "POST")[0] == 401
    assert get(red, "/servers/a/drain", "POST", authorization="Bearer wrong")[0] == 401
    assert get(red, "/servers/a/drain", "GET", authorization="Bearer " + "t" * 20)[0] == 405
    assert ids(red, 2) == ["a", "b"]
    assert get(red, "/servers/a/drain", "POST", authorization="Bearer " + "t" * 20)[0] == 200
    assert json.loads(get(red, "/servers")[1])["servers"][0]["state"] == "draining"
    assert get(red, "/servers/zz/drain", "POST", authorization="Bearer " + "t" * 20)[0] == 404
    assert get(red, "/servers/a/ready", "POST", authorization="bearer " + "t" * 20)[0] == 200
    red.admin_token = None
    assert get(red, "/servers/a/drain", "POST", authorization="Bearer " + "t" * 20)[0] == 403


# -- property-based: garbage never crashes and never changes the view -------------------------

def _valid() -> bytes:
    return wire.encode(wire.Report("a", "198.51.100.1", figures={"subscribers": 3}, limits=LIMITS), KEY,
                       10**12, now=Clock().wall)


VALID = _valid()

datagrams = st.one_of(
    st.binary(max_size=2000),                                                     # random
    st.binary(min_size=wire.MAX_DATAGRAM + 1, max_size=4000),                     # oversized
    st.integers(0, len(VALID) - 1).map(lambda n: VALID[:n]),                      # truncated
    st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)).map(           # one byte flipped
        lambda t: VALID[:t[0]] + bytes([VALID[t[0]] ^ t[1]]) + VALID[t[0] + 1:]),
    st.binary(max_size=200).map(lambda b: VALID[:wire.HEADER.size] + b + VALID[-32:]),  # spliced
    st.binary(max_size=300).map(lambda b: wire.MAGIC + bytes([wire.VERSION]) + b),     # right magic
)

json_values = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=20)
payloads = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"id": json_values, "addr": json_values, "state": json_values, "int": json_values},
                          optional={"fig": json_values, "lim": json_values, "apps": json_values})
    .map(lambda d: json.dumps(d).encode()),
)


def _fresh() -> tuple[Redirector, Clock]:
    red, clock = make()
    assert Edge(red, clock, "a", 3).send() and Edge(red, clock, "b", 30).send()
    return red, clock


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datagrams)
def test_garbage_datagrams_never_crash_or_change_the_view(data: bytes) -> None:
    red, clock = _fresh()
    before = red.view()
    assert red.ingest(data) is False
    assert red.view() == before
    assert sum(red.stats.dropped.values()) == 1 and not any(k.startswith("error") for k in red.stats.dropped)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads)
def test_signed_malformed_payloads_never_crash_or_change_the_view(payload: bytes) -> None:
    """Even a key holder cannot crash the redirector or slip an invalid report in."""
    red, clock = _fresh()
    head = wire.HEADER.pack(wire.MAGIC, wire.VERSION, int(clock.wall * 1000), 10**15) + payload
    data = head + wire._tag(KEY, head)
    before = red.view()
    accepted = red.ingest(data)
    assert not any(k.startswith("error") for k in red.stats.dropped)
    if not accepted:
        assert red.view() == before
    else:  # hypothesis found a valid report: it must then be a well-formed one
        r = wire.decode_payload(payload)
        assert r.id in red.edges and wire.valid_address(red.edges[r.id].address)


def test_only_get_hands_out() -> None:
    red, clock, edges = farm({"a": 10})
    for method in ("HEAD", "POST", "PUT"):
        assert get(red, "/redirect", method)[0] == 405
    assert red.edges["a"].handed == 0 and red.stats.redirects == 0
    assert get(red, "/healthz", "HEAD")[0] == 200
