"""`awslb redirector serve|keygen` and `awslb agent serve --report-to`: every bad flag is one line
naming it, exit 2 (flag) or 4 (a key or token file); nothing listens, nothing is sent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def key(tmp_path: Path) -> str:
    f = tmp_path / "key"
    f.write_text("shared-key-0123456789abcdef\n")
    f.chmod(0o600)
    return str(f)


def one_error(r, code: int, needle: str) -> None:
    assert r.exit_code == code, r.stderr
    assert r.stderr.startswith("error: ") and needle in r.stderr.splitlines()[0], r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error:")]) == 1
    assert "Traceback" not in r.stderr + r.stdout


@pytest.mark.parametrize("args, code, needle", [
    ([], 2, "--key-file: required"),
    (["--listen", "0.0.0.0:1934/tcp"], 2, "--listen: only /udp"),
    (["--listen", "localhost:1934/udp"], 2, "--listen: not ADDRESS:PORT"),
    (["--listen", "::1934/udp"], 2, "--listen: write an IPv6 address in brackets"),
    (["--http", "0.0.0.0:99999"], 2, "--http: the port must be"),
    (["--http", "0.0.0.0"], 2, "--http: not ADDRESS:PORT"),
    (["--max-age", "0.5"], 2, "--max-age: from 1 to 300"),
    (["--max-edges", "0"], 2, "--max-edges"),
    (["--weight", "memory=1"], 2, "--weight: FIGURE=W"),
    (["--weight", "cpu=x"], 2, "--weight: cpu: not a number"),
    (["--weight", "cpu=-1"], 2, "--weight: cpu: from 0 to 1000"),
    (["--weight", "cpu=0", "--weight", "publishers=0", "--weight", "subscribers=0", "--weight", "hls=0",
      "--weight", "band_in=0", "--weight", "band_out=0"], 2, "--weight: at least one"),
    (["--key-file", "/nonexistent/key"], 4, "--key-file: cannot read /nonexistent/key"),
])
def test_redirector_serve_flags(cli, key: str, args: list[str], code: int, needle: str) -> None:
    given = args if args == [] or args[0] == "--key-file" else ["--key-file", key, *args]
    one_error(cli("redirector", "serve", *given), code, needle)


def test_key_and_token_files_are_checked(cli, tmp_path: Path, key: str) -> None:
    open_key = tmp_path / "open"
    open_key.write_text("shared-key-0123456789abcdef\n")
    open_key.chmod(0o644)
    one_error(cli("redirector", "serve", "--key-file", str(open_key)), 4, "--key-file: ")
    short = tmp_path / "short"
    short.write_text("abc\n")
    short.chmod(0o600)
    one_error(cli("redirector", "serve", "--key-file", key, "--admin-token-file", str(short)), 4,
              "--admin-token-file: ")


@pytest.mark.parametrize("args, code, needle", [
    (["--report-to", "127.0.0.1:1934"], 2, "--report-key-file: required with --report-to"),
    (["--report-key-file", "KEY"], 2, "--report-key-file: only with --report-to"),
    (["--redirect-address", "192.0.2.1"], 2, "--redirect-address: only with --report-to"),
    (["--report-to", "127.0.0.1", "--report-key-file", "KEY"], 2, "--report-to: not HOST:PORT"),
    (["--report-to", "127.0.0.1:0", "--report-key-file", "KEY"], 2, "--report-to: not HOST:PORT"),
    (["--report-to", "a_b:1934", "--report-key-file", "KEY"], 2, "--report-to: not an IP address or host"),
    (["--report-to", "127.0.0.1:1934", "--report-to", "127.0.0.1:1934", "--report-key-file", "KEY"], 2,
     "--report-to: the same redirector is given twice"),
    (["--report-to", "127.0.0.1:1934", "--report-key-file", "KEY", "--report-interval", "61"], 2,
     "--report-interval: from 0.05 to 60"),
    (["--report-to", "127.0.0.1:1934", "--report-key-file", "KEY", "--redirect-address", "x y"], 2,
     "--redirect-address: not an IP address or host name"),
    (["--report-to", "127.0.0.1:1934", "--report-key-file", "KEY", "--edge-id", "a/b"], 2, "--edge-id: "),
    (["--report-to", "127.0.0.1:1934", "--report-key-file", "KEY", "--report-app", "a b"], 2, "--report-app: "),
    (["--report-to", "127.0.0.1:1934", "--report-key-file", "/nonexistent"], 4, "--report-key-file: cannot read"),
])
def test_agent_report_flags(cli, key: str, args: list[str], code: int, needle: str) -> None:
    one_error(cli("agent", "serve", *[key if a == "KEY" else a for a in args]), code, needle)


def test_keygen_writes_a_private_key_once(cli, tmp_path: Path) -> None:
    out = tmp_path / "k"
    r = cli("redirector", "keygen", "-o", str(out))
    assert r.exit_code == 0 and "mode 0600" in r.stderr
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    from awslb.node import wire

    assert len(wire.read_secret(str(out))) >= 40
    before = out.read_text()
    one_error(cli("redirector", "keygen", "-o", str(out)), 4, "--out: ")
    assert out.read_text() == before


def test_help_of_every_command() -> None:
    from tests.conftest import run_awslb

    for args in (["redirector", "--help"], ["redirector", "serve", "--help"], ["redirector", "keygen", "--help"],
                 ["agent", "serve", "--help"]):
        r = run_awslb(*args)
        assert r.returncode == 0 and "Usage:" in r.stdout, args
    assert "--report-to" in run_awslb("agent", "serve", "--help").stdout
