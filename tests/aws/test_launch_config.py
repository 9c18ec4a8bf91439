"""The Classic guide's launch configuration and `asg create --launch-config --elb` under moto."""

import base64
import shutil

import pytest

from awslb.aws import Aws
from awslb.userdata import render_userdata
from tests.conftest import REGION

AMI = "ami-1e749f67"


def lc_create(cli, *extra: str):
    return cli("launch-config", "create", "--name", "wcs-lc", "--ami", AMI, "--instance-type", "c5.large",
               "--template", "edge", "--set", "cdn_point_of_entry=172.31.43.82", "--stack", "classic", "--yes",
               *extra)


def configs(aws: Aws) -> list[dict]:
    return aws.call("autoscaling", "describe_launch_configurations")["LaunchConfigurations"]


def classic_balancer(aws: Aws, name: str = "wcs-classic") -> None:
    aws.call("elb", "create_load_balancer", LoadBalancerName=name,
             Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 8080, "InstanceProtocol": "TCP", "InstancePort": 8080}],
             AvailabilityZones=["us-east-1a", "us-east-1b"])


def test_launch_config_read_back_and_legacy_warning(cli, moto, calls) -> None:
    r = lc_create(cli)
    assert r.exit_code == 0, r.stderr
    assert "legacy" in r.stderr and "launch-template create" in r.stderr
    [lc] = configs(Aws(region=REGION))
    assert lc["LaunchConfigurationName"].startswith("wcs-lc-") and len(lc["LaunchConfigurationName"]) == 15
    assert base64.b64decode(lc["UserData"]).decode() == render_userdata("edge", {"cdn_point_of_entry": "172.31.43.82"})
    assert lc["ImageId"] == AMI and lc["InstanceType"] == "c5.large"
    assert lc["MetadataOptions"]["HttpTokens"] == "required"
    assert lc["BlockDeviceMappings"][0]["DeviceName"] == "/dev/sda1"
    assert lc["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert lc["InstanceMonitoring"]["Enabled"] is True  # the guide's 1-minute monitoring
    calls.clear()
    again = lc_create(cli)
    assert again.exit_code == 0 and calls.mutating == []


def test_without_a_template_there_is_no_user_data(cli, moto) -> None:
    r = cli("launch-config", "create", "--name", "plain", "--ami", AMI, "--instance-type", "c5.large",
            "--stack", "classic", "--yes")
    assert r.exit_code == 0, r.stderr
    [lc] = configs(Aws(region=REGION))
    assert not lc.get("UserData")


def test_asg_with_launch_config_and_classic_balancer(cli, moto, calls) -> None:
    aws = Aws(region=REGION)
    classic_balancer(aws)
    assert lc_create(cli).exit_code == 0
    args = ["asg", "create", "--name", "wcs-classic-asg", "--launch-config", "wcs-lc", "--elb", "wcs-classic",
            "--min", "1", "--max", "4", "--desired", "2", "--cpu-target", "65", "--stack", "classic", "--yes"]
    r = cli(*args)
    assert r.exit_code == 0, r.stderr
    [lc] = configs(aws)
    [g] = aws.call("autoscaling", "describe_auto_scaling_groups",
                   AutoScalingGroupNames=["wcs-classic-asg"])["AutoScalingGroups"]
    assert g["LaunchConfigurationName"] == lc["LaunchConfigurationName"]
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (1, 4, 2)
    assert g["LoadBalancerNames"] == ["wcs-classic"]
    assert g["HealthCheckType"] == "ELB" and g["HealthCheckGracePeriod"] == 300
    [policy] = aws.call("autoscaling", "describe_policies", AutoScalingGroupName="wcs-classic-asg")["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingConfiguration"]["TargetValue"] == 65.0
    # Launch configurations cannot tag instances: the group names them.
    tags = {t["Key"]: t for t in g["Tags"]}
    assert tags["Name"]["PropagateAtLaunch"] is True and tags["awslb:launch-config"]["Value"] == "wcs-lc"
    calls.clear()
    assert cli(*args).exit_code == 0
    assert calls.mutating == []

    # A changed variable: a new launch configuration, the group switched to it, the old one gone.
    calls.clear()
    r = lc_create(cli, "--set", "heap_size=2g")
    assert r.exit_code == 0, r.stderr
    [new] = configs(aws)
    assert new["LaunchConfigurationName"] != lc["LaunchConfigurationName"]
    assert new["LaunchConfigurationName"].startswith("wcs-lc-")
    assert "2g" in base64.b64decode(new["UserData"]).decode()
    [g] = aws.call("autoscaling", "describe_auto_scaling_groups",
                   AutoScalingGroupNames=["wcs-classic-asg"])["AutoScalingGroups"]
    assert g["LaunchConfigurationName"] == new["LaunchConfigurationName"]
    made = [op for _, op in calls.mutating]
    assert made.count("CreateLaunchConfiguration") == 1 and made.count("DeleteLaunchConfiguration") == 1
    assert made.index("UpdateAutoScalingGroup") < made.index("DeleteLaunchConfiguration")
    calls.clear()
    assert lc_create(cli, "--set", "heap_size=2g").exit_code == 0
    assert calls.mutating == []


@pytest.mark.parametrize("lose_ledger", [False, True], ids=["with-ledger", "ledger-deleted"])
def test_down_leaves_nothing(cli, moto, tmp_path, lose_ledger) -> None:
    aws = Aws(region=REGION)
    classic_balancer(aws)
    assert lc_create(cli).exit_code == 0
    assert cli("asg", "create", "--name", "g", "--launch-config", "wcs-lc", "--elb", "wcs-classic",
               "--stack", "classic", "--yes").exit_code == 0
    if lose_ledger:
        shutil.rmtree(tmp_path / ".awslb")
    r = cli("down", "classic", "--yes")
    assert r.exit_code == 0, r.stderr
    assert configs(aws) == []
    assert aws.call("autoscaling", "describe_auto_scaling_groups")["AutoScalingGroups"] == []
    # The balancer was not the stack's: it stays.
    assert aws.call("elb", "describe_load_balancers")["LoadBalancerDescriptions"]


def test_launch_config_alone_survives_a_lost_ledger_in_a_stack_file(cli, moto, tmp_path) -> None:
    from tests.conftest import write

    f = write(tmp_path / "lc.toml", f"""
[stack]
name = "lc-only"
[launch]
kind = "config"
name = "mine"
ami = "{AMI}"
userdata = "none"
""")
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    shutil.rmtree(tmp_path / ".awslb")
    # The stack file names the base: the launch configuration is found again, not made twice.
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert len(configs(Aws(region=REGION))) == 1
    assert cli("down", "lc-only", "--yes").exit_code == 0
