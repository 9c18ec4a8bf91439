"""Pure parts of the launch and Auto Scaling kinds: comparing template data, group shapes, wiring."""

import tomllib
from pathlib import Path

import pytest

from awslb import spec
from awslb.resources.autoscaling_group import (
    AutoscalingGroup,
    balancer_facts,
    group_attrs,
    launch_params,
    pool_attrs,
)
from awslb.resources.base import Network, Ref
from awslb.resources.launch_config import content_name, is_ours
from awslb.resources.launch_template import LaunchTemplate, covers, data_changes

ROOT = Path(__file__).resolve().parents[2]


def test_covers_ignores_what_aws_adds() -> None:
    want = {"MetadataOptions": {"HttpTokens": "required"}}
    have = {"MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"}}
    assert covers(have, want)
    assert not covers({"MetadataOptions": {"HttpTokens": "optional"}}, want)
    assert not covers({"A": [1, 2]}, {"A": [1]})


def test_data_changes() -> None:
    base = {"ImageId": "ami-1", "InstanceType": "c5.large", "KeyName": "k", "UserData": "YQ==",
            "SecurityGroupIds": ["sg-2", "sg-1"],
            "TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}]},
                                  {"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "1"}]}]}
    aws_view = {**base, "SecurityGroupIds": ["sg-1", "sg-2"],
                "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "1"}]},
                                      {"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]},
                                      {"ResourceType": "launch-template", "Tags": [{"Key": "x", "Value": "y"}]}]}
    assert data_changes(base, aws_view) == []
    assert data_changes({**base, "ImageId": "ami-2"}, aws_view) == ["ImageId: ami-1 → ami-2"]
    assert data_changes({**base, "UserData": "Yg=="}, aws_view) == ["UserData: changed"]
    no_key = {k: v for k, v in base.items() if k != "KeyName"}
    assert data_changes(no_key, aws_view) == ["KeyName: k → None"]
    # An image the plan does not know yet (made in the same run) is a change.
    assert data_changes({**base, "ImageId": Ref("image", "id")}, aws_view)


def test_launch_params_shapes() -> None:
    lt = {"launch": {"template": "lt-1", "version": "$Latest"}, "mixed": None}
    assert launch_params(lt) == {"LaunchTemplate": {"LaunchTemplateId": "lt-1", "Version": "$Latest"}}
    assert launch_params({"launch": {"config": "lc-1"}, "mixed": None}) == {"LaunchConfigurationName": "lc-1"}
    mixed = {"launch": {"template": "lt-1", "version": "$Latest"},
             "mixed": {"types": ["c5.large", "c5.xlarge"], "on_demand_percent": 100, "on_demand_base": 0}}
    mip = launch_params(mixed)["MixedInstancesPolicy"]
    assert mip["InstancesDistribution"] == {"OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 100}
    spot = {**mixed, "mixed": {**mixed["mixed"], "on_demand_percent": 30, "on_demand_base": 1}}
    dist = launch_params(spot)["MixedInstancesPolicy"]["InstancesDistribution"]
    assert dist["SpotAllocationStrategy"] == "price-capacity-optimized" and dist["OnDemandBaseCapacity"] == 1
    # What AWS describes reads back into the same shape the plan compares.
    for props in (lt, mixed, spot):
        back = group_attrs({**launch_params(props), "VPCZoneIdentifier": "subnet-b,subnet-a"})
        assert (back["launch"], back["mixed"]) == (props["launch"], props["mixed"])
        assert back["subnets"] == ["subnet-a", "subnet-b"]


def test_pool_attrs() -> None:
    assert pool_attrs({}) is None
    assert pool_attrs({"WarmPoolConfiguration": {"PoolState": "Stopped", "MinSize": 1, "Status": "PendingDelete"}}) is None
    assert pool_attrs({"WarmPoolConfiguration": {"PoolState": "Running", "MinSize": 2}}) == {
        "state": "Running", "min": 2, "max": None}


def test_launch_config_names() -> None:
    a = content_name("wcs-lc", {"ImageId": "ami-1"})
    assert a == content_name("wcs-lc", {"ImageId": "ami-1"}) and is_ours(a, "wcs-lc")
    assert a != content_name("wcs-lc", {"ImageId": "ami-2"})
    assert not is_ours("wcs-lc-other-12345678", "wcs-lc") and not is_ours("wcs-lc", "wcs-lc")


def test_the_example_wires_the_group_to_the_websocket_target_group() -> None:
    # The whole example, balancer included: the group joins the stack's WebSocket target
    # group (built by the balancer kinds) with ELB health checks and a mixed-instances policy.
    s = spec.load(ROOT / "examples" / "alb-autoscaling-edge.toml")
    facts = {**balancer_facts(None, s, s.autoscaling), "launch.root_device": "/dev/sda1", "launch.root_size": 15}
    net = Network("us-east-1", "vpc-1", ("subnet-a", "subnet-b"), ("us-east-1a", "us-east-1b"), facts)
    [asg] = AutoscalingGroup().desired(s, net)
    assert asg.props["target_groups"] == [Ref("ws-tg", "arn")] and asg.props["load_balancers"] == []
    assert asg.props["health_check_type"] == "ELB"
    assert asg.props["launch"] == {"template": Ref("launch-template", "id"), "version": "$Latest"}
    assert asg.props["mixed"] == {"types": ["c5.large", "c5.xlarge"], "on_demand_percent": 100, "on_demand_base": 0}
    assert asg.props["policy"] == {"target": 70.0, "warmup": 300}
    assert asg.props["subnets"] == ["subnet-a", "subnet-b"]
    [lt] = LaunchTemplate().desired(s, net)
    assert lt.props["data"]["ImageId"] == "ami-1e749f67"  # an existing image: no image kind needed
    assert lt.props["data"]["SecurityGroupIds"] == [Ref("instance-sg", "id")]
    https = tomllib.loads((ROOT / "examples" / "alb-autoscaling-edge.toml").read_text())["load_balancer"]["https"]
    assert https["port"] == 8443


def test_a_classic_stack_joins_its_classic_balancer() -> None:
    s = spec.parse({"stack": {"name": "c"}, "image": {"id": "ami-12345678"},
                    "load_balancer": {"type": "classic"}, "launch": {"kind": "config", "userdata": "none"},
                    "autoscaling": {}})
    net = Network("us-east-1", "vpc-1", ("subnet-a",), ("us-east-1a",), balancer_facts(None, s, s.autoscaling))
    [asg] = AutoscalingGroup().desired(s, net)
    assert asg.props["load_balancers"] == [Ref("classic-lb", "name")] and asg.props["target_groups"] == []
    assert asg.props["launch"] == {"config": Ref("launch-config", "name")}
    assert asg.props["health_check_type"] == "ELB"


@pytest.mark.parametrize("values, mixed", [
    ({}, False), ({"instance_types": ["c5.large"]}, False), ({"instance_types": ["c5.large", "m5.large"]}, True),
    ({"on_demand_percent": 70}, True),
])
def test_mixed(values, mixed) -> None:
    assert spec.AutoscalingSection.model_validate(values).mixed is mixed
