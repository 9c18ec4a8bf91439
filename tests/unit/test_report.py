"""The edge's reporter: states from the agent's verdict, datagrams on loopback, errors said once."""

from __future__ import annotations

import socket

import pytest

from awslb.node import wire
from awslb.node.agent import Agent, Limits, Sample, Verdict, verdict
from awslb.node.report import Load, Reporter, agent_load

KEY = b"k" * 32


def listener(family: int = socket.AF_INET, host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, port))
    s.settimeout(10)
    return s


def received(s: socket.socket) -> wire.Datagram:
    return wire.verify(s.recv(2048), KEY)


@pytest.mark.parametrize("verdict, state", [("up", "up"), ("drain", "overloaded"), ("down", "down")])
def test_the_agent_verdict_becomes_the_state(verdict: str, state: str) -> None:
    a = Agent("http://127.0.0.1:9/", Limits(cpu=80, subscribers=50))
    a.set(Verdict(verdict, 50 if verdict == "up" else None, ""), Sample(publishers=2, subscribers=30, cpu=12.5))
    load = agent_load(a)
    assert load.figures["subscribers"] == 30 and load.figures["cpu"] == 12.5 and load.figures["band_in"] is None
    assert load.limits["subscribers"] == 50 and load.limits["cpu"] == 80
    s = listener()
    r = Reporter([s.getsockname()], KEY, "edge-1", "192.0.2.9", lambda: agent_load(a), interval=0.5)
    try:
        assert r.send_once() == 1
        d = received(s)
        assert d.report.state == state and d.report.address == "192.0.2.9" and d.report.interval == 0.5
        assert d.report.figures == {"publishers": 2, "subscribers": 30, "hls": 0, "cpu": 12.5}
        r.draining = True
        r.send_once()
        later = received(s)
        assert later.report.state == "draining" and later.seq == d.seq + 1
    finally:
        r.stop()
        s.close()


@pytest.mark.parametrize("over", ["down", "drain"])
def test_over_a_limit_is_overloaded_whatever_haproxy_is_told(over: str) -> None:
    # --over down tells HAProxy `down`; a redirector must still read "overloaded", not "down".
    a = Agent("http://127.0.0.1:9/", Limits(subscribers=50), over=over)
    a.set(verdict(Sample(subscribers=60), a.limits, over), Sample(subscribers=60))
    assert a.current.state == over and agent_load(a).verdict == "drain"
    a.set(verdict(Sample(error="stat page: refused"), a.limits, over), Sample(error="stat page: refused"))
    assert agent_load(a).verdict == "down"


def test_stop_sends_a_last_report_saying_down() -> None:
    s = listener()
    r = Reporter([s.getsockname()], KEY, "edge-1", "192.0.2.9", lambda: Load("up", {}, {}), interval=30)
    r.start()
    assert received(s).report.state == "up"
    r.stop()
    assert received(s).report.state == "down"
    s.close()


def test_every_address_of_a_name_gets_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name with several addresses (one A record per redirector) reaches each of them."""
    v4 = listener()
    port = v4.getsockname()[1]
    try:
        v6 = listener(socket.AF_INET6, "::1", port)
    except OSError:
        v4.close()
        pytest.skip("::1 is not available on this port")
    real = socket.getaddrinfo

    def resolve(host, *args, **kw):  # the redirectors' name, resolved without DNS
        if host == "redirectors.internal":
            return real("127.0.0.1", *args, **kw) + real("::1", *args, **kw) + real("127.0.0.1", *args, **kw)
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    r = Reporter([("redirectors.internal", port)], KEY, "edge-1", "192.0.2.9", lambda: Load("up", {}, {}))
    try:
        assert r.send_once() == 1
        assert received(v4).seq == received(v6).seq
        v4.settimeout(0.2)
        with pytest.raises(TimeoutError):
            v4.recv(2048)   # a duplicate address is sent to once
    finally:
        r.stop()
        v4.close()
        v6.close()


def test_a_send_error_is_said_once_and_its_end_once() -> None:
    said: list[str] = []
    r = Reporter([("127.0.0.1", 0)], KEY, "edge-1", "192.0.2.9", lambda: Load("up", {}, {}),
                 log=said.append)
    for _ in range(3):
        assert r.send_once() == 0
    assert said == ["report to 127.0.0.1:0: Invalid argument"]
    s = listener()
    r.targets = [("127.0.0.1", 0), s.getsockname()]
    r._errors[s.getsockname()] = "was failing"
    assert r.send_once() == 1
    assert said[-1].endswith("sending again") and len(said) == 2
    r.stop()
    s.close()
