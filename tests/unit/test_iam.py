"""`awslb iam-policy`: derived from the kinds' operations, grouped and conditioned, offline."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from awslb import iam, resources, spec
from awslb.errors import InputError
from awslb.resources.base import Kind, Network, Resource
from awslb.spec import StackSpec
from tests.conftest import ROOT, write

EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
ACTION = re.compile(r"^([a-z0-9-]+):[A-Z][A-Za-z0-9]+$")


@pytest.mark.parametrize("kind", list(resources.registry().values()), ids=lambda k: k.kind)
def test_every_kind_declares_its_operations(kind: Kind) -> None:
    ops = kind.operations()
    assert set(ops) == {"read", "write"}, f"{kind.kind}: operations() must return read and write"
    if kind.tagged:
        assert ops["write"], f"{kind.kind}: declares no write action"
        assert ops["read"], f"{kind.kind}: declares no read action (discover reads)"
    for action in [*ops["read"], *ops["write"]]:
        m = ACTION.match(action)
        assert m, f"{kind.kind}: {action!r} is not an IAM action (service:Action)"
        assert m.group(1) in iam.SERVICE_PREFIX.values(), f"{kind.kind}: unknown service in {action}"
    # Reads of every kind are granted to every stack (discovery); a write there would be too.
    writes_as_reads = [a for a in ops["read"] if not iam.is_read(a)]
    assert writes_as_reads == [], f"{kind.kind}: writes listed under read: {writes_as_reads}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_kind_tells_offline_whether_a_stack_uses_it(example: Path) -> None:
    # iam.uses() falls back to "used" when desired() cannot run without look-ups; no kind
    # should need that fallback for the shipped examples.
    s = spec.load(example)
    net = iam.placeholder_network(s)
    for kind in resources.registry().values():
        kind.desired(s, net)


class FakeKind(Kind):
    def __init__(self, kind: str, wanted: bool, read: list[str], write: list[str]):
        self.kind, self.label, self.rank = kind, kind, 50  # type: ignore[misc]
        self.wanted, self.ops = wanted, {"read": read, "write": write}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        return [Resource(self.kind, self.kind, self.kind)] if self.wanted else []

    def operations(self) -> dict[str, list[str]]:
        return self.ops


class NeedsFacts(FakeKind):
    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        raise KeyError("image.instance")


def statements(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {st["Sid"]: st for st in doc["Statement"]}


STACK = spec.parse({"stack": {"name": "wcs-iam"}})


def test_only_the_kinds_the_plan_uses_bring_writes() -> None:
    kinds = {
        "sg": FakeKind("sg", True, ["ec2:DescribeSecurityGroups"], ["ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup"]),
        "lb": FakeKind("lb", False, ["elasticloadbalancing:DescribeLoadBalancers"],
                       ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer"]),
    }
    doc = iam.policy(STACK, kinds)
    got = iam.actions(doc)
    # Every kind's reads (up and down discover every kind), the engine's look-ups ...
    assert {"ec2:DescribeSecurityGroups", "elasticloadbalancing:DescribeLoadBalancers", *iam.ENGINE_READS} <= got
    # ... but only the writes of the kinds the stack makes, and no service-linked role for them.
    assert "ec2:CreateSecurityGroup" in got and "ec2:DeleteSecurityGroup" in got
    assert not {"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer",
                iam.SLR_ACTION} & got
    assert iam.derive(STACK, kinds).used == ("sg",)


def test_statements_and_their_tag_conditions() -> None:
    kinds = {
        "sg": FakeKind("sg", True, ["ec2:DescribeSecurityGroups"],
                       ["ec2:CreateSecurityGroup", "ec2:CreateTags", "ec2:AuthorizeSecurityGroupIngress",
                        "ec2:DeleteSecurityGroup"]),
        "lb": FakeKind("lb", True, ["elasticloadbalancing:DescribeListeners"],
                       ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateListener",
                        "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:AddTags"]),
        "asg": FakeKind("asg", True, ["autoscaling:DescribeAutoScalingGroups"],
                        ["autoscaling:CreateAutoScalingGroup", "iam:PassRole", "ec2:RunInstances"]),
    }
    doc = iam.policy(STACK, kinds, region="eu-west-1")
    assert doc["Version"] == "2012-10-17"
    by_sid = statements(doc)
    assert all(st["Effect"] == "Allow" for st in doc["Statement"])
    assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in by_sid)

    read = by_sid["ReadOnly"]
    assert read["Resource"] == "*" and "Condition" not in read
    assert all(iam.is_read(a) for a in read["Action"])

    create = by_sid["CreateOnlyWithTheStackTag"]
    assert create["Action"] == ["autoscaling:CreateAutoScalingGroup", "ec2:CreateSecurityGroup",
                                "elasticloadbalancing:CreateLoadBalancer"]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/awslb:stack": "wcs-iam"}}
    assert "arn:aws:ec2:eu-west-1:*:security-group/*" in create["Resource"]
    assert "arn:aws:elasticloadbalancing:eu-west-1:*:loadbalancer/*" in create["Resource"]
    assert "arn:aws:autoscaling:eu-west-1:*:autoScalingGroup:*" in create["Resource"]
    # The VPC a group is made in carries no request tags: its own statement, no condition.
    vpc = by_sid["CreateSecurityGroupOnOtherResources"]
    assert vpc["Resource"] == ["arn:aws:ec2:eu-west-1:*:vpc/*"] and "Condition" not in vpc

    own = by_sid["ChangeOnlyTheStacksResources"]
    assert own["Action"] == ["ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup",
                             "elasticloadbalancing:DeleteLoadBalancer"]
    assert own["Condition"] == {"StringEquals": {"aws:ResourceTag/awslb:stack": "wcs-iam"}}

    tags = by_sid["TagOnlyWithTheStackTag"]
    assert tags["Action"] == ["ec2:CreateTags", "elasticloadbalancing:AddTags"]
    assert tags["Condition"] == {"StringEqualsIfExists": {"aws:RequestTag/awslb:stack": "wcs-iam"}}

    slr = by_sid["ServiceLinkedRolesOfTheBalancerAndGroup"]
    assert slr["Action"] == ["iam:CreateServiceLinkedRole"]
    assert slr["Condition"] == {"StringEquals": {"iam:AWSServiceName": [
        "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com"]}}
    # Only the stack's own roles (IAM path /awslb/<stack>/), only to EC2 when there is no DNS function.
    passing = by_sid["PassRolesOnlyToInstancesAndTheDnsFunction"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com"]}}
    assert passing["Resource"] == ["arn:aws:iam::*:role/awslb/wcs-iam/*"]

    # Where no tag condition is sure to hold, Resource "*" and nothing else.
    rest = by_sid["WritesWithoutTagConditions"]
    assert rest["Action"] == ["ec2:RunInstances", "elasticloadbalancing:CreateListener"]
    assert rest["Resource"] == "*" and "Condition" not in rest

    # Every action the kinds declared is granted exactly once.
    granted = [a for st in doc["Statement"] if st["Sid"] != "CreateSecurityGroupOnOtherResources"
               for a in st["Action"]]
    assert sorted(granted) == sorted(set(granted))


def test_a_kind_that_needs_lookups_to_plan_counts_as_used() -> None:
    kinds = {"img": NeedsFacts("img", True, ["ec2:DescribeImages"], ["ec2:CreateImage"])}
    assert "ec2:CreateImage" in iam.actions(iam.policy(STACK, kinds))


class BadStack(FakeKind):
    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        raise InputError("launch.vars: template 'edge' needs cdn_point_of_entry")


def test_a_stack_the_plan_refuses_is_an_error_not_a_policy() -> None:
    with pytest.raises(InputError, match="launch.vars"):
        iam.policy(STACK, {"lt": BadStack("lt", True, [], ["ec2:CreateLaunchTemplate"])})


@pytest.mark.parametrize(("region", "prefix"), [
    ("cn-north-1", "arn:aws-cn:ec2:cn-north-1:"), ("us-gov-west-1", "arn:aws-us-gov:ec2:us-gov-west-1:"),
    (None, "arn:aws:ec2:*:"),
])
def test_arns_follow_the_stacks_region_and_partition(region: str | None, prefix: str) -> None:
    s = spec.parse({"stack": {"name": "x", **({"region": region} if region else {})}})
    kinds = {"sg": FakeKind("sg", True, [], ["ec2:CreateSecurityGroup"])}
    create = statements(iam.policy(s, kinds))["CreateOnlyWithTheStackTag"]
    assert create["Resource"] == [prefix + "*:security-group/*"]


def test_action_of_maps_services_to_iam_prefixes() -> None:
    assert iam.action_of("elbv2", "CreateListener") == "elasticloadbalancing:CreateListener"
    assert iam.action_of("elb", "ConfigureHealthCheck") == "elasticloadbalancing:ConfigureHealthCheck"
    assert iam.action_of("autoscaling", "PutWarmPool") == "autoscaling:PutWarmPool"
    assert iam.action_of("ec2", "DescribeVpcs") == "ec2:DescribeVpcs"
    assert iam.action_of("acm", "ListCertificates") == "acm:ListCertificates"


def test_cli_needs_no_credentials_and_calls_nothing(cli, calls, monkeypatch, tmp_path: Path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    f = write(tmp_path / "s.toml", '[stack]\nname = "wcs-offline"\nregion = "eu-central-1"\n')
    r = cli("iam-policy", "-f", str(f))
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    doc = json.loads(r.stdout)
    assert doc["Version"] == "2012-10-17"
    assert doc == iam.policy(spec.load(f))
    assert calls.made == []


def test_cli_bad_file_is_invalid_input(cli, tmp_path: Path) -> None:
    r = cli("iam-policy", "-f", str(tmp_path / "missing.toml"))
    assert r.exit_code == 4 and r.stdout == ""
    assert r.stderr.startswith("error: -f: no such stack file")
