"""End to end on loopback: HAProxy follows the media servers through DNS alone (issue 13).

A DNS server on 127.0.0.1 (dnslib, tests/checks/dns.py) answers the discover name; HAProxy
runs the config `awslb haproxy config --discover ... --nameserver 127.0.0.1:PORT` renders
(server-template, two source addresses: one backend each). First one stand-in WCS server is
in the answer; then the answer gains a second one, and new WebSockets reach it with no
reload: the same haproxy process, the same config file. Then the second server's agent
(in-process, the default `--over down`) crosses its limit: HAProxy marks it DOWN, its open
WebSocket goes on, and a sticky client holding its cookie is sent to the other server
(seed 001). Last, the record goes (scale-in): the slot empties, the open WebSocket stays.

The stand-ins listen on 127.0.0.2 and 127.0.0.3, HAProxy connects from 127.0.0.4 / 127.0.0.5.
Every wait polls HAProxy's admin socket with a deadline; nothing is timed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from awslb.node import agent
from tests.checks.dns import LoopbackDns
from tests.checks.test_haproxy_e2e import (
    Client,
    Loop,
    StandIn,
    WebPage,
    free_port,
    haproxy_admin,
    stop_process,
    wait_for,
)
from tests.conftest import require_binary

pytestmark = pytest.mark.slow

NAME = "servers.media.internal"
HOSTS = {"wcs_a": "127.0.0.2", "wcs_b": "127.0.0.3"}
SOURCES = ["127.0.0.4", "127.0.0.5"]
BACKENDS = ("wcs_back_s1", "wcs_back_s2")


class InProcessAgent:
    """`awslb agent serve` on a thread of this process (the real Agent, cheaper than a process)."""

    def __init__(self, host: str, port: int, stat_url: str):
        self.agent = agent.Agent(stat_url, agent.Limits(cpu=0, band_in=0, band_out=0, subscribers=10),
                                 interval=1.0, timeout=1.0, allow=agent.parse_allow(["127.0.0.0/8"]))
        ready = threading.Event()
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.agent.serve(host, port, lambda _: ready.set())), daemon=True)
        self.thread.start()
        assert ready.wait(15), "agent did not start"

    def close(self) -> None:
        self.agent.stop()
        self.thread.join(10)


class Tier:
    def __init__(self, tmp: Path, stack: ExitStack):
        hosts = list(HOSTS.values())
        self.tmp = tmp
        self.ws_port, self.stat_port, self.agent_port = (free_port(hosts) for _ in range(3))
        self.servers = {n: StandIn(n, h, self.ws_port, self.stat_port) for n, h in HOSTS.items()}
        for s in self.servers.values():
            stack.callback(s.close)
        self.agents = [InProcessAgent(h, self.agent_port, f"http://{h}:{self.stat_port}/?action=stat")
                       for h in hosts]
        for a in self.agents:
            stack.callback(a.close)
        self.web = WebPage()
        stack.callback(self.web.close)
        self.dns = stack.enter_context(LoopbackDns(NAME))
        self.loop = Loop()
        stack.callback(self.loop.close)
        self.conns = ExitStack()
        stack.callback(self.conns.close)  # runs before the loop closes (LIFO)
        self.socket = tmp / "admin.sock"
        self.cfg = tmp / "haproxy.cfg"
        self.log = tmp / "haproxy.stderr"
        self.front = free_port(["127.0.0.1"])
        self.haproxy: subprocess.Popen | None = None

    def render(self, cli) -> str:
        args = ["haproxy", "config", "--foreground", "--no-tls", "--bind", "127.0.0.1", "--port", str(self.front),
                "--http-port", "0", "--stats-socket", str(self.socket), "--web-backend", f"127.0.0.1:{self.web.port}",
                "--agent-port", str(self.agent_port), "--agent-inter", "200ms", "--sticky",
                "--discover", NAME, "--discover-port", str(self.ws_port), "--slots", "4",
                "--nameserver", f"127.0.0.1:{self.dns.port}", "--dns-hold-valid", "1s", "-o", str(self.cfg)]
        for src in SOURCES:
            args += ["--source-address", src]
        run = cli(*args)
        assert run.exit_code == 0, run.stderr
        return self.cfg.read_text()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.haproxy = subprocess.Popen([require_binary("haproxy"), "-db", "-f", str(self.cfg)],
                                            stdout=subprocess.DEVNULL, stderr=log)
        wait_for("haproxy admin socket", self.socket.exists, explain=self.diagnostics)

    def admin(self, command: str) -> str:
        return haproxy_admin(self.socket, command)

    def slots(self) -> dict[tuple[str, str], dict[str, str]]:
        """(backend, slot) -> its `show stat` row, for the slots that hold an address."""
        try:
            lines = self.admin("show stat").splitlines()
        except OSError:
            return {}
        header = lines[0].lstrip("# ").split(",")
        rows = (dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line)
        return {(r["pxname"], r["svname"]): r for r in rows
                if r.get("pxname") in BACKENDS and r.get("svname", "").startswith("ws_s")
                and r.get("addr", "").split(":")[0] in HOSTS.values()}

    def by_host(self) -> dict[str, dict[str, str]]:
        """Server address -> backend -> status (UP, DOWN, ...), over the slots that hold one."""
        out: dict[str, dict[str, str]] = {}
        for (backend, _), r in self.slots().items():
            out.setdefault(r["addr"].split(":")[0], {})[backend] = r["status"].split(" ")[0]
        return out

    def in_service(self, hosts: set[str]) -> bool:
        """Exactly ``hosts`` hold a slot in every backend, each UP with its agent's verdict in."""
        rows = self.slots().values()
        have = {r["addr"].split(":")[0] for r in rows}
        return have == hosts and len(rows) == len(hosts) * len(BACKENDS) and all(
            r["status"] == "UP" and r["agent_status"] == "L7OK" for r in rows)

    def diagnostics(self) -> str:
        try:
            stat = self.admin("show servers state")
        except OSError as exc:
            stat = f"(admin socket: {exc})"
        log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
        return f"haproxy stderr:\n{log}\nshow servers state:\n{stat}\nDNS queries: {self.dns.queries}"

    def open_ws(self, cookie: str | None = None) -> tuple[Client, dict]:
        headers = {"Cookie": cookie} if cookie else None

        async def opening():
            return await connect(f"ws://127.0.0.1:{self.front}/", additional_headers=headers, open_timeout=10)

        try:
            ws = Client(self.loop, self.loop.run(opening()))
        except Exception as exc:
            raise AssertionError(f"WebSocket through HAProxy failed: {exc!r}\n{self.diagnostics()}") from exc
        self.conns.callback(ws.close)
        return ws, json.loads(ws.recv(timeout=10))


@pytest.fixture
def tier(tmp_path: Path) -> Iterator[Tier]:
    require_binary("haproxy")
    with ExitStack() as stack:
        t = Tier(tmp_path, stack)
        try:
            yield t
        finally:
            if t.haproxy is not None:
                stop_process(t.haproxy)


def test_a_new_server_is_taken_in_by_dns_alone(tier: Tier, cli) -> None:
    a, b = HOSTS["wcs_a"], HOSTS["wcs_b"]
    tier.dns.set([a])
    cfg = tier.render(cli)
    assert f"nameserver ns1 127.0.0.1:{tier.dns.port}" in cfg and cfg.count("server-template ws_s") == 2
    # A server gone from the answer keeps its slot for `hold obsolete` (30 s); 1 s here, before
    # HAProxy starts, so the scale-in step below does not wait half a minute.
    assert "    hold obsolete 30s\n" in cfg
    tier.cfg.write_text(cfg.replace("    hold obsolete 30s\n", "    hold obsolete 1s\n"))
    tier.start()
    assert tier.haproxy is not None
    pid = tier.haproxy.pid
    wait_for("wcs_a in service in both backends", lambda: tier.in_service({a}), explain=tier.diagnostics)

    first = [tier.open_ws() for _ in range(20)]
    assert Counter(info["server"] for _, info in first) == {"wcs_a": 20}
    # Both source addresses are used (the frontend picks a backend at random: 2 x 2^-20 to miss one).
    assert {info["peer"] for _, info in first} == set(SOURCES)

    # Scale out: the name gains a record. No config change, no reload.
    before = tier.cfg.read_bytes()
    tier.dns.set([a, b])
    wait_for("wcs_b taken into service from DNS", lambda: tier.in_service({a, b}), explain=tier.diagnostics)
    more = [tier.open_ws() for _ in range(20)]
    spread = Counter(info["server"] for _, info in more)
    assert spread["wcs_b"] >= 1 and spread["wcs_a"] >= 1, spread
    assert tier.haproxy.poll() is None and tier.haproxy.pid == pid and tier.cfg.read_bytes() == before
    assert "reload" not in tier.log.read_text(errors="replace").lower()

    # A sticky client of wcs_b (the dynamic cookie is the same in both backends): it comes back.
    ws_b, info = next((ws, i) for ws, i in more if i["server"] == "wcs_b")
    cookie = ws_b.response.headers.get("Set-Cookie", "").split(";", 1)[0]
    assert cookie.startswith("SERVERID="), ws_b.response.headers
    for _ in range(6):
        _, again = tier.open_ws(cookie)
        assert again["server"] == "wcs_b"

    # wcs_b over its limit: its agent says `down #...` (the default --over down) and HAProxy
    # marks it DOWN. Its open WebSockets go on; the sticky client is balanced to wcs_a.
    live_b = tier.servers["wcs_b"].live
    tier.servers["wcs_b"].subscribers = 50
    wait_for("wcs_b DOWN in both backends", lambda: tier.by_host().get(b) == dict.fromkeys(BACKENDS, "DOWN"),
             explain=tier.diagnostics)
    rows = [r for r in tier.slots().values() if r["addr"].startswith(b + ":")]
    assert all(r["last_agt"] == "via agent : down (subscribers 50 >= 10)" for r in rows), rows
    assert tier.servers["wcs_b"].live == live_b
    tier.loop.run(_ping(ws_b), timeout=10)  # the open WebSocket still answers
    for _ in range(4):
        _, moved = tier.open_ws(cookie)
        assert moved["server"] == "wcs_a"

    # Scale in: the record goes. HAProxy puts wcs_b's slots in maintenance ("No IP for server")
    # and still does not close its open WebSockets.
    tier.dns.set([a])
    wait_for("wcs_b's slots emptied", lambda: b not in tier.by_host() and tier.in_service({a}),
             explain=tier.diagnostics)
    assert tier.servers["wcs_b"].live == live_b
    tier.loop.run(_ping(ws_b), timeout=10)
    assert tier.haproxy.poll() is None and tier.haproxy.pid == pid


async def _ping(ws: Client) -> None:
    pong = await ws.conn.ping()
    await pong
