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


def test_more_sources_than_servers_warns(cli) -> None:
    r = cli("haproxy", "config", *SERVERS, "--source-address", "10.1.0.1", "--source-address", "10.1.0.2",
            "--source-address", "10.1.0.3")
    assert r.exit_code == 0
    assert "unused: 10.1.0.3" in r.stderr
    assert "source 10.1.0.3" not in r.stdout


def test_flags_override_the_stack_file(cli) -> None:
    r = cli("haproxy", "config", "-f", str(ROOT / "examples" / "haproxy.toml"), "--balance", "leastconn",
            "--no-sticky", "--server", "wcs3_ws=172.31.40.99:8080")
    assert r.exit_code == 0, r.stderr
    assert "balance leastconn" in r.stdout and "cookie SERVERID" not in r.stdout
    names = [ln.split()[1] for ln in r.stdout.splitlines() if ln.strip().startswith("server wcs") and "wcs_web" not in ln]
    assert names == ["wcs1_ws", "wcs2_ws", "wcs3_ws"]


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
