"""Least-loaded redirect end to end on loopback, as an operator runs it: `awslb redirector serve`
and three `awslb agent serve --report-to ...` processes reading stand-in stat pages.

Nothing asserts a timing: every wait polls with a generous deadline. Reports every 0.2 s.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from awslb.node import report, wire
from tests.conftest import ROOT
from tests.unit.test_agent import StatPage

pytestmark = pytest.mark.slow

INTERVAL = 0.2
TOKEN = "admin-token-0123456789"


def stat(subscribers: int) -> str:
    return f"connections=1\nstreams_webrtc_in=0\nstreams_webrtc_out={subscribers}\nstreams_hls=0\n"


def until(check: Callable[[], Any], what: str, deadline: float = 15.0) -> Any:
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    pytest.fail(f"not within {deadline:g}s: {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """`python -m awslb ARGS` with stderr in a file (a pipe nobody reads would fill and block it)."""

    def __init__(self, tmp: Path, name: str, args: list[str], env: dict[str, str] | None = None):
        self.log = tmp / f"{name}.log"
        self.p = subprocess.Popen([sys.executable, "-m", "awslb", "--no-color", *args], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=self.log.open("w"),
                                  env={**os.environ, **(env or {})})

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str) -> re.Match:
        def found() -> re.Match | None:
            assert self.p.poll() is None, f"exited {self.p.returncode}: {self.text()}"
            return re.search(pattern, self.text())
        return until(found, f"{pattern!r} in {self.log.name}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.p.poll() is None:
            self.p.send_signal(sig)
        return self.p.wait(15)


def secret_file(tmp: Path, name: str, value: str) -> str:
    f = tmp / name
    f.write_text(value + "\n")
    f.chmod(0o600)
    return str(f)


class Client:
    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, **headers: str) -> tuple[int, str]:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, headers=headers)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def redirect(self) -> str:
        status, body = self.request("GET", "/redirect")
        return body.strip().removeprefix("redirect=") if status == 200 else f"{status} {body.strip()}"

    def servers(self) -> dict[str, dict]:
        status, body = self.request("GET", "/servers")
        assert status == 200, body
        return {s["id"]: s for s in json.loads(body)["servers"]}

    def dropped(self) -> dict[str, int]:
        return json.loads(self.request("GET", "/healthz")[1])["reports"]["dropped"]


def start_redirector(tmp: Path, key: str, *extra: str) -> tuple[Proc, int, Client]:
    red = Proc(tmp, "redirector", ["redirector", "serve", "--key-file", key, "--listen", "127.0.0.1:0/udp",
                                   "--http", "127.0.0.1:0", *extra])
    m = red.wait_for(r"reports on 127\.0\.0\.1:(\d+)/udp, clients on http://127\.0\.0\.1:(\d+)/redirect")
    return red, int(m.group(1)), Client(int(m.group(2)))


def start_agent(tmp: Path, name: str, page: StatPage, key: str, targets: list[int], *extra: str,
                env: dict[str, str] | None = None) -> Proc:
    args = ["agent", "serve", "--bind", "127.0.0.1", "--port", str(free_port()), "--stat-url", page.url,
            "--interval", "0.1", "--cpu", "0", "--band-in", "0", "--band-out", "0",
            "--report-key-file", key, "--report-interval", str(INTERVAL), *extra]
    for t in targets:
        args += ["--report-to", f"127.0.0.1:{t}"]
    a = Proc(tmp, name, args, env)
    a.wait_for("reporting as")
    return a


def test_three_edges_report_and_clients_go_to_the_least_loaded(tmp_path: Path) -> None:
    key = secret_file(tmp_path, "key", "shared-key-0123456789abcdef")
    token = secret_file(tmp_path, "token", TOKEN)
    pages = {"edge-a": StatPage(stat(50)), "edge-b": StatPage(stat(10)), "edge-c": StatPage(stat(80))}
    addr = {"edge-a": "192.0.2.1", "edge-b": "192.0.2.2", "edge-c": "192.0.2.3"}
    tap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # sees edge-a's real datagrams
    tap.bind(("127.0.0.1", 0))
    tap.settimeout(10)
    procs: list[Proc] = []
    try:
        red, udp, client = start_redirector(tmp_path, key, "--admin-token-file", token)
        procs.append(red)
        for eid, page in pages.items():
            targets = [udp, tap.getsockname()[1]] if eid == "edge-a" else [udp]
            procs.append(start_agent(tmp_path, eid, page, key, targets, "--edge-id", eid,
                                     "--redirect-address", addr[eid]))
        a, b, c = procs[1:]

        # An edge appears with its first report; the least loaded is handed out.
        until(lambda: set(client.servers()) == set(pages), "three edges")
        assert client.redirect() == addr["edge-b"]
        doc = client.servers()["edge-b"]
        assert doc["subscribers"] == 10 and doc["limits"]["subscribers"] == 100 and doc["state"] == "up"

        # Loads change: the answer follows within a report or two.
        captured = tap.recv(2048)                 # an authentic datagram of edge-a (50 subscribers)
        pages["edge-b"].text = stat(95)
        pages["edge-a"].text = stat(5)
        until(lambda: client.redirect() == addr["edge-a"], "edge-a, now the least loaded")

        # Forged, stale and replayed datagrams change nothing.
        def changed() -> dict | None:
            view = client.servers()
            return view if (view["edge-a"]["subscribers"], view["edge-b"]["subscribers"]) == (5, 95) else None

        good_view = until(changed, "edge-a reports 5 and edge-b 95")
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        forged = wire.Report("edge-evil", "203.0.113.66", figures={"subscribers": 0},
                             limits={"subscribers": 100})
        sender.sendto(wire.encode(forged, b"not-the-key-0123456789", 10**17), ("127.0.0.1", udp))
        sender.sendto(wire.encode(forged, b"shared-key-0123456789abcdef", 10**17, now=time.time() - 60),
                      ("127.0.0.1", udp))
        sender.sendto(captured, ("127.0.0.1", udp))   # edge-a at 50, from before
        tampered = bytearray(captured)
        tampered[-40] ^= 1
        sender.sendto(bytes(tampered), ("127.0.0.1", udp))
        sender.close()
        until(lambda: client.dropped() == {"bad signature": 2, "stale": 1, "replayed": 1}, "four drops")
        view = client.servers()
        assert set(view) == set(good_view) == set(pages)
        assert view["edge-a"]["subscribers"] == 5          # not reverted to 50 by the replay
        assert client.redirect() == addr["edge-a"]

        # The admin API: 401 without the token; drain takes an edge out, ready brings it back.
        assert client.request("POST", "/servers/edge-a/drain")[0] == 401
        assert client.request("POST", "/servers/edge-a/drain", Authorization="Bearer wrong")[0] == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert client.request("POST", "/servers/edge-a/drain", **auth)[0] == 200
        assert client.servers()["edge-a"]["state"] == "draining"
        assert {client.redirect() for _ in range(5)} == {addr["edge-c"]}   # b is at 95/100 + hand-outs
        assert client.request("POST", "/servers/edge-a/ready", **auth)[0] == 200
        assert client.redirect() == addr["edge-a"]

        # An edge that stops says so (SIGTERM: a last report, "down"), then leaves.
        pages["edge-b"].text = stat(0)
        until(lambda: client.servers()["edge-b"]["subscribers"] == 0, "edge-b reports 0")
        assert b.stop() == 0
        until(lambda: client.servers().get("edge-b", {}).get("state") in ("down", None), "edge-b down")
        assert client.redirect() != addr["edge-b"]
        until(lambda: "edge-b" not in client.servers(), "edge-b removed")

        # An edge that dies (SIGKILL: no last word) is removed after three missed reports.
        c.stop(signal.SIGKILL)
        until(lambda: "edge-c" not in client.servers(), "edge-c removed")
        assert set(client.servers()) == {"edge-a"}

        a.stop()
        until(lambda: client.redirect().startswith("503"), "no edge left")
        status, body = client.request("GET", "/redirect")
        assert status == 503 and body.startswith("error: no edge")
        assert red.stop() == 0
    finally:
        for p in procs:
            p.stop(signal.SIGKILL)
        for page in pages.values():
            page.close()
        tap.close()


def test_no_server_info_and_no_admin_token(tmp_path: Path) -> None:
    key = secret_file(tmp_path, "key", "shared-key-0123456789abcdef")
    red, udp, client = start_redirector(tmp_path, key, "--no-server-info")
    try:
        assert client.request("GET", "/servers")[0] == 404
        assert client.request("POST", "/servers/x/drain", Authorization="Bearer whatever-0123456789")[0] == 403
        status, body = client.request("GET", "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert client.request("GET", "/redirect", Accept="application/json") == (
            503, '{"error":"no edge is reporting"}\n')
        assert "server info off" in red.text() and "admin API off" in red.text()
    finally:
        assert red.stop() == 0


class FakeMetadata:
    """IMDSv2 on loopback: a token from PUT, required on every GET (as EC2 with IMDSv2 required)."""

    def __init__(self, values: dict[str, str]):
        token = "tok-123"

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802
                ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                self._send(200 if ok else 400, token if ok else "")

            def do_GET(self) -> None:  # noqa: N802
                if self.headers.get("X-aws-ec2-metadata-token") != token:
                    return self._send(401, "")
                value = values.get(self.path.removeprefix("/latest/meta-data/"))
                self._send(200 if value is not None else 404, value or "")

            def _send(self, code: int, body: str) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_address_and_id_from_instance_metadata(tmp_path: Path) -> None:
    imds = FakeMetadata({"public-ipv4": "198.51.100.7", "instance-id": "i-0123456789abcdef0"})
    assert report.redirect_address(None, imds.url) == "198.51.100.7"
    assert report.edge_id(None, imds.url) == "i-0123456789abcdef0"
    assert report.redirect_address("edge.example.com", imds.url) == "edge.example.com"
    key = secret_file(tmp_path, "key", "shared-key-0123456789abcdef")
    page = StatPage(stat(1))
    procs: list[Proc] = []
    try:
        red, udp, client = start_redirector(tmp_path, key)
        procs.append(red)
        procs.append(start_agent(tmp_path, "edge", page, key, [udp], env={"AWSLB_METADATA_URL": imds.url}))
        until(lambda: client.servers().get("i-0123456789abcdef0"), "the instance reporting")
        assert client.redirect() == "198.51.100.7"
    finally:
        for p in procs:
            p.stop(signal.SIGKILL)
        page.close()
        imds.close()


def test_no_public_address_is_a_clear_error(tmp_path: Path) -> None:
    imds = FakeMetadata({"instance-id": "i-0123456789abcdef0"})   # an instance without a public IPv4
    key = secret_file(tmp_path, "key", "shared-key-0123456789abcdef")
    try:
        r = subprocess.run([sys.executable, "-m", "awslb", "agent", "serve", "--report-to", "127.0.0.1:1934",
                            "--report-key-file", key], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env={**os.environ, "AWSLB_METADATA_URL": imds.url})
        assert r.returncode == 2
        assert r.stderr.startswith("error: --redirect-address: not given, and the instance metadata has no "
                                   "public IPv4 (public-ipv4: HTTP 404)")
        assert "Traceback" not in r.stderr
    finally:
        imds.close()
