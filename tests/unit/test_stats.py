"""Stat pages: parsing the format of guide 001, fetching concurrently from local servers."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from awslb.node import stats

# Server 1 of guide 001, as printed there (spaces where some keys have underscores).
PAGE_1 = """-----Connection Stats----
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
streams_viewers=test/0
streams_synchronization=test/-37
stats size=0
streams stop rate=0
"""

PAGE_2 = """-----Connection Stats-----
connections=3
connections rtmfp=0
connections_websocket=3
----Stream Stats---
streams_webrtc_in=2
streams_webrtc_out=5
"""


def test_parse_the_guide_page() -> None:
    page = stats.parse(PAGE_1)
    assert page["connections_websocket"] == 1
    assert page["streams_webrtc_in"] == 1  # "streams webrtc_in=1"
    assert page["streams_webrtc_out"] == 0  # "streams webrtc out=0"
    assert page["ports_media_busy"] == 1
    assert page["streams_viewers"] == "test/0"
    assert page["streams_synchronization"] == "test/-37"
    assert not any(k.startswith("-") for k in page)
    assert stats.figures(page) == {"connections_websocket": 1, "streams_webrtc_in": 1, "streams_webrtc_out": 0}


class _Handler(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, str]] = {}
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/slow":
            self.release.wait(10)  # answers only after the client gave up
        status, body = self.pages.get(self.path, (404, "no"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stat_server() -> Iterator[str]:
    _Handler.pages = {"/?action=stat": (200, PAGE_2), "/broken": (500, "oops"), "/other": (200, "hello")}
    _Handler.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _Handler.release.set()
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fetch_all(stat_server: str) -> None:
    got = stats.fetch_all({
        "a": f"{stat_server}/?action=stat",
        "b": f"http://127.0.0.1:{_closed_port()}/?action=stat",
        "c": f"{stat_server}/broken",
        "d": f"{stat_server}/other",
        "e": f"{stat_server}/slow",
    }, seconds=0.5)
    assert got["a"] == {"connections_websocket": 3, "streams_webrtc_in": 2, "streams_webrtc_out": 5}
    assert got["b"] == stats.UNREACHABLE
    assert got["c"] == "HTTP 500"
    assert got["d"] == "not a stat page"
    assert got["e"] == stats.UNREACHABLE  # no answer within the timeout
    assert stats.fetch_all({}) == {}


def test_switches(monkeypatch) -> None:
    monkeypatch.setenv("AWSLB_STATS", "off")
    assert not stats.enabled()
    monkeypatch.setenv("AWSLB_STATS", "on")
    assert stats.enabled()
    monkeypatch.setenv("AWSLB_STATS_TIMEOUT", "0.5")
    assert stats.timeout() == 0.5
    monkeypatch.setenv("AWSLB_STATS_TIMEOUT", "soon")
    assert stats.timeout() == stats.DEFAULT_TIMEOUT
