"""`--sandbox`: one emulated account that lives between commands, driven through the
installed console script in separate processes, as a newcomer would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

QUICKSTART = ROOT / "examples" / "alb-autoscaling-edge.toml"
pytestmark = pytest.mark.slow


def console_script() -> str:
    """The installed `awslb` (the venv's console script), as the README's quick start runs it."""
    exe = Path(sys.executable).parent / "awslb"
    found = str(exe) if exe.exists() else shutil.which("awslb")
    if found is None:
        pytest.skip("the awslb console script is not installed (pip install -e .)")
    return found


def awslb(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full = dict(os.environ, NO_COLOR="1")
    full.update(env or {})
    return subprocess.run([console_script(), *args], capture_output=True, text=True, env=full, timeout=timeout)


def ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr
    return r


def first_line(r: subprocess.CompletedProcess) -> str:
    return r.stderr.splitlines()[0] if r.stderr else ""


def sandbox_status() -> dict:
    return json.loads(ok(awslb("sandbox", "status", "--output", "json")).stdout)


def test_quick_start_then_step_commands_status_and_down_are_one_account(sandbox_dir: Path) -> None:
    # The README's quick start: `awslb up -f examples/alb-autoscaling-edge.toml --sandbox --yes`.
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": ""}  # no account at all
    r = ok(awslb("up", "-f", str(QUICKSTART), "--sandbox", "--yes", env=env))
    assert first_line(r).startswith("(sandbox)"), r.stderr
    assert "change(s) applied" in r.stderr
    assert "POST / HTTP" not in r.stderr  # the emulator's request log stays in its own file
    info = json.loads((sandbox_dir / "server.json").read_text())
    seed = json.loads((sandbox_dir / "seed.json").read_text())

    # A later command finds the same emulator (same pid) and the stack the first one made.
    r = ok(awslb("--sandbox", "status", "wcs-edge"))
    assert first_line(r).startswith("(sandbox)") and f"pid {info['pid']}" in first_line(r)
    assert "autoscaling_group asg: wcs-edge" in r.stdout and "HTTPS:8443" in r.stdout

    # The guide's steps one by one, each a process of its own, each seeing what came before.
    s = {"AWSLB_STACK": "wcs-steps"}
    ok(awslb("--sandbox", "create-alb", "--name", "wcs-steps-alb", "--ws-port", "8080", "--yes", env=s))
    ok(awslb("--sandbox", "ami", "create", "--instance-id", seed["instance"], "--name", "wcs-steps-image",
             "--yes", env=s))
    r = ok(awslb("--sandbox", "asg", "create", "--name", "wcs-steps-asg", "--template", "edge",
                 "--set", f"cdn_point_of_entry={seed['private_ip']}", "--yes", env=s))
    assert "autoscaling_group asg (wcs-steps-asg): created" in r.stderr
    ok(awslb("listener", "https", "--port", "8443", "--domain", "media.example.com", "--yes", "--sandbox", env=s))
    r = ok(awslb("status", "--stack", "wcs-steps", "--output", "json", env={"AWSLB_SANDBOX": "1"}))
    kinds = {res["kind"] for res in json.loads(r.stdout)["resources"]}
    assert {"load_balancer", "target_group", "image", "launch_template", "autoscaling_group", "listener"} <= kinds
    assert any(res["kind"] == "listener" and res.get("listener") == "HTTPS:8443"
               for res in json.loads(r.stdout)["resources"])

    # down, with the stack as an argument and through AWSLB_STACK, leaves nothing of either.
    ok(awslb("--sandbox", "down", "wcs-steps", "--yes", "--delete-images"))
    ok(awslb("--sandbox", "down", "--yes", env={"AWSLB_STACK": "wcs-edge"}))
    for stack in ("wcs-edge", "wcs-steps"):
        r = ok(awslb("--sandbox", "status", stack))
        assert f"stack {stack}: nothing found" in r.stdout
    held = sandbox_status()["resources"]
    assert held["application/network balancers"] == held["auto scaling groups"] == 0
    assert held["launch templates"] == held["target groups"] == held["images"] == 0
    assert held["instances"] == 1 and held["certificates"] == 1  # the seeded ones
    assert not list((Path.cwd() / ".awslb").rglob("*.json"))  # no ledger left behind


def test_the_account_survives_stop_until_reset(sandbox_dir: Path, tmp_path: Path) -> None:
    ok(awslb("--sandbox", "up", "-f", str(ROOT / "examples" / "security-groups.toml"), "--yes"))
    ledger = Path(os.environ["AWSLB_HOME"]) / "sandbox" / "wcs-net.json"
    assert ledger.is_file()  # sandbox ledgers apart from real-AWS ones
    assert not (Path(os.environ["AWSLB_HOME"]) / "wcs-net.json").exists()
    pid = json.loads((sandbox_dir / "server.json").read_text())["pid"]

    r = ok(awslb("sandbox", "stop"))
    assert f"pid {pid}" in r.stderr
    assert sandbox_status()["running"] is False
    from awslb.sandbox import _is_ours

    assert not _is_ours(pid)  # gone (at most a zombie waiting for init to reap it)

    r = ok(awslb("--sandbox", "status", "wcs-net"))  # starts it again, with the saved account
    assert "starting the AWS emulator in the background with its saved state" in first_line(r)
    assert "security_group lb-sg: wcs-net-balancer" in r.stdout
    ok(awslb("--sandbox", "up", "-f", str(ROOT / "examples" / "security-groups.toml"), "--yes"))
    status = sandbox_status()
    assert status["running"] and status["resources"]["security groups"] == 3  # default + the stack's two

    r = ok(awslb("sandbox", "reset"))
    assert "reset" in r.stderr
    assert not ledger.exists()
    r = ok(awslb("--sandbox", "status", "wcs-net"))
    assert "stack wcs-net: nothing found" in r.stdout
    assert "media server" in r.stderr  # a fresh account is seeded again


def test_flag_and_stack_file_errors_come_before_the_sandbox_starts(sandbox_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[stack]\nname = "9bad"\n')
    for args, code in ((("up", "-f", str(bad), "--yes"), 4),
                       (("asg", "scale", "wcs-pool"), 2),           # --desired missing
                       (("status", "bad name!"), 2),
                       (("--region", "not a region", "status", "x"), 2),
                       (("--endpoint-url", "ftp://x", "status", "x"), 2)):
        r = awslb("--sandbox", *args)
        assert r.returncode == code, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) <= 2 and "Traceback" not in r.stderr, r.stderr
        assert not (sandbox_dir / "server.json").exists(), f"{args} started the sandbox"


def test_json_output_is_clean_on_stdout() -> None:
    r = ok(awslb("--output", "json", "--sandbox", "up", "-f", str(QUICKSTART), "--yes"))
    doc = json.loads(r.stdout)
    assert doc["applied"] is True and all(step["ok"] for step in doc["steps"])
    doc = json.loads(ok(awslb("--sandbox", "--output", "json", "status", "wcs-edge")).stdout)
    assert doc["stack"] == "wcs-edge" and doc["resources"]
