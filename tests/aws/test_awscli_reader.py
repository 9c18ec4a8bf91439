"""The AWS CLI as an independent reader of what `awslb up` made, and of what `down` left.

moto runs as a server on loopback; awslb and the real `aws` command both talk to it, so the
attributes below are read by another program than the one that wrote them.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from awslb.aws import Aws
from awslb.sandbox import seed_account
from tests.conftest import REGION, ROOT


def aws_cli() -> str:
    found = shutil.which("aws") or str(Path(sys.executable).parent / "aws")
    if not Path(found).exists():
        pytest.skip("the AWS CLI is not installed (it is in the dev extra)")
    return found


def read(url: str, *args: str) -> dict:
    out = subprocess.run([aws_cli(), "--endpoint-url", url, "--region", REGION, "--output", "json", *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout or "{}")


def test_the_aws_cli_sees_the_alb_autoscaling_flow(cli, moto_server) -> None:
    seeded = seed_account(Aws(region=REGION))
    r = cli("up", "-f", str(ROOT / "examples" / "alb-autoscaling-edge.toml"), "--yes")
    assert r.exit_code == 0, r.stderr

    [lb] = read(moto_server, "elbv2", "describe-load-balancers", "--names", "wcs-edge-alb")["LoadBalancers"]
    assert lb["Scheme"] == "internet-facing" and lb["Type"] == "application"
    attrs = {a["Key"]: a["Value"] for a in read(moto_server, "elbv2", "describe-load-balancer-attributes",
                                               "--load-balancer-arn", lb["LoadBalancerArn"])["Attributes"]}
    assert attrs["idle_timeout.timeout_seconds"] == "3600"
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"
    [listener] = read(moto_server, "elbv2", "describe-listeners",
                      "--load-balancer-arn", lb["LoadBalancerArn"])["Listeners"]
    assert (listener["Port"], listener["Protocol"]) == (8443, "HTTPS")
    assert listener["Certificates"][0]["CertificateArn"] == seeded["certificate"]
    [tg] = read(moto_server, "elbv2", "describe-target-groups",
                "--load-balancer-arn", lb["LoadBalancerArn"])["TargetGroups"]
    assert (tg["Port"], tg["ProtocolVersion"], tg["HealthCheckPath"]) == (8080, "HTTP1", "/?action=stat")
    tg_attrs = {a["Key"]: a["Value"] for a in read(moto_server, "elbv2", "describe-target-group-attributes",
                                                  "--target-group-arn", tg["TargetGroupArn"])["Attributes"]}
    assert tg_attrs["stickiness.enabled"] == "true" and tg_attrs["stickiness.type"] == "lb_cookie"
    [group] = read(moto_server, "autoscaling", "describe-auto-scaling-groups",
                   "--auto-scaling-group-names", "wcs-edge")["AutoScalingGroups"]
    assert group["TargetGroupARNs"] == [tg["TargetGroupArn"]]
    [version] = read(moto_server, "ec2", "describe-launch-template-versions", "--launch-template-name",
                     "wcs-edge", "--versions", "$Default")["LaunchTemplateVersions"]
    assert version["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"

    assert cli("down", "wcs-edge", "--yes").exit_code == 0
    assert read(moto_server, "autoscaling", "describe-auto-scaling-groups")["AutoScalingGroups"] == []
    assert read(moto_server, "elbv2", "describe-load-balancers")["LoadBalancers"] == []
    left = read(moto_server, "ec2", "describe-security-groups", "--filters",
                "Name=tag:awslb:stack,Values=wcs-edge")["SecurityGroups"]
    assert left == []
    templates = read(moto_server, "ec2", "describe-launch-templates", "--filters",
                     "Name=tag:awslb:stack,Values=wcs-edge")["LaunchTemplates"]
    assert templates == []


def test_the_aws_cli_sees_the_dns_function_rule_target_and_permission(cli, moto_server) -> None:
    seed_account(Aws(region=REGION))
    r = cli("up", "-f", str(ROOT / "examples" / "fleet-dns.toml"), "--yes")
    assert r.exit_code == 0, r.stderr

    fn = read(moto_server, "lambda", "get-function-configuration", "--function-name", "fleet-dns")
    assert (fn["Runtime"], fn["Handler"]) == ("python3.12", "awslb.node.dns_handler.handler")
    assert fn["Role"].endswith(":role/awslb/fleet/fleet-dns-role")
    from awslb import lambda_zip

    assert fn["CodeSha256"] == lambda_zip.code_sha256(lambda_zip.build())
    env = fn["Environment"]["Variables"]
    assert (env["ZONE_NAME"], env["ADDRESS"], env["GROUP_NAME"]) == ("media.media.example.com", "public", "fleet-asg")

    rule = read(moto_server, "events", "describe-rule", "--name", "fleet-dns-events")
    pattern = json.loads(rule["EventPattern"])
    assert pattern["source"] == ["aws.autoscaling"]
    assert pattern["detail"] == {"AutoScalingGroupName": ["fleet-asg"]}
    assert "EC2 Instance Launch Successful" in pattern["detail-type"]
    [target] = read(moto_server, "events", "list-targets-by-rule", "--rule", "fleet-dns-events")["Targets"]
    assert target["Arn"] == fn["FunctionArn"]

    policy = json.loads(read(moto_server, "lambda", "get-policy", "--function-name", "fleet-dns")["Policy"])
    [st] = policy["Statement"]
    assert st["Principal"] == {"Service": "events.amazonaws.com"}
    assert st["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]

    assert cli("down", "fleet", "--yes").exit_code == 0
    assert read(moto_server, "lambda", "list-functions")["Functions"] == []
    assert read(moto_server, "events", "list-rules")["Rules"] == []
    assert read(moto_server, "iam", "list-roles", "--path-prefix", "/awslb/")["Roles"] == []
