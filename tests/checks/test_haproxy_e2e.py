"""End to end on loopback: the real haproxy with a generated config, two stand-in WCS servers
(WebSocket + stat page), two `awslb agent serve` processes.

The servers listen on 127.0.0.2 and 127.0.0.3 (same ports, like two hosts), so the config is
rendered by the CLI exactly as for real servers. HAProxy connects from the source addresses
127.0.0.4/127.0.0.5 (seed 004); the stand-ins record the peer address they see.
Everything is bounded: waits poll HAProxy's admin socket with a deadline.

The WebSocket clients are websockets' asyncio clients on one event loop thread, not its
threaded (sync) clients: a sync client reads its TLS socket in a background thread while the
caller writes the upgrade request, and with TLS 1.3 the server's post-handshake session tickets
arrive exactly then. Two threads in one OpenSSL connection is unsupported; now and then the
request was lost (written by SSL_write, never on the wire) and the client timed out waiting
for the handshake response while HAProxy waited for the request (408, cR, <BADREQ>).
asyncio's TLS runs every read and write of a connection on the loop thread.
"""

from __future__ import annotations

import asyncio
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
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
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


def wait_for(what: str, cond: Callable[[], bool], deadline: float = DEADLINE,
             explain: Callable[[], str] = str) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{explain()}")


def haproxy_admin(sock: Path, command: str) -> str:
    """One command on HAProxy's admin socket, and its whole answer."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(sock))
        s.sendall(command.encode() + b"\n")
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
    return b"".join(chunks).decode()


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate, then kill if it does not exit; always reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


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


class Loop:
    """One asyncio event loop in a daemon thread, for the WebSocket clients."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 15.0):
        """Run ``coro`` on the loop and wait for its result (bounded)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


class Client:
    """A WebSocket client connection, used from the test's (synchronous) thread."""

    def __init__(self, loop: Loop, conn: ClientConnection):
        self.loop, self.conn = loop, conn
        self.local_address = conn.local_address
        self.response = conn.response

    def recv(self, timeout: float) -> str | bytes:
        return self.loop.run(asyncio.wait_for(self.conn.recv(), timeout), timeout + 5)

    def close(self) -> None:
        self.loop.run(self.conn.close())


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
        self.loop = Loop()
        env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
        # `--over drain`: these tests are about HAProxy's DRAIN (the choice beside the default
        # `down`, which tests/checks/test_haproxy_dns_e2e.py covers).
        # The agent waits at most one interval for the stat page, and one late page is a `down`.
        # The stand-ins answer from this busy process (~200 threads); 0.2 s was missed on a loaded
        # 2-core machine (wcs_b DOWN "stat page: timed out", then 503). 1 s is still quick here.
        self.agents = [
            subprocess.Popen([sys.executable, "-m", "awslb", "agent", "serve", "--bind", h,
                              "--port", str(self.agent_port),
                              "--stat-url", f"http://{h}:{self.stat_port}/?action=stat",
                              "--subscribers", "10", "--cpu", "0", "--band-in", "0", "--band-out", "0",
                              "--interval", "1", "--allow", "127.0.0.0/8", "--over", "drain"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for h in hosts]
        self.haproxy: subprocess.Popen | None = None
        self.haproxy_log = tmp / "haproxy.stderr"
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
        # stderr to a file, not an unread pipe (a full pipe would block HAProxy); shown on failures.
        with self.haproxy_log.open("ab") as log:
            self.haproxy = subprocess.Popen([require_binary("haproxy"), "-db", "-f", str(cfg)],
                                            stdout=subprocess.DEVNULL, stderr=log)
        wait_for("haproxy admin socket", lambda: self.socket.exists(), explain=self.diagnostics)
        # Fully UP (not "UP 1/3", HAProxy's state before the first check) with the agent's first
        # verdict in: a connection opened earlier could meet a weight or state about to change.
        wait_for("both servers UP and READY, health and agent checks done", self.ready, explain=self.diagnostics)

    def stop_haproxy(self) -> None:
        if self.haproxy is not None:
            stop_process(self.haproxy)
            self.haproxy = None
        self.socket.unlink(missing_ok=True)

    def admin(self, command: str) -> str:
        return haproxy_admin(self.socket, command)

    def stat(self) -> dict[str, dict[str, str]]:
        """Line name (SERVER_s1, SERVER_s2: one per source address) -> its row of `show stat`."""
        try:
            lines = self.admin("show stat").splitlines()
        except OSError:
            return {}
        header = lines[0].lstrip("# ").split(",")
        rows = (dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line)
        return {r["svname"]: r for r in rows
                if r.get("pxname") == "wcs_back" and r.get("svname", "").rsplit("_s", 1)[0] in HOSTS}

    def ready(self) -> bool:
        rows = self.stat()
        return set(rows) == {f"{h}_s{k}" for h in HOSTS for k in range(1, len(SOURCES) + 1)} and all(
            r["status"] == "UP" and r["check_status"] == "L4OK" and r["agent_status"] == "L7OK" for r in rows.values())

    def states(self) -> dict[str, str]:
        """Server name -> status of its lines: UP, DRAIN (shown as 'DRAIN (agent)'), DOWN, ...
        ('DRAIN/UP' while its lines disagree)."""
        seen: dict[str, set[str]] = {}
        for line, row in self.stat().items():
            seen.setdefault(line.rsplit("_s", 1)[0], set()).add(row["status"].split(" ")[0])
        return {name: "/".join(sorted(states)) for name, states in seen.items()}

    def diagnostics(self) -> str:
        """HAProxy's view, for failure messages: its stderr and the state of its servers."""
        try:
            stat = self.admin("show stat")
        except OSError as exc:
            stat = f"(admin socket: {exc})"
        log = self.haproxy_log.read_text(errors="replace")[-4000:] if self.haproxy_log.exists() else ""
        return f"haproxy stderr:\n{log}\nshow stat:\n{stat}"

    def open_ws(self, cookie: str | None = None) -> tuple[Client, dict]:
        ctx = ssl.create_default_context(cafile=str(self.cert))
        headers = {"Cookie": cookie} if cookie else None

        async def opening() -> ClientConnection:
            return await connect(f"wss://127.0.0.1:{self.front}/", ssl=ctx, server_hostname="localhost",
                                 additional_headers=headers, open_timeout=10)

        try:
            conn = self.loop.run(opening())
        except Exception as exc:
            raise AssertionError(f"WebSocket through HAProxy failed: {exc!r}\n{self.diagnostics()}") from exc
        ws = Client(self.loop, conn)
        self.conns.callback(ws.close)
        info = json.loads(ws.recv(timeout=10))
        return ws, info

    def close(self) -> None:
        # Every step runs even when an earlier one raises: no haproxy or agent is left behind.
        with ExitStack() as stack:
            stack.callback(self.web.close)
            for s in self.servers.values():
                stack.callback(s.close)
            for a in self.agents:
                stack.callback(stop_process, a)
            stack.callback(self.stop_haproxy)
            stack.callback(self.loop.close)
            stack.callback(self.conns.close)


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
        # One line per (server, source address) (seed 004): each stand-in sees both sources.
        peers = {info["server"]: {i["peer"] for i in farm.servers[info["server"]].seen} for _, info in opened}
        assert peers == {"wcs_a": set(SOURCES), "wcs_b": set(SOURCES)}
        assert farm.servers["wcs_a"].live + farm.servers["wcs_b"].live == 40

        # wcs_a's stat page crosses the subscriber limit: its agent says drain.
        farm.servers["wcs_a"].subscribers = 12
        wait_for("wcs_a in DRAIN", lambda: farm.states().get("wcs_a") == "DRAIN",
                 explain=farm.diagnostics)
        assert farm.states()["wcs_b"] == "UP"
        # HAProxy shows the agent's reason (after '#') in its check status.
        assert farm.stat()["wcs_a_s1"]["last_agt"] == "via agent : up (subscribers 12 >= 10)"
        more = [farm.open_ws() for _ in range(20)]
        try:
            assert Counter(info["server"] for _, info in more) == {"wcs_b": 20}
        finally:
            for ws, _ in more:
                ws.close()
        # Below the limit again: the agent sends `ready` (`up` alone would leave it drained).
        farm.servers["wcs_a"].subscribers = 0
        wait_for("wcs_a back UP", lambda: farm.states().get("wcs_a") == "UP",
                 explain=farm.diagnostics)
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
    wait_for("sticky server in DRAIN", lambda: farm.states().get(first["server"]) == "DRAIN",
             explain=farm.diagnostics)
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
        wait_for("sticky server back UP", lambda: farm.states().get(first["server"]) == "UP",
                 explain=farm.diagnostics)
