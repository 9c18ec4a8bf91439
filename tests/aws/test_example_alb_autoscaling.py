"""examples/alb-autoscaling-edge.toml under moto, without its [load_balancer] section.

The balancer kinds (ALB, target group, listeners) are built on other branches; here the
example's image, launch template and Auto Scaling group are applied, planned again
(nothing to do) and torn down. The wiring to the WebSocket target group is checked in
tests/unit/test_autoscaling_units.py.
"""

import base64
import tomllib
from pathlib import Path

from awslb.aws import Aws
from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]


def without_balancer(tmp_path: Path) -> Path:
    text = (ROOT / "examples" / "alb-autoscaling-edge.toml").read_text()
    start = text.index("[load_balancer]")
    end = text.index("[launch]")
    out = tmp_path / "example.toml"
    out.write_text(text[:start] + text[end:])  # dropped: the balancer kinds are not on this branch
    assert "load_balancer" not in tomllib.loads(out.read_text())
    return out


def test_example_up_again_and_down(cli, moto, calls, tmp_path) -> None:
    f = without_balancer(tmp_path)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    aws = Aws(region=REGION)
    [g] = aws.call("autoscaling", "describe_auto_scaling_groups", AutoScalingGroupNames=["wcs-edge"])["AutoScalingGroups"]
    assert (g["MinSize"], g["MaxSize"]) == (1, 10)
    mip = g["MixedInstancesPolicy"]
    assert mip["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 100
    assert [o["InstanceType"] for o in mip["LaunchTemplate"]["Overrides"]] == ["c5.large", "c5.xlarge"]
    lt = aws.call("ec2", "describe_launch_template_versions", LaunchTemplateName="wcs-edge",
                  Versions=["$Default"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    script = base64.b64decode(lt["UserData"]).decode()
    assert "172.31.43.82" in script and lt["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 20
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == []
    plan = cli("plan", "-f", str(f), "--exit-code")
    assert plan.exit_code == 0
    assert cli("down", "wcs-edge", "--yes").exit_code == 0
    assert aws.call("autoscaling", "describe_auto_scaling_groups")["AutoScalingGroups"] == []
    assert aws.call("ec2", "describe_launch_templates",
                    Filters=[{"Name": "tag:awslb:stack", "Values": ["wcs-edge"]}])["LaunchTemplates"] == []
    assert aws.call("ec2", "describe_security_groups",
                    Filters=[{"Name": "tag:awslb:stack", "Values": ["wcs-edge"]}])["SecurityGroups"] == []
