"""Bad input: one line naming the flag or key, exit 2 or 4, and not one AWS request."""

import pytest

from tests.conftest import write


@pytest.mark.parametrize(
    "args, code, needle",
    [
        (["frobnicate"], 2, "No such command"),
        (["up", "--frobnicate"], 2, "--frobnicate"),
        (["up"], 2, "--file"),
        (["--output", "yaml", "status", "x"], 2, "--output"),
        (["up", "-f", "missing.toml", "--yes"], 4, "-f: no such stack file"),
    ],
)
def test_usage_errors(cli, calls, args, code, needle) -> None:
    r = cli(*args)
    assert r.exit_code == code
    assert needle in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.startswith("error: ")
    assert len([line for line in r.stderr.splitlines() if line.startswith("error:")]) == 1
    assert calls.made == []


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[stack\n", "not valid TOML"),
        ("[stack]\nname='x'\nbogus=1\n", "stack.bogus: unknown key"),
        ("[load_balancer]\nws_port = true\n", "load_balancer.ws_port"),
        ("[load_balancer]\nws_port = 0\n", "load_balancer.ws_port"),
        ("[image]\nid='ami-12345678'\n[launch]\n[autoscaling]\nmin=3\nmax=1\n", "autoscaling.max: must be ≥ autoscaling.min"),
    ],
)
def test_bad_stack_files(cli, calls, tmp_path, text, needle) -> None:
    f = write(tmp_path / "s.toml", text)
    for cmd in (["up", "-f", str(f), "--yes"], ["plan", "-f", str(f)]):
        r = cli(*cmd)
        assert r.exit_code == 4, r.stderr
        assert needle in r.stderr
        assert "Traceback" not in r.stderr
    assert calls.made == []


def test_missing_region(cli, calls, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    f = write(tmp_path / "s.toml", "[stack]\nname='x'\n")
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 2
    assert "--region" in r.stderr
    assert calls.made == []


def test_missing_credentials(cli, calls, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    f = write(tmp_path / "s.toml", "[stack]\nname='x'\n")
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 2
    assert "no AWS credentials" in r.stderr and "--profile" in r.stderr
    assert calls.made == []


def test_unknown_profile(cli, calls, tmp_path) -> None:
    f = write(tmp_path / "s.toml", "[stack]\nname='x'\n")
    r = cli("--profile", "nobody", "up", "-f", str(f), "--yes")
    assert r.exit_code == 2
    assert "--profile" in r.stderr
    assert calls.made == []


def test_version_and_help(cli) -> None:
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.startswith("awslb ")
    assert cli("--help").exit_code == 0


def test_global_options_may_follow_the_command() -> None:
    from awslb.cli import hoist_globals

    assert hoist_globals(["up", "-f", "s.toml", "--sandbox", "--yes", "--output", "json"]) == [
        "--sandbox", "--output", "json", "up", "-f", "s.toml", "--yes"]
    assert hoist_globals(["haproxy", "config", "-o", "out.cfg"]) == ["haproxy", "config", "-o", "out.cfg"]
    assert hoist_globals(["--region", "eu-west-1", "status", "x"]) == ["--region", "eu-west-1", "status", "x"]
    assert hoist_globals(["--output", "json", "up", "-f", "s.toml", "--sandbox"]) == [
        "--output", "json", "--sandbox", "up", "-f", "s.toml"]
