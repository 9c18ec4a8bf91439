"""`awslb wizard` as users run it: under a real pseudo-terminal, and its refusals without one."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from awslb import spec
from tests.conftest import ROOT


def _own_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty (stdin), so
    a typed Ctrl-C sends SIGINT as in a real terminal."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """`python -m awslb ARGS` with a pseudo-terminal as stdin, stdout and stderr."""

    def __init__(self, *args: str, cwd: Path, stdout: Path | None = None, term: str = "dumb",
                 extra_env: dict[str, str] | None = None):
        env = dict(os.environ)
        env.update(PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""), NO_COLOR="1",
                   TERM=term, COLUMNS="200", LINES="60")
        env.update(extra_env or {})
        primary, secondary = pty.openpty()
        sink = open(stdout, "wb") if stdout else None  # noqa: SIM115 - closed right after the start
        self.proc = subprocess.Popen([sys.executable, "-m", "awslb", *args], stdin=secondary,
                                     stdout=sink or secondary, stderr=secondary, cwd=cwd, env=env,
                                     close_fds=True, preexec_fn=_own_terminal)
        os.close(secondary)
        if sink:
            sink.close()
        self.fd = primary
        self.seen = ""
        self.pos = 0

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the process closed the terminal
            chunk = b""
        if not chunk:
            return False
        self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def expect(self, text: str, timeout: float = 120) -> str:
        """Wait for ``text`` after what was matched before; return what came before it."""
        deadline = time.monotonic() + timeout  # a safety net for a hung child, not a timing check
        while text not in self.seen[self.pos:]:
            if not self._read(deadline):
                raise AssertionError(f"never saw {text!r}; the terminal shows:\n{self.seen[self.pos:]}")
        at = self.seen.index(text, self.pos)
        before = self.seen[self.pos:at]
        self.pos = at + len(text)
        return before

    def answer(self, prompt: str, line: str) -> None:
        self.expect(prompt)
        os.write(self.fd, line.encode() + b"\r")

    def finish(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        try:
            return self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            os.close(self.fd)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def terminal(tmp_path: Path):
    opened: list[Terminal] = []

    def start(*args: str, stdout: Path | None = None) -> Terminal:
        t = Terminal(*args, cwd=tmp_path, stdout=stdout)
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()


def answer_alb_existing(t: Terminal, stack: str) -> None:
    t.answer("Stack name", stack)
    t.answer("Setup", "2")
    t.answer("AWS region", "")
    t.answer("WebSocket port", "eighty")  # a bad answer: the error, then the same question again
    t.expect("error: load_balancer.ws_port: not a whole number: 'eighty'")
    t.answer("WebSocket port", "8080")
    t.answer("HTTP port of the stat page", "")
    t.answer("Health check port", "")
    t.answer("Health check path", "")
    t.answer("Sticky sessions", "")
    t.answer("WebSocket over TLS", "y")
    t.answer("TLS port", "")
    t.answer("Certificate", "media.example.com")
    t.answer("Existing servers", "wcs-configured")
    t.answer("Open SSH", "203.0.113.0/24")


def test_wizard_under_a_terminal_writes_a_stack_file(terminal, tmp_path: Path) -> None:
    out = tmp_path / "stack.toml"
    stdout = tmp_path / "stdout"  # `awslb wizard > file`: every question still on the terminal
    t = terminal("wizard", "-o", str(out), stdout=stdout)
    answer_alb_existing(t, "wcs-pty")
    t.expect(f"wrote {out}")
    t.answer("Run `awslb up -f", "")  # default: no
    t.expect("apply it later with: awslb up -f")
    assert t.finish() == 0, t.seen
    assert stdout.read_bytes() == b""
    s = spec.load(out)
    assert s.name == "wcs-pty" and s.stack.ssh_cidr == "203.0.113.0/24"
    assert s.image is None and s.launch is None and s.autoscaling is None
    lb = s.load_balancer
    assert lb is not None and lb.type == "application" and lb.targets == ["wcs-configured"]
    assert (lb.ws_port, lb.http_port, lb.health_check.port, lb.health_check.path) == (8080, 8081, 8081, "/?action=stat")
    assert lb.https is not None and (lb.https.port, lb.https.domain) == (8443, "media.example.com")


def test_wizard_refuses_to_overwrite_without_confirmation(terminal, tmp_path: Path) -> None:
    out = tmp_path / "stack.toml"
    out.write_text("# mine\n")
    t = terminal("wizard", "-o", str(out))
    t.answer("stack.toml exists: overwrite it?", "")
    t.expect("error: -o: ")
    assert t.finish() == 2
    assert out.read_text() == "# mine\n"


def test_wizard_runs_up_in_the_sandbox_when_asked(terminal, tmp_path: Path) -> None:
    out = tmp_path / "edge.toml"
    t = terminal("--sandbox", "wizard", "-o", str(out))
    answer_alb_existing(t, "wcs-wiz")
    t.expect(f"wrote {out}")
    t.answer("Run `awslb --sandbox up -f", "y")  # the follow-up keeps --sandbox
    # A plan that only creates applies without a second question (up asks on deletes/replacements).
    t.expect("change(s) applied")
    assert "Apply these changes?" not in t.seen
    assert t.finish() == 0, t.seen


def test_wizard_without_a_terminal_is_a_one_line_usage_error(cli) -> None:
    r = cli("wizard", "-o", "stack.toml")
    assert r.exit_code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: wizard: stdin is not a terminal") and "awslb up -f" in lines[0]
    assert not Path("stack.toml").exists()


def test_wizard_prompts_on_stderr_and_keeps_stdout_clean(cli, monkeypatch, tmp_path: Path) -> None:
    # CliRunner's stdin is not a terminal: say it is, to see where every byte goes.
    import awslb.cli.wizard as cli_wizard

    monkeypatch.setattr(cli_wizard, "interactive", lambda: True)
    answers = ["wcs-out", "2", "", "", "", "", "", "", "", "i-0123456789abcdef0", "", ""]
    r = cli("wizard", "-o", "out.toml", input="\n".join(answers) + "\n")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert "Stack name [wcs]:" in r.stderr and "wrote out.toml" in r.stderr
    assert spec.load(tmp_path / "out.toml").load_balancer.targets == ["i-0123456789abcdef0"]  # type: ignore[union-attr]
