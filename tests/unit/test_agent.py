"""The agent: stat-page parsing, the verdict, the reply grammar (as HAProxy reads it), serving."""

from __future__ import annotations

import asyncio
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from awslb.node import agent
from awslb.node.agent import Agent, Limits, Sample, Verdict, parse_reply, verdict

# The stat page as printed in seed 001, OCR noise included ("streams webrtc_in=1").
GUIDE_STAT = """\
-----Connection Stats----
connections=1
connections_rtmfp=0
connections_websocket=1
connections_hls=0
----Port Stats----
ports_media_free=498
ports media busy=1
----Stream Stats---
streams webrtc_in=1
streams webrtc out=0
streams_websocket_out=0
streams rtmfp in=0
streams_rtmp_in=2
streams_rtmp_out=3
streams_hls=4
streams_viewers=test/0
streams_synchronization=test/-37
stats size=0
streams_rtsp_in=0
streams_rtsp_out=0
streams_rtmp_client out=5
streams stop rate=0
"""


def test_stat_page_parses_despite_spaces_in_keys() -> None:
    stats = agent.parse_stat(GUIDE_STAT)
    assert stats["streams_webrtc_in"] == 1
    assert stats["ports_media_busy"] == 1
    assert stats["streams_rtmp_client_out"] == 5
    assert stats["streams_viewers"] == "test/0"
    assert not any(k.startswith("-") for k in stats)
    # publishers: webrtc_in 1 + rtmp_in 2; subscribers: rtmp_out 3 + rtmp_client_out 5; hls 4
    assert agent.stream_counts(stats) == (3, 8, 4)


def test_non_numbers_do_not_count() -> None:
    assert agent.stream_counts({"streams_webrtc_in": "n/a", "streams_rtmp_in": "2"}) == (2, 0, 0)


# -- verdict --------------------------------------------------------------------------------

@pytest.mark.parametrize("sample, want", [
    (Sample(), "up ready 100%\n"),
    (Sample(subscribers=50), "up ready 50%\n"),
    (Sample(publishers=10, subscribers=20, hls=75), "up ready 25%\n"),
    (Sample(cpu=45.0), "up ready 50%\n"),
    (Sample(band_out=99.6), "up ready 1%\n"),                    # never 0% while below the limit
    (Sample(cpu=95.2), "down #cpu 95% >= 90%\n"),                # at a limit: down (seed 001)
    (Sample(subscribers=100), "down #subscribers 100 >= 100\n"),
    (Sample(band_in=150.0), "down #band_in 150 Mbit/s >= 100 Mbit/s\n"),
    (Sample(error="stat page: Connection refused"), "down #stat page: Connection refused\n"),
    (Sample(error="line one\nline two"), "down #line one line two\n"),  # one line, whatever the reason
])
def test_verdict_replies(sample: Sample, want: str) -> None:
    assert verdict(sample, Limits()).reply() == want


@pytest.mark.parametrize("sample, want", [
    (Sample(cpu=95.2), "up drain #cpu 95% >= 90%\n"),
    (Sample(subscribers=100), "up drain #subscribers 100 >= 100\n"),
    (Sample(subscribers=50), "up ready 50%\n"),                     # below: the same either way
    (Sample(error="stat page: timed out"), "down #stat page: timed out\n"),  # WCS gone: down either way
])
def test_over_drain_is_still_a_choice(sample: Sample, want: str) -> None:
    assert verdict(sample, Limits(), over="drain").reply() == want


def test_over_is_down_or_drain() -> None:
    with pytest.raises(ValueError, match="down or drain"):
        verdict(Sample(), Limits(), over="maint")
    with pytest.raises(ValueError, match="down or drain"):
        Agent("http://127.0.0.1:1/", over="stopped")


def test_a_limit_says_down_as_haproxy_reads_it() -> None:
    # `down #reason`: a space before '#', a newline at the end; HAProxy marks the server DOWN.
    v = verdict(Sample(subscribers=120), Limits())
    assert v.overloaded and v.state == "down"
    r = parse_reply(v.reply())
    assert r.valid and (r.health, r.admin, r.description) == ("down", None, "subscribers 120 >= 100")
    assert "DOWN" in r.explain()
    assert not verdict(Sample(error="x"), Limits()).overloaded  # the stat page gone is not a load


def test_scale_in_drain_stays_drain_even_over_a_limit() -> None:
    # Admin drain (lifecycle): sticky clients of live sessions must still get through, so the
    # agent says `up drain`, not `down`, whatever --over says; a dead stat page is still down.
    a = Agent("http://127.0.0.1:1/", Limits(), interval=60)
    a.set_admin("drain")
    a.set(verdict(Sample(subscribers=150), Limits()))
    assert a.reply == b"up drain #scale-in: draining live sessions\n"
    a.set(verdict(Sample(subscribers=10), Limits()))
    assert a.reply == b"up drain #scale-in: draining live sessions\n"
    a.set(verdict(Sample(error="stat page: refused"), Limits()))
    assert a.reply == b"down #stat page: refused\n"
    a.set_admin("ready")
    a.set(verdict(Sample(subscribers=150), Limits()))
    assert a.reply == b"down #subscribers 150 >= 100\n"


def test_weight_falls_as_load_rises() -> None:
    weights = [verdict(Sample(subscribers=n), Limits()).weight for n in range(0, 100, 10)]
    assert weights == sorted(weights, reverse=True) and weights[0] == 100 and weights[-1] == 10


def test_a_zero_limit_is_not_checked_and_unknown_metrics_are_skipped() -> None:
    assert verdict(Sample(cpu=99.0, subscribers=10), Limits(cpu=0)).reply() == "up ready 90%\n"
    assert verdict(Sample(cpu=None, band_in=None), Limits()).reply() == "up ready 100%\n"


# -- the reply grammar: how HAProxy reads a line ---------------------------------------------

@pytest.mark.parametrize("text, health, admin, weight, description", [
    ("up\n", "up", None, None, ""),
    ("down\n", "down", None, None, ""),
    ("stopped\n", "stopped", None, None, ""),
    ("fail\n", "fail", None, None, ""),
    ("ready\n", None, "ready", None, ""),
    ("drain\n", None, "drain", None, ""),
    ("maint\n", None, "maint", None, ""),
    ("75%\n", None, None, 75, ""),
    ("0%\n", None, None, 0, ""),
    ("up ready 100%\n", "up", "ready", 100, ""),
    ("UP,Drain\t50%\r\n", "up", "drain", 50, ""),          # commas, tabs, CR, any case
    ("down #stat page: timed out\n", "down", None, None, "stat page: timed out"),
    ("fail # disk full, 99%\n", "fail", None, None, "disk full, 99%"),  # after '#' all is text
    ("up 10% 20%\n", "up", None, 20, ""),                   # the last one wins
    ("drain ready\n", None, "ready", None, ""),
])
def test_grammar_states(text, health, admin, weight, description) -> None:
    r = parse_reply(text)
    assert r.valid, r.errors
    assert (r.health, r.admin, r.weight, r.description) == (health, admin, weight, description)


def test_grammar_maxconn() -> None:
    r = parse_reply("up maxconn:30\n")
    assert r.valid and r.maxconn == 30
    assert not parse_reply("maxconn:x\n").valid


@pytest.mark.parametrize("text, problem", [
    ("up 100%", "ignored"),                  # no newline: HAProxy waits, then ignores the line
    ("75\n", "a weight needs '%'"),           # a bare number is an error, not a weight
    ("down#broken\n", "put a space before '#'"),  # '#' is not a word separator
    ("75%x\n", "trailing garbage"),
    ("healthy\n", "not an agent word"),
])
def test_grammar_errors(text: str, problem: str) -> None:
    r = parse_reply(text)
    assert not r.valid
    if problem == "ignored":
        assert r.ignored and r.health is None
    else:
        assert any(problem in e for e in r.errors), r.errors


def test_only_the_first_line_counts() -> None:
    r = parse_reply("up 50%\ndown\n")
    assert (r.health, r.weight) == ("up", 50)


@pytest.mark.parametrize("over", ["down", "drain"])
def test_every_verdict_is_a_valid_reply(over: str) -> None:
    limits = Limits(cpu=80, publishers=5, subscribers=7, hls=3, band_in=10, band_out=20)
    seen = set()
    for pub, sub, hls, cpu, bw in itertools.product(range(0, 7, 2), range(0, 9, 3), (0, 3), (None, 10.0, 85.0),
                                                     (None, 25.0)):
        v = verdict(Sample(pub, sub, hls, cpu, bw, bw), limits, over)
        r = parse_reply(v.reply())
        assert r.valid and v.reply().count("\n") == 1 and v.reply().endswith("\n")
        if v.state == "up":
            assert (r.health, r.admin) == ("up", "ready") and 1 <= r.weight <= 100 and not v.overloaded
        else:
            assert v.overloaded and v.state == over and r.description
            assert (r.health, r.admin) == (("down", None) if over == "down" else ("up", "drain"))
        seen.add(v.state)
    down = parse_reply(verdict(Sample(error="stat page: HTTP 500"), limits, over).reply())
    assert down.valid and down.health == "down" and down.description == "stat page: HTTP 500"
    assert seen == {"up", over}


# -- host counters ---------------------------------------------------------------------------

def fake_proc(root: Path, busy: int, idle: int, rx: int, tx: int) -> str:
    (root / "net").mkdir(parents=True, exist_ok=True)
    (root / "stat").write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 2 3 4\n")
    (root / "net" / "dev").write_text(
        "Inter-|   Receive   |  Transmit\n face |bytes packets|bytes packets\n"
        f"    lo: 999999 1 0 0 0 0 0 0 999999 1 0 0 0 0 0 0\n"
        f"  eth0: {rx} 1 0 0 0 0 0 0 {tx} 1 0 0 0 0 0 0\n")
    return str(root)


def test_host_load_from_proc_deltas(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, busy=100, idle=900, rx=0, tx=0)
    before = agent.read_host(proc)
    fake_proc(tmp_path, busy=400, idle=1000, rx=12_500_000, tx=25_000_000)
    after = agent.read_host(proc)
    after = agent.HostCounters(before.when + 2.0, after.cpu_busy, after.cpu_total, after.rx_bytes, after.tx_bytes)
    load = agent.host_load(before, after)
    assert load.cpu == pytest.approx(75.0)        # 300 busy of 400 jiffies
    assert load.band_in == pytest.approx(50.0)    # 12.5 MB in 2 s, loopback not counted
    assert load.band_out == pytest.approx(100.0)


def test_missing_proc_means_unknown(tmp_path: Path) -> None:
    c = agent.read_host(str(tmp_path / "nothing"))
    assert (c.cpu_busy, c.rx_bytes) == (None, None)
    assert agent.host_load(c, c) == agent.HostLoad()


# -- serving ---------------------------------------------------------------------------------

class StatPage:
    """A stand-in WCS stat page on loopback."""

    def __init__(self, text: str = GUIDE_STAT, status: int = 200):
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = page.text.encode()
                self.send_response(page.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.text, self.status = text, status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/?action=stat"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Running:
    """An Agent served on 127.0.0.1 in a background thread."""

    def __init__(self, a: Agent):
        self.agent = a
        self.ready = threading.Event()
        self.addr: tuple = ()

        def ready(addrs: list[tuple]) -> None:
            self.addr = addrs[0]
            self.ready.set()

        self.thread = threading.Thread(target=lambda: asyncio.run(a.serve("127.0.0.1", 0, ready)), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def stop(self) -> None:
        self.agent.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()


def test_agent_answers_from_the_stat_page_and_follows_it() -> None:
    page = StatPage()
    run = Running(Agent(page.url, Limits(cpu=0, band_in=0, band_out=0, subscribers=10), interval=60))
    try:
        host, port = run.addr[:2]
        # subscribers 8 of 10 -> weight 20%
        assert agent.check(host, port).raw == "up ready 20%\n"
        page.text = GUIDE_STAT.replace("streams_rtmp_out=3", "streams_rtmp_out=30")
        run.agent.sample()
        r = agent.check(host, port)
        assert (r.health, r.admin, r.description) == ("down", None, "subscribers 35 >= 10")
        run.agent.over = "drain"
        run.agent.sample()
        r = agent.check(host, port)
        assert (r.health, r.admin, r.description) == ("up", "drain", "subscribers 35 >= 10")
        page.status = 503
        run.agent.sample()
        r = agent.check(host, port)
        assert (r.health, r.description) == ("down", "stat page: HTTP 503")
        page.status, page.text = 200, "<html>not WCS</html>"
        run.agent.sample()
        assert "no stream counters" in agent.check(host, port).description
        page.text = GUIDE_STAT
        run.agent.sample()
        assert agent.check(host, port).raw == "up ready 20%\n"  # back: `ready` clears the drain
    finally:
        run.stop()
        page.close()


def test_agent_says_down_when_the_stat_page_is_gone() -> None:
    page = StatPage()
    url = page.url
    page.close()
    run = Running(Agent(url, interval=60, timeout=0.5))
    try:
        r = agent.check(*run.addr[:2])
        assert r.valid and r.health == "down" and r.description.startswith("stat page:")
    finally:
        run.stop()


def test_agent_closes_connections_from_outside_allow() -> None:
    page = StatPage()
    run = Running(Agent(page.url, interval=60, allow=agent.parse_allow(["10.0.0.0/8"])))
    try:
        with pytest.raises(agent.Refused, match="refused this address"):
            agent.check(*run.addr[:2])
    finally:
        run.stop()
        page.close()


def test_allow_matches_ipv4_mapped_peers() -> None:
    a = Agent("http://127.0.0.1:1/", allow=agent.parse_allow(["172.31.0.0/16", "fd00::/8"]))
    assert a.allowed("172.31.4.5") and a.allowed("::ffff:172.31.4.5") and a.allowed("fd00::1")
    assert not a.allowed("10.1.2.3") and not a.allowed("::1") and not a.allowed("garbage")
    assert Agent("http://127.0.0.1:1/").allowed("203.0.113.9")  # no --allow: everyone


def test_sampler_timer_refreshes_the_cached_reply() -> None:
    page = StatPage()
    changes: list[Verdict] = []
    run = Running(Agent(page.url, Limits(cpu=0, band_in=0, band_out=0), interval=0.1,
                        on_change=lambda v, s: changes.append(v), over="drain"))
    try:
        page.text = "streams_webrtc_in=500\n"
        for _ in range(100):  # bounded: up to 10 s
            if run.agent.current.state == "drain":
                break
            threading.Event().wait(0.1)
        assert agent.check(*run.addr[:2]).admin == "drain"
        assert [v.state for v in changes][-1] == "drain"
    finally:
        run.stop()
        page.close()
