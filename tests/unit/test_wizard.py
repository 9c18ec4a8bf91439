"""The wizard's questions with scripted answers: defaults, each flow, bad answers asked again."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from awslb import spec, wizard
from awslb.errors import InputError

ENTER = None  # take the default


class Script:
    """A Prompter that answers from a script of (words the prompt must contain, answer)."""

    def __init__(self, *steps: tuple[str, Any]):
        self.steps = list(steps)
        self.said: list[str] = []
        self.prompts: list[str] = []

    def _next(self, text: str, default: Any) -> Any:
        assert self.steps, f"no answer scripted for {text!r}"
        expect, answer = self.steps.pop(0)
        assert expect.lower() in text.lower(), f"asked {text!r}, the script expected {expect!r}"
        self.prompts.append(text)
        return default if answer is ENTER else answer

    def ask(self, text: str, default: str | None) -> str:
        answer = self._next(text, default)
        return "" if answer is None else answer

    def confirm(self, text: str, default: bool) -> bool:
        return bool(self._next(text, default))

    def say(self, text: str) -> None:
        self.said.append(text)

    def errors(self) -> list[str]:
        return [s for s in self.said if s.startswith("error: ")]

    def done(self) -> None:
        assert not self.steps, f"questions not asked: {self.steps}"


def run(*steps: tuple[str, Any]) -> tuple[dict[str, Any], Script]:
    io = Script(*steps)
    data = wizard.questions(io)
    io.done()
    return data, io


def test_alb_with_existing_servers_takes_the_guides_defaults() -> None:
    data, io = run(
        ("stack name", "wcs-alb"), ("setup", "2"), ("region", ENTER),
        ("websocket port", ENTER), ("http port", ENTER), ("health check port", ENTER),
        ("health check path", ENTER), ("sticky", ENTER), ("tls", ENTER),
        ("existing servers", "wcs-configured, i-0123456789abcdef0"), ("ssh", ENTER),
    )
    assert io.errors() == []
    assert data == {
        "stack": {"name": "wcs-alb"},
        "load_balancer": {
            "type": "application", "ws_port": 8080, "http_port": 8081,
            "health_check": {"port": 8081, "path": "/?action=stat"}, "stickiness": True,
            "targets": ["wcs-configured", "i-0123456789abcdef0"],
        },
    }
    # The three flows are offered with their descriptions.
    assert any("Application Load Balancer in front of servers" in s for s in io.said)


def test_classic_flow_with_https_userdata_and_autoscaling() -> None:
    data, io = run(
        ("stack name", "wcs-classic"), ("setup", "1"), ("region", "eu-west-1"),
        ("image", "wcs-configured"),
        ("websocket port", ENTER), ("http port", ENTER), ("health check port", ENTER),
        ("health check path", ENTER), ("sticky", ENTER),
        ("tls", True), ("tls port", ENTER), ("certificate", "media.example.com"), ("https port of the stat", ENTER),
        ("user-data template", ENTER), ("cdn_point_of_entry", "172.31.43.82"),
        ("instance type", ENTER), ("min", ENTER), ("max", ENTER), ("desired", ENTER), ("cpu", ENTER),
        ("warm pool", ENTER), ("ssh", "203.0.113.7/24"),
    )
    assert io.errors() == []
    s = spec.parse(data)
    assert s.stack.region == "eu-west-1"
    assert s.stack.ssh_cidr == "203.0.113.0/24"  # normalised as the stack file model does
    assert s.image is not None and s.image.from_instance == "wcs-configured"
    lb = s.load_balancer
    assert lb is not None and lb.type == "classic" and lb.https_port == 8444
    assert lb.https is not None and lb.https.port == 8443 and lb.https.domain == "media.example.com"
    assert s.launch is not None and s.launch.userdata == "edge" and s.launch.instance_type == "c5.large"
    assert s.launch.vars == {"cdn_point_of_entry": "172.31.43.82"}
    assert s.autoscaling is not None
    assert (s.autoscaling.min, s.autoscaling.max, s.autoscaling.cpu_target) == (1, 10, 70)
    assert s.autoscaling.warm_pool is None
    # Each template is shown with its description, and the variable with its own.
    assert any(line.startswith("  edge: ") for line in io.said)
    assert any("address of the CDN point of entry" in p for p in io.prompts)


def test_alb_autoscaling_on_an_ami_with_several_types_refuses_a_warm_pool() -> None:
    data, io = run(
        ("stack name", ENTER), ("setup", ENTER), ("region", ENTER), ("image", "ami-0123456789abcdef0"),
        ("websocket port", ENTER), ("http port", ""), ("health check port", ENTER),
        ("health check path", ENTER), ("sticky", False), ("tls", True), ("tls port", ENTER),
        ("certificate", "arn:aws:acm:us-east-1:123456789012:certificate/abc"),
        ("user-data template", "standalone"),
        ("instance type", "c5.large c5.xlarge"), ("min", "2"), ("max", "1"), ("max", "6"), ("desired", "3"),
        ("cpu", "62.5"), ("warm pool", True), ("warm pool", False), ("ssh", ENTER),
    )
    assert data["stack"] == {"name": "wcs"}
    assert data["image"] == {"id": "ami-0123456789abcdef0"}
    lb = data["load_balancer"]
    assert "http_port" not in lb and lb["stickiness"] is False
    assert lb["https"] == {"port": 8443, "certificate": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
    assert data["autoscaling"] == {"instance_types": ["c5.large", "c5.xlarge"], "min": 2, "max": 6, "desired": 3,
                                   "cpu_target": 62.5}
    assert "vars" not in data["launch"]  # the standalone template needs no variable
    assert io.errors() == [
        "error: autoscaling.max: must be ≥ autoscaling.min",
        "error: autoscaling.warm_pool: AWS does not support a warm pool on a group with a mixed instances "
        "policy (several instance_types)",
    ]
    spec.parse(data)


def test_a_warm_pool_with_one_instance_type() -> None:
    data, _ = run(
        ("stack name", ENTER), ("setup", "3"), ("region", ENTER), ("image", "wcs-configured"),
        ("websocket port", ENTER), ("http port", ENTER), ("health check port", ENTER),
        ("health check path", ENTER), ("sticky", ENTER), ("tls", ENTER),
        ("user-data template", "origin"), ("instance type", ENTER), ("min", ENTER), ("max", ENTER),
        ("desired", ENTER), ("cpu", ENTER), ("warm pool", True), ("warm pool state", "hibernated"),
        ("kept warm", "2"), ("ssh", ENTER),
    )
    assert data["autoscaling"]["warm_pool"] == {"state": "hibernated", "min": 2}
    assert spec.parse(data).autoscaling.warm_pool.state == "hibernated"  # type: ignore[union-attr]


def test_bad_answers_are_asked_again_with_the_stack_file_error() -> None:
    data, io = run(
        ("stack name", "9lives"), ("stack name", "wcs-bad"),
        ("setup", "4"), ("setup", "2"),
        ("region", ENTER),
        ("websocket port", "ws"), ("websocket port", "70000"), ("websocket port", "8090"),
        ("http port", ENTER), ("health check port", ENTER),
        ("health check path", "action=stat"), ("health check path", ENTER),
        ("sticky", ENTER), ("tls", True), ("tls port", ENTER),
        ("certificate", ""), ("certificate", "arn:aws:acm:nowhere"), ("certificate", "media.example.com"),
        ("existing servers", ""), ("existing servers", "i-xyz"), ("existing servers", "wcs-configured"),
        ("ssh", "everywhere"), ("ssh", "0.0.0.0/0"),
    )
    errors = io.errors()
    assert errors[0].startswith("error: stack.name: must start with a letter")
    assert errors[1] == "error: flow: answer 1, 2, 3, not '4'"
    assert errors[2] == "error: load_balancer.ws_port: not a whole number: 'ws'"
    assert errors[3].startswith("error: load_balancer.ws_port: ") and "65535" in errors[3]
    assert errors[4] == "error: load_balancer.health_check.path: must start with '/': 'action=stat'"
    assert errors[5] == "error: load_balancer.https.certificate: give a certificate ARN or a domain"
    assert errors[6].startswith("error: load_balancer.https.certificate: not a certificate ARN")
    assert errors[7] == "error: load_balancer.targets: give at least one server"
    assert errors[8].startswith("error: load_balancer.targets: not an instance id (i-...) or Name tag")
    assert errors[9] == "error: stack.ssh_cidr: not a CIDR block: 'everywhere'"
    assert len(errors) == 10
    assert data["load_balancer"]["ws_port"] == 8090
    assert data["stack"]["ssh_cidr"] == "0.0.0.0/0"


def test_userdata_answers_are_checked_like_launch_vars() -> None:
    _, io = run(
        ("stack name", ENTER), ("setup", "3"), ("region", ENTER),
        ("image", "i-12"), ("image", "wcs-configured"),
        ("websocket port", ENTER), ("http port", ENTER), ("health check port", ENTER),
        ("health check path", ENTER), ("sticky", ENTER), ("tls", ENTER),
        ("user-data template", "nginx"), ("user-data template", ENTER),
        ("cdn_point_of_entry", ""), ("cdn_point_of_entry", "origin.internal"),
        ("instance type", ""), ("instance type", ENTER),
        ("min", "-1"), ("min", ENTER), ("max", ENTER), ("desired", "11"), ("desired", ENTER),
        ("cpu", "0"), ("cpu", "high"), ("cpu", ENTER), ("warm pool", ENTER), ("ssh", ENTER),
    )
    errors = io.errors()
    assert errors[0].startswith("error: image.from_instance: not an instance id (i-...) or Name tag")
    assert errors[1].startswith("error: launch.userdata: no such user-data template 'nginx'")
    assert errors[2].startswith("error: launch.vars.cdn_point_of_entry: cdn_point_of_entry needs a value")
    assert errors[3] == "error: launch.instance_type: give at least one instance type"
    assert errors[4].startswith("error: autoscaling.min: ")
    assert errors[5] == "error: autoscaling.desired: must be between autoscaling.min and autoscaling.max"
    assert errors[6].startswith("error: autoscaling.cpu_target: ")
    assert errors[7] == "error: autoscaling.cpu_target: not a number: 'high'"
    assert len(errors) == 8


@pytest.mark.parametrize("value", [
    "plain", 'a "quoted" word', "back\\slash", "line\nbreak\ttab", "bell\x07del\x7f", "кириллица 中文 🎉", "",
])
def test_toml_writer_round_trips(value: str) -> None:
    data = {"stack": {"name": "x", "tags": {"odd key.with dot": value, "plain": value}},
            "launch": {"vars": {"n": 3, "f": 0.5, "b": False, "s": value}, "list": [value, "x"]}}
    assert tomllib.loads(wizard.to_toml(data)) == data


def test_write_gives_a_stack_file_that_loads(tmp_path: Path) -> None:
    data, _ = run(
        ("stack name", "wcs-edge"), ("setup", "3"), ("region", ENTER), ("image", "wcs-configured"),
        ("websocket port", ENTER), ("http port", ENTER), ("health check port", ENTER),
        ("health check path", ENTER), ("sticky", ENTER), ("tls", ENTER),
        ("user-data template", ENTER), ("cdn_point_of_entry", "172.31.43.82"), ("instance type", ENTER),
        ("min", ENTER), ("max", ENTER), ("desired", ENTER), ("cpu", ENTER), ("warm pool", ENTER), ("ssh", ENTER),
    )
    path = tmp_path / "stack.toml"
    text = wizard.write(path, data)
    assert path.read_text() == text
    assert text.startswith("# Written by `awslb wizard`")
    assert "[load_balancer.health_check]" in text and "[launch.vars]" in text
    loaded = spec.load(path)
    assert loaded.model_dump(exclude_unset=True) == data


def test_write_refuses_data_that_is_not_a_stack(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="autoscaling"):
        wizard.write(tmp_path / "bad.toml", {"stack": {"name": "x"}, "autoscaling": {"min": 1}})


def test_the_none_userdata_choice_of_classic_elb_is_accepted(tmp_path: Path) -> None:
    data, io = run(
        ("stack name", "wcs-classic"), ("setup", "1"), ("region", ENTER), ("image", "wcs-configured"),
        ("websocket port", ENTER), ("http port", ENTER), ("health check port", ENTER),
        ("health check path", ENTER), ("sticky", ENTER), ("tls", ENTER),
        ("user-data template", "none"),  # no variables asked: there is no script
        ("instance type", ENTER), ("min", ENTER), ("max", ENTER), ("desired", ENTER), ("cpu", ENTER),
        ("warm pool", ENTER), ("ssh", ENTER),
    )
    assert io.errors() == []
    assert any(line.startswith("  none: ") for line in io.said)
    s = spec.parse(data)
    assert s.launch is not None and s.launch.userdata == "none" and not s.launch.vars
    wizard.write(tmp_path / "s.toml", data)
    assert spec.load(tmp_path / "s.toml").launch.userdata == "none"  # type: ignore[union-attr]


def test_the_written_file_names_only_what_exists(tmp_path: Path) -> None:
    """The header points to commands that exist (not to DESIGN.md, absent from the wheel),
    and under --sandbox the apply line keeps --sandbox."""
    import shlex

    from typer.main import get_command

    from awslb.cli import app

    data = {"stack": {"name": "wcs-net", "ssh_cidr": "203.0.113.0/24"}}
    for sandbox in (False, True):
        text = wizard.write(tmp_path / "s.toml", data, sandbox=sandbox)
        comments = [line.lstrip("# ") for line in text.splitlines() if line.startswith("#")]
        assert "DESIGN.md" not in text
        assert (f"awslb --sandbox up -f {tmp_path / 's.toml'}" in text) is sandbox
        root = get_command(app)
        quoted = [part.strip() for c in comments for part in c.replace("Apply:", "/").split("/")
                  if part.strip().startswith("awslb ")]
        assert quoted, comments
        for command in quoted:  # each names commands the CLI has
            words = [w for w in shlex.split(command)[1:] if not w.startswith("-")]
            cmd = root
            for word in words:
                if not hasattr(cmd, "commands"):
                    break
                assert word in cmd.commands, f"{command!r}: no command {word!r}"
                cmd = cmd.commands[word]
