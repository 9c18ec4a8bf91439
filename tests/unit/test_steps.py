"""The flags -> stack sections mapping of every step command, as data (pure: no AWS).

The merge rule: a flag not given (None) keeps the recorded value; a flag given replaces
it; an optional part turned off (`--http-port 0`, `--warm-pool-state none`) is removed.
"""

from typing import Any

import pytest

from awslb import spec, steps
from awslb.errors import AwslbError, InputError, UsageError

ALB = {"type": "application", "balancer": True, "ws_port": 9090, "http_port": 8081,
       "health_check": {"port": 8081, "path": "/?action=stat"}, "name": "edge-lb",
       "https": {"port": 8443, "domain": "media.example.com"}}
EDGE = {"stack": {"name": "edge"}, "load_balancer": ALB}
NOTHING: dict[str, Any] = {"stack": {"name": "edge"}}

CASES = [
    # (command, recorded, flags, expected sections)
    ("create-alb", NOTHING, {"ws_port": 8080},
     {"load_balancer": {"type": "application", "balancer": True, "ws_port": 8080}}),
    # A bare create-alb after --ws-port 9090 keeps 9090 (it used to plan to reopen 8080),
    # and keeps what `listener https` recorded.
    ("create-alb", EDGE, {}, {"load_balancer": ALB}),
    ("create-alb", EDGE, {"ws_port": 8080, "sticky": False},
     {"load_balancer": {**ALB, "ws_port": 8080, "stickiness": False}}),
    # --http-port 0 turns the stat listener off (its target group and listener go).
    ("create-alb", EDGE, {"http_port": 0}, {"load_balancer": {k: v for k, v in ALB.items() if k != "http_port"}}),
    ("create-alb", EDGE, {"health_port": 8082},
     {"load_balancer": {**ALB, "health_check": {"port": 8082, "path": "/?action=stat"}}}),
    ("create-alb", EDGE, {"target": ["a", "b", "a"]}, {"load_balancer": {**ALB, "targets": ["a", "b"]}}),
    ("target-group create", NOTHING, {"name": "ws", "port": 8080},
     {"load_balancer": {"type": "application", "balancer": False, "target_group": "ws", "ws_port": 8080}}),
    ("target-group create", EDGE, {}, {"load_balancer": ALB}),
    ("listener https", EDGE, {"certificate": "arn:c"},
     {"load_balancer": {**ALB, "https": {"port": 8443, "certificate": "arn:c"}}}),
    ("listener https", EDGE, {"port": 9443},
     {"load_balancer": {**ALB, "https": {"port": 9443, "domain": "media.example.com"}}}),
    ("create-elb", NOTHING, {"ws_port": 8080, "http_port": 8081},
     {"load_balancer": {"type": "classic", "ws_port": 8080, "http_port": 8081}}),
    ("create-elb", {"load_balancer": {"type": "classic", "ws_port": 9000, "http_port": 8081}}, {"http_port": 0},
     {"load_balancer": {"type": "classic", "ws_port": 9000}}),
    ("create-elb", NOTHING, {"health_check": "HTTPS:8444/?action=stat"},
     {"load_balancer": {"type": "classic", "health_check": {"protocol": "HTTPS", "port": 8444,
                                                            "path": "/?action=stat"}}}),
    ("ami create", NOTHING, {"instance_id": "wcs"}, {"image": {"from_instance": "wcs"}}),
    ("ami create", {"image": {"from_instance": "wcs", "name": "n1"}}, {"copy_to": ["eu-west-1"]},
     {"image": {"from_instance": "wcs", "name": "n1", "copy_to": ["eu-west-1"]}}),
    ("launch-template create", {"image": {"from_instance": "wcs"}},
     {"set": ["cdn_point_of_entry=10.0.0.5"]},
     {"launch": {"kind": "template", "userdata": "edge", "vars": {"cdn_point_of_entry": "10.0.0.5"}}}),
    ("launch-template create",
     {"image": {"from_instance": "wcs"}, "launch": {"kind": "template", "instance_type": "c5.xlarge",
                                                    "vars": {"cdn_point_of_entry": "10.0.0.5"}}},
     {"key_name": "k"},
     {"launch": {"kind": "template", "instance_type": "c5.xlarge", "key_name": "k", "userdata": "edge",
                 "vars": {"cdn_point_of_entry": "10.0.0.5"}}}),
    ("launch-config create", NOTHING, {"ami": "ami-12345678"},
     {"launch": {"kind": "config", "ami": "ami-12345678", "userdata": "none", "vars": {}}}),
    ("asg create", {"image": {"from_instance": "wcs"}},
     {"template": "edge", "set": ["cdn_point_of_entry=10.0.0.5"], "min": 2},
     {"autoscaling": {"min": 2},
      "launch": {"kind": "template", "userdata": "edge", "vars": {"cdn_point_of_entry": "10.0.0.5"}}}),
    ("asg create", {"launch": {"kind": "template"}, "autoscaling": {"min": 2, "warm_pool": {"state": "stopped"}}},
     {"warm_pool_state": "none", "no_scaling_policy": True},
     {"autoscaling": {"min": 2, "policy": "none"}}),
    ("asg create", {"launch": {"kind": "template"}, "autoscaling": {"policy": "none", "alb": "a"}},
     {"cpu_target": 60.0, "target_group": ["tg"]},
     {"autoscaling": {"policy": "cpu", "cpu_target": 60.0, "target_groups": ["tg"]}}),
    ("asg create", {"launch": {"kind": "template"}, "autoscaling": {"launch_config": "lc"}},
     {"launch_template": "lt"}, {"autoscaling": {"launch_template": "lt"}}),
]


@pytest.mark.parametrize("command, recorded, flags, want", CASES)
def test_flags_to_sections(command: str, recorded: dict, flags: dict, want: dict) -> None:
    before = repr(recorded)
    assert steps.SECTIONS[command](recorded, flags) == want
    assert repr(recorded) == before  # pure: the recorded spec is not touched


@pytest.mark.parametrize("command, recorded, flags, error, needle", [
    ("create-alb", {"load_balancer": {"type": "classic"}}, {}, UsageError, "--stack: the stack has a Classic"),
    ("create-elb", EDGE, {}, UsageError, "--stack: the stack has an Application Load Balancer"),
    ("listener https", NOTHING, {"certificate": "arn:c"}, InputError, "--stack: stack edge has no load balancer"),
    ("listener https", NOTHING, {"lb": "x"}, InputError, "--lb: no balancer x in stack edge"),
    ("listener https", {"load_balancer": {"type": "application"}}, {}, UsageError, "--certificate: give"),
    ("create-elb", NOTHING, {"wss_port": 8443}, UsageError, "--wss-port: WSS needs a certificate"),
    ("create-elb", NOTHING, {"health_check": "ICMP"}, UsageError, "--health-check: expected"),
    ("ami create", NOTHING, {}, UsageError, "--instance-id: which server?"),
    ("asg create", NOTHING, {"template": "edge"}, UsageError,
     "--set: missing: --set cdn_point_of_entry=... "),
    ("asg create", NOTHING, {}, UsageError, "--template: missing: --template edge"),
    ("asg create", {"launch": {"kind": "template"}}, {"alb": "a", "elb": "b"}, UsageError,
     "--elb: give one of --alb, --nlb, --target-group and --elb"),
    ("asg create", {"launch": {"kind": "template"}}, {"ami": "ami-12345678"}, UsageError, "--ami: only with --template"),
    ("asg create", {"launch": {"kind": "template"}}, {"warm_pool_min": 1}, UsageError, "--warm-pool-state: give"),
    ("launch-template create", NOTHING, {"set": ["nope=1"]}, InputError, "--set: template 'edge' has no variable"),
    ("launch-config create", NOTHING, {"ami": "ami-12345678", "set": ["a=b"]}, UsageError,
     "--set: user-data variables need --template"),
])
def test_flag_errors(command: str, recorded: dict, flags: dict, error: type[AwslbError], needle: str) -> None:
    with pytest.raises(error) as err:
        steps.SECTIONS[command](recorded, flags)
    assert type(err.value) is error and err.value.message.startswith(needle), err.value.message


def test_every_missing_value_in_one_line() -> None:
    with pytest.raises(UsageError) as err:
        steps.asg_create(NOTHING, {"template": "edge"})
    assert "--set cdn_point_of_entry=..." in err.value.message and "--ami ami-..." in err.value.message
    assert "\n" not in err.value.message


def test_defaults_come_from_the_spec_model() -> None:
    [section] = steps.create_alb(NOTHING, {}).values()
    lb = spec.LoadBalancerSection.model_validate(section)
    assert (lb.ws_port, lb.http_port, lb.health_check.port, lb.stickiness, lb.idle_timeout) == (8080, None, 8081,
                                                                                                True, 3600)


def test_overlay_reaches_into_sub_sections_and_deletes() -> None:
    base = {"a": 1, "hc": {"port": 1, "path": "/"}}
    assert steps.overlay(base, {"a": None, "hc.port": 2, "b": steps.DELETE}) == {"a": 1, "hc": {"port": 2, "path": "/"}}
    assert steps.overlay(base, {"a": steps.DELETE}) == {"hc": {"port": 1, "path": "/"}}
    assert base == {"a": 1, "hc": {"port": 1, "path": "/"}}


@pytest.mark.parametrize("message, want", [
    ("stack: load_balancer.ws_port: bad", "--ws-port: bad"),
    ("load_balancer.health_check.timeout: too long", "--health-port (load_balancer.health_check.timeout): too long"),
    ("stack.subnets: none", "stack.subnets: none"),
])
def test_errors_name_the_flag(message: str, want: str) -> None:
    assert steps.rename(message, steps.FLAGS["create-alb"]) == want
