"""examples/alb-autoscaling-edge.toml under moto: the README's quick-start flow, whole.

ALB + WebSocket target group + listener switched to HTTPS 8443 + edge launch template +
mixed-instances Auto Scaling group attached to the target group. Applied and read back from
AWS (applied again and torn down with every example in test_examples.py).
"""

import base64

from awslb.aws import Aws
from tests.conftest import REGION, ROOT

EXAMPLE = ROOT / "examples" / "alb-autoscaling-edge.toml"


def test_example_reads_back_as_the_guide_says(cli, seeded) -> None:
    # `up` again, `plan` and `down` of every example: tests/aws/test_examples.py.
    r = cli("up", "-f", str(EXAMPLE), "--yes")
    assert r.exit_code == 0, r.stderr
    aws = Aws(region=REGION)
    [g] = aws.call("autoscaling", "describe_auto_scaling_groups", AutoScalingGroupNames=["wcs-edge"])["AutoScalingGroups"]
    assert (g["MinSize"], g["MaxSize"]) == (1, 10)
    assert g["HealthCheckType"] == "ELB" and g["HealthCheckGracePeriod"] > 0
    mip = g["MixedInstancesPolicy"]
    assert mip["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 100
    assert [o["InstanceType"] for o in mip["LaunchTemplate"]["Overrides"]] == ["c5.large", "c5.xlarge"]
    # The group sends its instances to the stack's WebSocket target group.
    [tg] = aws.call("elbv2", "describe_target_groups", TargetGroupArns=g["TargetGroupARNs"])["TargetGroups"]
    assert (tg["Port"], tg["Protocol"], tg["ProtocolVersion"]) == (8080, "HTTP", "HTTP1")
    assert (tg["HealthCheckPort"], tg["HealthCheckPath"]) == ("8081", "/?action=stat")
    [lb] = aws.call("elbv2", "describe_load_balancers", LoadBalancerArns=tg["LoadBalancerArns"])["LoadBalancers"]
    listeners = aws.call("elbv2", "describe_listeners", LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    ws = [x for x in listeners if x["DefaultActions"][0].get("TargetGroupArn") == tg["TargetGroupArn"]]
    assert [(x["Port"], x["Protocol"]) for x in ws] == [(8443, "HTTPS")]
    assert ws[0]["Certificates"][0]["CertificateArn"] == seeded["certificate"]
    [policy] = aws.call("autoscaling", "describe_policies", AutoScalingGroupName="wcs-edge")["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingConfiguration"]["TargetValue"] == 70
    lt = aws.call("ec2", "describe_launch_template_versions", LaunchTemplateName="wcs-edge",
                  Versions=["$Default"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    script = base64.b64decode(lt["UserData"]).decode()
    assert script.startswith("#!/bin/bash") and "cdn_point_of_entry" in script
    assert lt["MetadataOptions"]["HttpTokens"] == "required"
    assert lt["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
