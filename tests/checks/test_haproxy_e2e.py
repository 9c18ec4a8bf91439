"""End to end on loopback: the real haproxy with a generated config, two stand-in WCS servers
(WebSocket + stat page), two `awslb agent serve` processes.

The servers listen on 127.0.0.2 and 127.0.0.3 (same ports, like two hosts), so the config is
rendered by the CLI exactly as for real servers. HAProxy connects from the source addresses
127.0.0.4/127.0.0.5 (seed 004); the stand-ins record the peer address they see.
Everything is bounded: waits poll HAProxy's admin socket with a deadline.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.sync.server import serve

from tests.checks.tls import self_signed_pem
from tests.conftest import ROOT, require_binary, run_awslb

pytestmark = pytest.mark.slow

HOSTS = {"wcs_a": "127.0.0.2", "wcs_b": "127.0.0.3"}
SOURCES = ["127.0.0.4", "127.0.0.5"]
DEADLINE = 20.0


def free_port(hosts: list[str]) -> int:
    """A port free on every one of ``hosts`` (bounded tries)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        ok = True
        for h in hosts:
            with socket.socket() as t:
                try:
                    t.bind((h, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no common free port")


def wait_for(what: str, cond: Callable[[], bool], deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class StandIn:
    """A stand-in WCS server: WebSocket on host:ws_port, stat page on host:stat_port."""

    def __init__(self, name: str, host: str, ws_port: int, stat_port: int):
        self.name, self.host = name, host
        self.subscribers = 0
        self.live = 0
        self.seen: list[dict] = []
        lock = threading.Lock()
        me = self

        def handler(ws) -> None:
            info = {"server": name, "client_ip": ws.request.headers.get("X-Client-IP"),
                    "peer": ws.remote_address[0]}
            with lock:
                me.live += 1
                me.seen.append(info)
            try:
                ws.send(json.dumps(info))
                for _ in ws:  # until the client closes
                    pass
            except ConnectionClosed:  # haproxy stopped between tests: not the stand-in's business
                pass
            finally:
                with lock:
                    me.live -= 1

        self.ws = serve(handler, host, ws_port)
        threading.Thread(target=self.ws.serve_forever, daemon=True).start()

        class Stat(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = ("-----Connection Stats----\n"
                        f"connections={me.live}\nconnections_websocket={me.live}\n"
                        "----Stream Stats---\n"
                        f"streams webrtc_in=0\nstreams_webrtc_out={me.subscribers}\nstreams_hls=0\n").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.stat = ThreadingHTTPServer((host, stat_port), Stat)
        threading.Thread(target=self.stat.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.ws.shutdown()
        self.stat.shutdown()
        self.stat.server_close()


class WebPage:
    """The nginx of the guide (Web SDK examples): anything that is not a WebSocket lands here."""

    def __init__(self) -> None:
        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = b"web sdk examples"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Farm:
    """Two stand-ins, two agents, one haproxy at a time."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        hosts = list(HOSTS.values())
        self.ws_port = free_port(hosts)
        self.stat_port = free_port(hosts)
        self.agent_port = free_port(hosts)
        self.servers = {n: StandIn(n, h, self.ws_port, self.stat_port) for n, h in HOSTS.items()}
        self.web = WebPage()
        self.cert = self_signed_pem(tmp / "cert.pem")
        env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
        self.agents = [
            subprocess.Popen([sys.executable, "-m", "awslb", "agent", "serve", "--bind", h,
                              "--port", str(self.agent_port),
                              "--stat-url", f"http://{h}:{self.stat_port}/?action=stat",
                              "--subscribers", "10", "--cpu", "0", "--band-in", "0", "--band-out", "0",
                              "--interval", "0.2", "--allow", "127.0.0.0/8"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for h in hosts]
        self.haproxy: subprocess.Popen | None = None
        self.front = 0
        self.socket = tmp / "admin.sock"
        self.conns = ExitStack()  # every client connection, closed at the end whatever happens

    def start_haproxy(self, *flags: str) -> None:
        self.stop_haproxy()
        self.front = free_port(["127.0.0.1"])
        cfg = self.tmp / "haproxy.cfg"
        args = ["haproxy", "config", "--foreground", "--bind", "127.0.0.1", "--port", str(self.front),
                "--http-port", "0", "--tls-cert", str(self.cert), "--stats-socket", str(self.socket),
                "--web-backend", f"127.0.0.1:{self.web.port}", "--agent-port", str(self.agent_port),
                "--agent-inter", "200ms", "-o", str(cfg), *flags]
        for name, host in HOSTS.items():
            args += ["--server", f"{name}={host}:{self.ws_port}"]
        for src in SOURCES:
            args += ["--source-address", src]
        out = run_awslb(*args)
        assert out.returncode == 0, out.stderr
        self.haproxy = subprocess.Popen([require_binary("haproxy"), "-db", "-f", str(cfg)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for("haproxy admin socket", lambda: self.socket.exists())
        wait_for("both servers UP and READY", lambda: self.states() == {"wcs_a": "UP", "wcs_b": "UP"})

    def stop_haproxy(self) -> None:
        if self.haproxy is not None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait(10)
            self.haproxy = None
        self.socket.unlink(missing_ok=True)

    def admin(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.socket))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while data := s.recv(65536):
                chunks.append(data)
        return b"".join(chunks).decode()

    def stat(self) -> dict[str, dict[str, str]]:
        """Server name -> its row of `show stat` (status, last_agt, ...)."""
        try:
            lines = self.admin("show stat").splitlines()
        except OSError:
            return {}
        header = lines[0].lstrip("# ").split(",")
        rows = (dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line)
        return {r["svname"]: r for r in rows if r.get("pxname") == "wcs_back" and r.get("svname") in HOSTS}

    def states(self) -> dict[str, str]:
        """Server name -> status: UP, DRAIN (shown as 'DRAIN (agent)'), DOWN, ..."""
        return {name: row["status"].split(" ")[0] for name, row in self.stat().items()}

    def open_ws(self, cookie: str | None = None):
        ctx = ssl.create_default_context(cafile=str(self.cert))
        headers = {"Cookie": cookie} if cookie else None
        ws = self.conns.enter_context(connect(f"wss://127.0.0.1:{self.front}/", ssl=ctx,
                                              server_hostname="localhost", additional_headers=headers,
                                              open_timeout=10))
        info = json.loads(ws.recv(timeout=10))
        return ws, info

    def close(self) -> None:
        self.conns.close()
        self.stop_haproxy()
        for a in self.agents:
            a.terminate()
        for a in self.agents:
            try:
                a.wait(10)
            except subprocess.TimeoutExpired:
                a.kill()
        for s in self.servers.values():
            s.close()
        self.web.close()


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    require_binary("haproxy")
    f = Farm(tmp_path_factory.mktemp("farm"))
    try:
        yield f
    finally:
        f.close()


def test_websockets_spread_then_drain_moves_new_connections(farm: Farm) -> None:
    farm.start_haproxy("--balance", "roundrobin")
    # Everything that is not a WebSocket goes to the web backend (nginx with the SDK examples).
    ctx = ssl.create_default_context(cafile=str(farm.cert))
    with urllib.request.urlopen(f"https://localhost:{farm.front}/", context=ctx, timeout=10) as resp:
        assert resp.read() == b"web sdk examples"

    opened = [farm.open_ws() for _ in range(40)]
    try:
        by_server = Counter(info["server"] for _, info in opened)
        assert set(by_server) == {"wcs_a", "wcs_b"} and min(by_server.values()) >= 10, by_server
        for ws, info in opened:
            # X-Client-IP carries the client's address and port (seed 001).
            ip, _, port = info["client_ip"].rpartition(":")
            assert ip == "127.0.0.1" and int(port) == ws.local_address[1]
        # One source address per server (seed 004): the stand-ins see HAProxy's chosen source.
        peers = {info["server"]: {i["peer"] for i in farm.servers[info["server"]].seen} for _, info in opened}
        assert peers == {"wcs_a": {SOURCES[0]}, "wcs_b": {SOURCES[1]}}
        assert farm.servers["wcs_a"].live + farm.servers["wcs_b"].live == 40

        # wcs_a's stat page crosses the subscriber limit: its agent says drain.
        farm.servers["wcs_a"].subscribers = 12
        wait_for("wcs_a in DRAIN", lambda: farm.states().get("wcs_a") == "DRAIN")
        assert farm.states()["wcs_b"] == "UP"
        # HAProxy shows the agent's reason (after '#') in its check status.
        assert farm.stat()["wcs_a"]["last_agt"] == "via agent : up (subscribers 12 >= 10)"
        more = [farm.open_ws() for _ in range(20)]
        try:
            assert Counter(info["server"] for _, info in more) == {"wcs_b": 20}
        finally:
            for ws, _ in more:
                ws.close()
        # Below the limit again: the agent sends `ready` (`up` alone would leave it drained).
        farm.servers["wcs_a"].subscribers = 0
        wait_for("wcs_a back UP", lambda: farm.states().get("wcs_a") == "UP")
        back = [farm.open_ws() for _ in range(10)]
        try:
            assert {info["server"] for _, info in back} == {"wcs_a", "wcs_b"}
        finally:
            for ws, _ in back:
                ws.close()
    finally:
        for ws, _ in opened:
            ws.close()


def test_sticky_client_returns_to_its_server(farm: Farm) -> None:
    farm.start_haproxy("--sticky", "--balance", "roundrobin")
    ws, first = farm.open_ws()
    set_cookie = ws.response.headers.get("Set-Cookie", "")
    ws.close()
    assert set_cookie.startswith(f"SERVERID={first['server']}"), set_cookie
    cookie = set_cookie.split(";", 1)[0]
    # Without the cookie, round robin alternates; with it, the client comes back every time.
    fresh = set()
    for _ in range(4):
        w, info = farm.open_ws()
        fresh.add(info["server"])
        w.close()
    assert fresh == {"wcs_a", "wcs_b"}
    for _ in range(6):
        w, info = farm.open_ws(cookie)
        assert info["server"] == first["server"]
        w.close()
    # A drained server still takes its persistent clients (HAProxy's DRAIN), not new ones.
    farm.servers[first["server"]].subscribers = 50
    wait_for("sticky server in DRAIN", lambda: farm.states().get(first["server"]) == "DRAIN")
    try:
        w, info = farm.open_ws(cookie)
        assert info["server"] == first["server"]
        w.close()
        other = set()
        for _ in range(4):
            w, info = farm.open_ws()
            other.add(info["server"])
            w.close()
        assert first["server"] not in other
    finally:
        farm.servers[first["server"]].subscribers = 0
        wait_for("sticky server back UP", lambda: farm.states().get(first["server"]) == "UP")
