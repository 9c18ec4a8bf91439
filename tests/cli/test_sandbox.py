"""`--sandbox`: the whole flow against the built-in emulator, in a real subprocess."""

import json

from tests.conftest import ROOT, run_awslb

QUICKSTART = ROOT / "examples" / "alb-autoscaling-edge.toml"


def example() -> str:
    # The README's quick-start example; the foundation's example until that one exists.
    return str(QUICKSTART if QUICKSTART.exists() else ROOT / "examples" / "security-groups.toml")


def test_sandbox_up_runs_the_example_without_an_account(tmp_path) -> None:
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "AWSLB_HOME": str(tmp_path)}
    r = run_awslb("up", "-f", example(), "--sandbox", "--yes", env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "sandbox: AWS emulator at http://127.0.0.1:" in r.stderr
    assert "wcs-configured" in r.stderr or "media server" in r.stderr
    assert "change(s) applied" in r.stderr
    assert "Traceback" not in r.stderr
    assert "POST / HTTP" not in r.stderr  # the emulator's request log stays quiet


def test_sandbox_json_output_is_clean_on_stdout(tmp_path) -> None:
    r = run_awslb("--output", "json", "--sandbox", "up", "-f", example(), "--yes",
                  env={"AWSLB_HOME": str(tmp_path)}, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["applied"] is True
    assert doc["plan"]["summary"]["create"] >= 2
    assert all(step["ok"] for step in doc["steps"])
