"""The redirector's HTTP/1.1 server on a real loopback socket: keep-alive, pipelining, bounds."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from awslb.node import wire
from awslb.node.redirector import MAX_HEADER, Redirector

KEY = b"k" * 32


@pytest.fixture
def served():
    red = Redirector(KEY, admin_token=b"t" * 20)
    red.idle_timeout = 0.2
    ready = threading.Event()
    where: dict = {}

    def on_ready(udp, http) -> None:
        where["udp"], where["http"] = udp, http[0]
        ready.set()

    thread = threading.Thread(target=lambda: asyncio.run(red.serve(("127.0.0.1", 0), ("127.0.0.1", 0), on_ready)),
                              daemon=True)
    thread.start()
    assert ready.wait(10)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    report = wire.Report("edge-1", "192.0.2.1", figures={"subscribers": 1}, limits={"subscribers": 100})
    sender.sendto(wire.encode(report, KEY, 1), where["udp"])
    sender.close()
    deadline = time.monotonic() + 10
    while not red.edges and time.monotonic() < deadline:
        time.sleep(0.01)
    assert red.edges
    yield red, where["http"]
    red.stop()
    thread.join(10)
    assert not thread.is_alive()


def exchange(addr, data: bytes, until_closed: bool = False, responses: int = 1) -> bytes:
    with socket.create_connection(addr, timeout=10) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
            if not until_closed and out.count(b"HTTP/1.1 ") >= responses and out.endswith(b"\n"):
                return out


def test_pipelined_keep_alive_requests_are_answered_in_order(served) -> None:
    red, addr = served
    req = b"GET /redirect HTTP/1.1\r\nHost: x\r\n\r\n" + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    out = exchange(addr, req, responses=2)
    first, second = out.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK") and first.endswith(b"redirect=192.0.2.1\n")
    assert b"Connection: keep-alive" in first and b"Cache-Control: no-store" in first
    assert second.startswith(b"200 OK") and b'"edges":1' in second


def test_connection_close_and_http_1_0_close_after_the_answer(served) -> None:
    red, addr = served
    out = exchange(addr, b"GET /redirect HTTP/1.1\r\nConnection: close\r\n\r\n", until_closed=True)
    assert out.startswith(b"HTTP/1.1 200") and b"Connection: close" in out
    out = exchange(addr, b"GET /redirect HTTP/1.0\r\n\r\n", until_closed=True)
    assert out.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /redirect HTTP/1.1\r\nX: " + b"a" * (MAX_HEADER + 10) + b"\r\n\r\n", b"431"),
    (b"GET /redirect HTTP/1.1\r\nX: " + b"a" * (MAX_HEADER + 10), b"431"),   # never ends
    (b"GARBAGE\r\n\r\n", b"400"),
    (b"GET /redirect HTTP/2.0\r\n\r\n", b"505"),
    (b"GET /redirect HTTP/1.1\r\nbad header\r\n\r\n", b"400"),
    (b"POST /servers/edge-1/drain HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", b"413"),
    (b"POST /servers/edge-1/drain HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"501"),
])
def test_bad_requests_get_an_answer_and_a_close(served, request_bytes: bytes, status: bytes) -> None:
    red, addr = served
    out = exchange(addr, request_bytes, until_closed=True)
    assert out.startswith(b"HTTP/1.1 " + status) and b"Connection: close" in out
    assert red.edges["edge-1"].id == "edge-1"   # still serving
    assert exchange(addr, b"GET /redirect HTTP/1.1\r\n\r\n").endswith(b"redirect=192.0.2.1\n")


def test_a_body_is_read_before_the_next_request(served) -> None:
    red, addr = served
    req = (b"POST /servers/edge-1/drain HTTP/1.1\r\nAuthorization: Bearer " + b"t" * 20
           + b"\r\nContent-Length: 5\r\n\r\nhello" + b"GET /redirect HTTP/1.1\r\n\r\n")
    out = exchange(addr, req, responses=2)
    first, second = out.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200") and second.startswith(b"503")   # drained: no edge left


def test_idle_connections_are_closed(served) -> None:
    red, addr = served
    with socket.create_connection(addr, timeout=15) as s:
        assert s.recv(1) == b""   # closed by the redirector, nothing sent
    assert not red.connections
