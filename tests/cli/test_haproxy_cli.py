"""`awslb haproxy config`, `awslb agent check|serve`, `awslb wcs properties`: exit codes and streams."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT

SERVERS = ["--server", "a=10.0.0.1:8080", "--server", "b=10.0.0.2:8080"]


def test_config_needs_servers(cli) -> None:
    r = cli("haproxy", "config", "--no-tls")
    assert r.exit_code == 2 and "--server or --stack" in r.stderr and r.stdout == ""


@pytest.mark.parametrize("args, code, message", [
    (["--server", "nope"], 2, "error: --server: expected NAME=HOST:PORT"),
    (["--server", "a=10.0.0.1:99999"], 2, "error: --server: not HOST:PORT"),
    (SERVERS + ["--source-address", "eth0:1"], 4, "error: --source-address: not an IP address"),
    (SERVERS + ["--balance", "source"], 4, "error: --balance"),
    (SERVERS + ["--weight", "300"], 4, "error: --weight"),
    (SERVERS + ["-f", "missing.toml"], 4, "error: -f: no such stack file"),
])
def test_config_errors(cli, args, code, message) -> None:
    r = cli("haproxy", "config", *args)
    assert r.exit_code == code, r.stderr
    assert r.stderr.startswith(message), r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_config_to_a_file(cli, tmp_path: Path) -> None:
    out = tmp_path / "haproxy.cfg"
    r = cli("haproxy", "config", *SERVERS, "--http-port", "0", "-o", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    assert f"wrote {out}" in r.stderr
    text = out.read_text()
    assert "server a 10.0.0.1:8080" in text and "redirect scheme" not in text


def test_every_server_gets_a_line_per_source(cli) -> None:
    r = cli("haproxy", "config", *SERVERS, "--source-address", "10.1.0.1", "--source-address", "10.1.0.2",
            "--source-address", "10.1.0.3", "--maxconn", "300")
    assert r.exit_code == 0 and r.stderr == ""
    lines = [ln.split() for ln in r.stdout.splitlines() if ln.strip().startswith("server ") and "wcs_web" not in ln]
    assert [(w[1], w[2], w[-1]) for w in lines] == [
        (f"{n}_s{k}", f"{ip}:8080", f"10.1.0.{k}") for n, ip in (("a", "10.0.0.1"), ("b", "10.0.0.2"))
        for k in (1, 2, 3)]
    assert all(w[w.index("maxconn") + 1] == "100" for w in lines)  # 300 per server over 3 lines
    assert "    maxconn 700\n" in r.stdout  # 2 servers x 3 lines x 100 + the web backend's 100


def test_discover_renders_server_template_mode(cli) -> None:
    r = cli("haproxy", "config", "--discover", "Servers.Media.Internal", "--slots", "12", "--no-tls")
    assert r.exit_code == 0, r.stderr
    assert "server-template ws 12 servers.media.internal:8080 resolvers awslb init-addr none" in r.stdout
    assert "nameserver ns1 169.254.169.253:53" in r.stdout and "    maxconn 1300\n" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--discover", "bad_name"], "error: --discover: not a DNS name"),
    (["--discover", "a.internal", "--nameserver", "10.0.0.2"], "error: --nameserver: not IP:PORT"),
    (["--discover", "a.internal", "--nameserver", "10.0.0.2:53\nserver x 1.2.3.4:80"],
     "error: --nameserver: holds a control character"),
    (["--discover", "a.internal", "--slots", "0"], "error: --slots"),
    (["--discover", "a.internal", "--cookie-key", "a b", "--sticky"], "error: --cookie-key"),
    (["--discover", "a.internal", "--dns-hold-valid", "10 s"], "error: --dns-hold-valid: not an HAProxy time"),
    (["--discover", "a.internal", *SERVERS], "error: --discover: give servers or discover"),
])
def test_discover_errors_name_the_flag(cli, args, message) -> None:
    r = cli("haproxy", "config", "--no-tls", *args)
    assert r.exit_code == 4 and r.stderr.startswith(message), r.stderr  # like the other spec-checked flags
    assert "Traceback" not in r.stderr and r.stdout == "" and r.stderr.count("\n") == 1


def test_flags_override_the_stack_file(cli) -> None:
    r = cli("haproxy", "config", "-f", str(ROOT / "examples" / "haproxy.toml"), "--balance", "leastconn",
            "--no-sticky", "--server", "wcs3_ws=172.31.40.99:8080")
    assert r.exit_code == 0, r.stderr
    assert "balance leastconn" in r.stdout and "cookie SERVERID" not in r.stdout
    names = [ln.split()[1] for ln in r.stdout.splitlines() if ln.strip().startswith("server wcs") and "wcs_web" not in ln]
    assert names == [f"wcs{n}_ws_s{k}" for n in (1, 2, 3) for k in (1, 2)]  # the file's two source addresses


def test_wcs_properties(cli) -> None:
    r = cli("wcs", "properties")
    settings = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith("#")]
    assert settings == ["ws.map_custom_headers=true", "ws.ip_forward_header=X-Client-IP"]
    r = cli("wcs", "properties", "--bandwidth-check")
    assert "global_bandwidth_check_enabled=true" in r.stdout.splitlines()


class OneLine:
    """A TCP server on loopback that answers every connection with ``reply``."""

    def __init__(self, reply: bytes):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("reply, code, shown", [
    (b"up ready 80%\n", 0, "weight 80% of the configured weight"),
    (b"80\n", 1, "a weight needs '%'"),
    (b"up 80%", 1, "does not end with a newline"),
    (b"down#gone\n", 1, "put a space before '#'"),
])
def test_agent_check(cli, reply, code, shown) -> None:
    srv = OneLine(reply)
    try:
        r = cli("agent", "check", f"127.0.0.1:{srv.port}")
        assert r.exit_code == code
        assert shown in r.stdout
        assert r.stdout.startswith(f"reply:   {reply.decode()!r}")
    finally:
        srv.close()


def test_agent_check_json(cli) -> None:
    srv = OneLine(b"up drain #cpu 95% >= 90%\n")
    try:
        r = cli("--output", "json", "agent", "check", f"127.0.0.1:{srv.port}")
        data = json.loads(r.stdout)
        assert r.exit_code == 0
        assert (data["health"], data["admin"], data["description"], data["valid"]) == \
            ("up", "drain", "cpu 95% >= 90%", True)
    finally:
        srv.close()


def test_agent_check_refused(cli) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cli("agent", "check", f"127.0.0.1:{port}")
    assert r.exit_code == 1 and r.stderr.startswith(f"error: agent 127.0.0.1:{port}:")
    assert "hint:" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--allow", "not-a-cidr"], "--allow"),
    (["--stat-url", "ftp://x/"], "--stat-url"),
    (["--over", "maint"], "error: --over: down or drain, not 'maint'"),
])
def test_agent_serve_bad_flags(cli, args, message) -> None:
    r = cli("agent", "serve", "--port", "1", *args)
    assert r.exit_code == 2 and message in r.stderr


def test_cli_import_stays_light() -> None:
    code = ("import sys, awslb.cli; "
            "print(sorted(m for m in ('awslb.node.agent', 'awslb.haproxy', 'pydantic', 'boto3', 'asyncio') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
