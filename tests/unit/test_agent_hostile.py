"""Issue 11, the agent: hostile stat pages, a trickling page, stale verdicts, SIGTERM, refusals.

Real sockets on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from awslb.node import agent, stats
from awslb.node.agent import Agent, Limits, Verdict, parse_reply
from tests.unit.test_agent import Running, StatPage


class Trickle:
    """An HTTP server on 127.0.0.1 that sends its stat page one byte every 0.2 s, for minutes."""

    def __init__(self, headers_first: bool = True) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/?action=stat"
        self.done = threading.Event()
        self.headers_first = headers_first
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        head = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
        body = b"streams_webrtc_in=1\n" * 1000
        try:
            conn.recv(4096)
            data = head + body if not self.headers_first else body
            if self.headers_first:
                conn.sendall(head)
            for i in range(len(data)):
                if self.done.wait(0.2):
                    break
                conn.sendall(data[i:i + 1])
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.done.set()
        self.sock.close()


# -- bounded numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("digits", [19, 309, 4300, 100_000])
def test_huge_numbers_are_not_numbers(digits: int) -> None:
    page = stats.parse(f"streams_webrtc_in={'9' * digits}\nstreams_webrtc_out=3\n")
    assert isinstance(page["streams_webrtc_in"], str) and page["streams_webrtc_out"] == 3
    assert agent.stream_counts(page) == (0, 3, 0)


def test_counts_are_bounded() -> None:
    assert stats.count(-5) == 0 and stats.count(10**30) == stats.MAX_COUNT and stats.count("12") == 12
    assert stats.count("1e9") is None and stats.count(True) is None
    assert agent.stream_counts({"streams_webrtc_in": 10**18, "streams_rtmp_in": 10**18})[0] == stats.MAX_COUNT


@pytest.mark.parametrize("digits", [309, 4300])
def test_agent_survives_a_page_of_huge_numbers(digits: int) -> None:
    page = StatPage(f"streams_webrtc_in={'9' * digits}\nstreams_webrtc_out=2\nconnections_websocket=1\n")
    try:
        v = Agent(page.url, Limits(cpu=0, band_in=0, band_out=0), interval=60).sample()
        assert v.state == "up"  # the huge value is not a count; 2 subscribers of 100
        assert parse_reply(v.reply()).valid
    finally:
        page.close()


def test_serve_starts_on_a_page_of_309_digits() -> None:
    page = StatPage(f"streams_webrtc_in={'9' * 309}\n")
    run = Running(Agent(page.url, interval=60))
    try:
        assert agent.check(*run.addr[:2]).valid
    finally:
        run.stop()
        page.close()


# -- the whole fetch is bounded ---------------------------------------------------------------

@pytest.mark.parametrize("headers_first", [True, False])
def test_timeout_bounds_a_trickling_page(headers_first: bool) -> None:
    page = Trickle(headers_first)
    try:
        v = Agent(page.url, interval=60, timeout=0.5).sample()
        assert v.state == "down" and "no complete answer within 0.5s" in v.reason
        assert stats.fetch(page.url, 0.5) == stats.UNREACHABLE  # `awslb status` too
    finally:
        page.close()


def test_a_stale_verdict_turns_down() -> None:
    a = Agent("http://127.0.0.1:1/", interval=0.5)
    a.set(Verdict("up", 80, "idle"))
    assert parse_reply(a.answer().decode()).health == "up"
    a.since -= agent.STALE_INTERVALS * a.interval + 1  # the sampler has been stuck this long
    r = parse_reply(a.answer().decode())
    assert r.valid and r.health == "down" and r.description.startswith("stale:")
    a.set(Verdict("up", 80, "idle"))  # a fresh sample serves again
    assert parse_reply(a.answer().decode()).health == "up"


def test_stop_aborts_a_fetch_in_flight() -> None:
    page = Trickle()
    a = Agent(page.url, interval=60, timeout=60)
    try:
        out: list[Verdict] = []
        t = threading.Thread(target=lambda: out.append(a.sample()))
        t.start()
        while a._fetch is None:
            time.sleep(0.01)
        a.stop()
        t.join(20)  # far below the 60 s timeout: the abort ended the fetch
        assert not t.is_alive() and out[0].state == "down"
    finally:
        page.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigterm_stops_serve_mid_fetch() -> None:
    """`agent serve` whose first fetch trickles for minutes (timeout 60 s) stops on SIGTERM."""
    page = Trickle()
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "awslb", "agent", "serve", "--bind", "127.0.0.1",
                             "--port", str(port), "--stat-url", page.url, "--interval", "60",
                             "--timeout", "60"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # listening (the first fetch is trickling)
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0  # not the 60 s the fetch could take
        err = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        page.close()


# -- who the agent answers --------------------------------------------------------------------

def test_default_allow_is_loopback_and_private() -> None:
    a = Agent("http://127.0.0.1:1/", allow=agent.parse_allow(agent.DEFAULT_ALLOW))
    for ok in ("127.0.0.1", "::1", "10.1.2.3", "172.31.0.9", "192.168.1.1", "fd00::5", "::ffff:10.0.0.1"):
        assert a.allowed(ok), ok
    for no in ("203.0.113.9", "8.8.8.8", "2001:db8::1", "172.32.0.1"):
        assert not a.allowed(no), no


def test_serve_says_who_it_answers(tmp_path) -> None:
    page = StatPage()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "awslb", "agent", "serve", "--bind", "127.0.0.1",
                             "--port", str(port), "--stat-url", page.url, "--interval", "60"],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stderr is not None
        line = ""
        while "answering" not in line and proc.poll() is None:
            line = proc.stderr.readline()
        assert "answering 127.0.0.0/8, ::1/128, 10.0.0.0/8" in line and "the default --allow" in line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        page.close()


def test_check_says_it_was_refused(cli) -> None:
    page = StatPage()
    run = Running(Agent(page.url, interval=60, allow=agent.parse_allow(["10.0.0.0/8"])))
    try:
        host, port = run.addr[:2]
        r = cli("agent", "check", f"{host}:{port}")
        assert r.exit_code == 1
        assert r.stderr.startswith(f"error: agent {host}:{port}: refused: the agent refused this address")
        assert "line does not end" not in r.stderr + r.stdout
    finally:
        run.stop()
        page.close()
