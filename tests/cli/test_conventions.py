"""The conventions users bring: help that reads right, AWS_REGION, no metadata-service probe
with an endpoint, an unreachable endpoint reported in seconds, one-line --region and
--endpoint-url errors, tables that never fold when piped."""

from __future__ import annotations

import re
import socket

import pytest
from typer.main import get_command

from awslb.aws import Aws
from awslb.cli import app
from awslb.errors import AwsError, UsageError


def command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(cmd, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        children = getattr(cmd, "commands", None)
        if children:
            for name, sub in children.items():
                walk(sub, [*path, name])
        else:
            paths.append(path)

    walk(get_command(app), [])
    return paths


def test_awslb_alone_prints_the_help_and_succeeds(cli) -> None:
    r = cli()
    assert r.exit_code == 0
    assert r.stdout.startswith("Usage: awslb [OPTIONS] COMMAND") and "sandbox" in r.stdout and "examples" in r.stdout


@pytest.mark.parametrize("group", ["asg", "sandbox", "examples"])
def test_a_group_alone_prints_its_help_and_succeeds(cli, group: str) -> None:
    r = cli(group)
    assert r.exit_code == 0 and r.stdout.startswith(f"Usage: awslb {group} [OPTIONS] COMMAND")


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_help_shows_value_words_people_read(cli, path: list[str]) -> None:
    r = cli(*path, "--help")
    assert r.exit_code == 0, r.stderr
    text = r.stdout
    assert text.startswith(f"Usage: awslb {' '.join(path)}")
    for wrong in ("<str>", "<int>", "<bool>", "<float", "<list", "<path>", "%%", "{"):
        assert wrong not in text, f"{wrong!r} in `awslb {' '.join(path)} --help`:\n{text}"
    # A flag takes no value word; an option taking a value shows one in capitals.
    for line in text.splitlines():
        m = re.match(r"\s+(?:-\w, )?(--[\w-]+)(?: (\S+))?\s{2,}", line)
        if m and m.group(2):
            assert re.fullmatch(r"[A-Z_\[\]|:.=a-z0-9-]+", m.group(2)) and m.group(2) != "BOOLEAN", line


def test_root_help_flags(cli) -> None:
    text = cli("--help").stdout
    assert re.search(r"^\s+-v, --verbose\s{2,}", text, re.M)
    assert re.search(r"^\s+--sandbox\s{2,}", text, re.M)
    assert re.search(r"^\s+--region TEXT\s{2,}", text, re.M)


def test_aws_region_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert Aws().region == "eu-west-3"
    assert Aws(region="ap-south-1").region == "ap-south-1"  # --region wins


def test_a_bad_region_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, cli) -> None:
    with pytest.raises(UsageError, match=r"^--region: 'no such region!' is not a region name"):
        Aws(region="no such region!").client("ec2")
    r = cli("--region", "eu west", "status", "x")
    assert r.exit_code == 2 and r.stderr.startswith("error: Invalid value for --region: 'eu west'")
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "http://", "http://a b", "127.0.0.1:5000", "http://h:99999"])
def test_a_bad_endpoint_url_is_a_usage_error(cli, url: str) -> None:
    r = cli("--endpoint-url", url, "status", "x")
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith("error: Invalid value for --endpoint-url: ") and len(r.stderr.splitlines()) == 1


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_endpoint_is_a_clear_error_with_progress(cli) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    r = cli("--endpoint-url", url, "status", "wcs")
    assert r.exit_code == 1
    assert f"waiting for {url} to answer (attempt 1:" in r.stderr  # the progress while it retries
    assert f"error: connect: EndpointConnectionError: {url} does not answer" in r.stderr
    assert "hint: start the emulator behind --endpoint-url" in r.stderr
    assert r.stderr.count("error:") == 1 and "Traceback" not in r.stderr


def test_no_metadata_service_probe_with_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials anywhere, an emulator behind --endpoint-url: the calls work with made-up
    credentials and nothing asks the instance metadata service (169.254.169.254)."""
    import botocore.httpsession
    from moto.server import ThreadedMotoServer

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"):
        monkeypatch.delenv(var, raising=False)
    asked: list[str] = []
    send = botocore.httpsession.URLLib3Session.send

    def watch(self, request):  # type: ignore[no-untyped-def]
        if "169.254.169.254" in request.url or "fd00:ec2::254" in request.url:
            asked.append(request.url)
            raise AssertionError(f"the instance metadata service was asked: {request.url}")
        return send(self, request)

    monkeypatch.setattr(botocore.httpsession.URLLib3Session, "send", watch)
    port = closed_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        aws = Aws(endpoint_url=f"http://127.0.0.1:{port}")
        assert aws.call("ec2", "describe_vpcs")["Vpcs"]
    finally:
        server.stop()
    assert asked == []


def test_an_unreachable_endpoint_fails_once_for_all_threads() -> None:
    aws = Aws(endpoint_url=f"http://127.0.0.1:{closed_port()}")
    progress: list[str] = []
    aws.progress = progress.append
    with pytest.raises(AwsError) as first:
        aws.client("ec2")
    with pytest.raises(AwsError) as second:
        aws.client("elbv2")  # no second wait
    assert first.value is second.value
    assert progress and all(p.startswith("waiting for http://127.0.0.1:") for p in progress)


def test_status_and_down_take_the_stack_like_every_command(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    r = cli("down", "--yes")  # a command that deletes needs the stack named
    assert r.exit_code == 2 and "STACK: name the stack" in r.stderr
    r = cli("down", "a", "--stack", "b", "--yes")
    assert r.exit_code == 2 and "disagree" in r.stderr
    r = cli("status", "bad name")
    assert r.exit_code == 2 and "is not a stack name" in r.stderr


def test_status_without_a_stack_looks_at_the_step_commands_default(cli, seeded) -> None:
    # `awslb create-alb`, then `awslb status`: both mean the stack named "default".
    assert cli("create-alb", "--ws-port", "8080").exit_code == 0
    r = cli("status")
    assert r.exit_code == 0, r.stderr
    assert "default-alb" in r.stdout
