"""`awslb create-elb` and the Classic balancer kind under moto, read back from ELB."""

from __future__ import annotations

import json

import pytest

from awslb import spec
from tests.aws.classic_helpers import (
    balancer,
    issue_certificate,
    run_server,
    stack_images,
    tagged_balancers,
    tags,
)
from tests.conftest import ROOT

STACK = "wcs"
NAME = "wcs-elb"


def create_elb(cli, *extra: str):
    return cli("create-elb", "--stack", STACK, "--name", NAME, "--yes", *extra)


def listeners(lb: dict) -> set[tuple]:
    return {(d["Listener"]["Protocol"], d["Listener"]["LoadBalancerPort"], d["Listener"]["InstanceProtocol"],
             d["Listener"]["InstancePort"], d["Listener"].get("SSLCertificateId")) for d in lb["ListenerDescriptions"]}


def policies(lb: dict) -> dict[int, list[str]]:
    return {d["Listener"]["LoadBalancerPort"]: sorted(d["PolicyNames"]) for d in lb["ListenerDescriptions"]}


def attributes(aws) -> dict:
    return aws.call("elb", "describe_load_balancer_attributes", LoadBalancerName=NAME)["LoadBalancerAttributes"]


def full_flags(cert: str) -> list[str]:
    return ["--ws-port", "8080", "--wss-port", "8443", "--certificate", cert, "--http-port", "8081",
            "--https-port", "8444", "--health-check", "HTTP:8081/?action=stat", "--instance", "wcs-configured"]


def test_create_elb_builds_the_guide_balancer_and_runs_once(cli, aws, calls) -> None:
    server = run_server(aws)
    cert = issue_certificate(aws)
    r = create_elb(cli, *full_flags(cert))
    assert r.exit_code == 0, r.stderr
    lb = balancer(aws, NAME)
    assert r.stdout.strip() == lb["DNSName"]
    assert listeners(lb) == {
        ("TCP", 8080, "TCP", 8080, None),       # WebSocket
        ("SSL", 8443, "TCP", 8080, cert),       # WSS, TLS ends on the balancer
        ("HTTP", 8081, "HTTP", 8081, None),     # stat page
        ("HTTPS", 8444, "HTTP", 8081, cert),    # stat page over TLS
    }
    # Step 2.8: stickiness on the HTTP/HTTPS listeners only; TLS policy on SSL/HTTPS.
    assert policies(lb) == {8080: [], 8443: ["awslb-tls-ELBSecurityPolicy-TLS-1-2-2017-01"],
                            8081: ["awslb-sticky-86400"],
                            8444: ["awslb-sticky-86400", "awslb-tls-ELBSecurityPolicy-TLS-1-2-2017-01"]}
    assert lb["Policies"]["LBCookieStickinessPolicies"] == [
        {"PolicyName": "awslb-sticky-86400", "CookieExpirationPeriod": 86400}]
    tls = aws.call("elb", "describe_load_balancer_policies", LoadBalancerName=NAME,
                   PolicyNames=["awslb-tls-ELBSecurityPolicy-TLS-1-2-2017-01"])["PolicyDescriptions"][0]
    assert tls["PolicyTypeName"] == "SSLNegotiationPolicyType"
    assert {"AttributeName": "Reference-Security-Policy",
            "AttributeValue": "ELBSecurityPolicy-TLS-1-2-2017-01"} in tls["PolicyAttributeDescriptions"]
    assert lb["HealthCheck"] == {"Target": "HTTP:8081/?action=stat", "Interval": 10, "Timeout": 5,
                                 "UnhealthyThreshold": 2, "HealthyThreshold": 3}
    at = attributes(aws)
    assert at["CrossZoneLoadBalancing"] == {"Enabled": True}
    assert at["ConnectionDraining"] == {"Enabled": True, "Timeout": 300}
    assert at["ConnectionSettings"] == {"IdleTimeout": 3600}
    assert [i["InstanceId"] for i in lb["Instances"]] == [server]
    # The foundation's balancer group; the default VPC's subnets, one per zone.
    sgs = aws.call("ec2", "describe_security_groups", GroupIds=lb["SecurityGroups"])["SecurityGroups"]
    assert [tags(g)["awslb:id"] for g in sgs] == ["lb-sg"]
    subnets = aws.call("ec2", "describe_subnets", SubnetIds=lb["Subnets"])["Subnets"]
    zones = [s["AvailabilityZone"] for s in subnets]
    assert len(zones) == len(set(zones)) > 1 and all(s["DefaultForAz"] for s in subnets)
    lb_tags = tags(aws.call("elb", "describe_tags", LoadBalancerNames=[NAME])["TagDescriptions"][0])
    assert (lb_tags["awslb:stack"], lb_tags["awslb:id"], lb_tags["Name"]) == (STACK, "classic-lb", NAME)

    calls.clear()
    again = create_elb(cli, *full_flags(cert))
    assert again.exit_code == 0, again.stderr
    assert calls.mutating == []
    assert "up to date" in again.stderr
    # Flags left out keep what the stack recorded (WSS stays).
    calls.clear()
    assert cli("create-elb", "--stack", STACK, "--yes").exit_code == 0
    assert calls.mutating == []


def test_changes_converge_in_place(cli, aws, calls) -> None:
    run_server(aws)
    cert = issue_certificate(aws)
    assert create_elb(cli, *full_flags(cert), "--cookie-ttl", "600").exit_code == 0
    calls.clear()
    r = create_elb(cli, "--cookie-ttl", "300", "--idle-timeout", "1800", "--health-check", "HTTPS:8444/?action=stat",
                   "--draining-timeout", "0")
    assert r.exit_code == 0, r.stderr
    ops = [op for _, op in calls.mutating]
    assert "CreateLoadBalancer" not in ops and "DeleteLoadBalancer" not in ops
    assert sorted(set(ops)) == ["ConfigureHealthCheck", "CreateLBCookieStickinessPolicy", "DeleteLoadBalancerPolicy",
                                "ModifyLoadBalancerAttributes", "SetLoadBalancerPoliciesOfListener"]
    lb = balancer(aws, NAME)
    assert [p["PolicyName"] for p in lb["Policies"]["LBCookieStickinessPolicies"]] == ["awslb-sticky-300"]
    assert policies(lb)[8081] == ["awslb-sticky-300"]
    assert lb["HealthCheck"]["Target"] == "HTTPS:8444/?action=stat"
    at = attributes(aws)
    assert at["ConnectionSettings"] == {"IdleTimeout": 1800} and at["ConnectionDraining"]["Enabled"] is False

    assert create_elb(cli, "--no-sticky").exit_code == 0
    lb = balancer(aws, NAME)
    assert lb["Policies"]["LBCookieStickinessPolicies"] == []
    assert policies(lb)[8081] == [] and policies(lb)[8444] == ["awslb-tls-ELBSecurityPolicy-TLS-1-2-2017-01"]


def test_wss_added_later_and_not_undone_by_the_earlier_step(cli, aws, calls) -> None:
    run_server(aws)
    cert = issue_certificate(aws)
    plain = ["--ws-port", "8080", "--http-port", "8081"]
    assert create_elb(cli, *plain).exit_code == 0
    assert {x[1] for x in listeners(balancer(aws, NAME))} == {8080, 8081}
    calls.clear()
    assert create_elb(cli, "--certificate", cert).exit_code == 0  # WSS on the default 8443
    assert ("elasticloadbalancing", "CreateLoadBalancer") not in calls.mutating
    assert ("SSL", 8443, "TCP", 8080, cert) in listeners(balancer(aws, NAME))
    calls.clear()
    assert create_elb(cli, *plain).exit_code == 0  # the first step again
    assert calls.mutating == []
    assert ("SSL", 8443, "TCP", 8080, cert) in listeners(balancer(aws, NAME))


def test_targets_converge_without_touching_instances_others_registered(cli, aws) -> None:
    a = run_server(aws, "wcs-a")
    b = run_server(aws, "wcs-b")
    asg_member = run_server(aws, "from-a-group")
    assert create_elb(cli, "--instance", "wcs-a", "--instance", b).exit_code == 0
    # An Auto Scaling group attached to the balancer registers its own instances.
    aws.call("elb", "register_instances_with_load_balancer", LoadBalancerName=NAME,
             Instances=[{"InstanceId": asg_member}])
    assert create_elb(cli, "--instance", "wcs-a").exit_code == 0
    assert {i["InstanceId"] for i in balancer(aws, NAME)["Instances"]} == {a, asg_member}
    lb_tags = tags(aws.call("elb", "describe_tags", LoadBalancerNames=[NAME])["TagDescriptions"][0])
    assert lb_tags["awslb:targets"] == a


def test_scheme_change_replaces_the_balancer(cli, aws, calls) -> None:
    assert create_elb(cli).exit_code == 0
    plan = json.loads(cli("--output", "json", "create-elb", "--stack", STACK, "--internal", "--dry-run").stdout)
    [step] = [s for s in plan["steps"] if s["id"] == "classic-lb" and s["action"] == "replace"]
    assert step["changes"][0] == "scheme: internet-facing → internal"
    # Clients connect to it: without --allow-replace (and no terminal) it is refused before any write.
    calls.clear()
    refused = create_elb(cli, "--internal")
    assert refused.exit_code == 4 and "scheme: internet-facing → internal" in refused.stderr
    assert "--allow-replace" in refused.stderr and calls.mutating == []
    assert create_elb(cli, "--internal", "--allow-replace").exit_code == 0
    # The new one is made before the old one goes, under the alternate name while the old holds it.
    assert balancer(aws, NAME + "-r")["Scheme"] == "internal"
    assert tagged_balancers(aws, STACK) == [NAME + "-r"]
    assert "up to date" in create_elb(cli, "--internal").stderr


@pytest.mark.parametrize("args, code, needle", [
    (["--instance", "no-such-server"], 4, "--instance: no such instance in us-east-1: no-such-server"),
    (["--health-check", "HTTP:8081"], 2, "--health-check: expected PROTOCOL:PORT/PATH"),
    (["--health-check", "ICMP:8081/"], 2, "--health-check: expected PROTOCOL:PORT/PATH"),
    (["--health-check", "HTTP:99999/x"], 2, "--health-check: expected PROTOCOL:PORT/PATH"),
    (["--certificate", "arn:aws:acm:us-east-1:123456789012:certificate/0000-nope"], 4,
     "--certificate: no such certificate in us-east-1"),
    (["--certificate", "arn:aws:acm:eu-west-1:123456789012:certificate/0000-nope"], 4,
     "--certificate: the certificate is in eu-west-1"),
    (["--certificate", "my-cert"], 4, "--certificate: not a certificate ARN"),
    (["--ws-port", "70000"], 2, "--ws-port"),
    (["--ws-port", "1000"], 4, "--ws-port: a Classic listener takes"),
    (["--http-port", "8080"], 4, "--http-port: port 8080 is already"),
    (["--wss-port", "8443"], 2, "--wss-port: WSS needs a certificate"),
    (["--https-port", "8444"], 2, "--https-port: the HTTPS listener needs a certificate"),
    (["--ssl-policy", "ELBSecurityPolicy-TLS-1-2-2017-01"], 2, "--ssl-policy: applies to the SSL/HTTPS listeners"),
    (["--certificate", "{cert}", "--ssl-policy", "ELBSecurityPolicy-TLS13-1-3-2021-06"], 4,
     "--ssl-policy: a Classic balancer takes one of"),
    (["--name", "bad_name"], 4, "--name: not a load balancer name"),
    (["--subnet", "subnet-0123456789abcdef0"], 4, "--subnet: no such subnet"),
    (["--security-group", "sg-0123456789abcdef0"], 4, "--security-group: no such security group"),
    (["--cookie-ttl", "0"], 2, "--cookie-ttl"),
])
def test_bad_input_is_one_line_naming_the_flag_and_changes_nothing(cli, aws, calls, args, code, needle) -> None:
    cert = issue_certificate(aws)
    calls.clear()
    r = create_elb(cli, *[a.replace("{cert}", cert) for a in args])
    assert r.exit_code == code, r.stderr
    assert needle in r.stderr
    assert len([x for x in r.stderr.splitlines() if x.startswith("error:")]) == 1
    assert "Traceback" not in r.stderr
    assert calls.mutating == []


def test_a_certificate_that_is_not_issued_is_refused(cli, aws, calls, monkeypatch) -> None:
    import moto.settings

    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 3600)  # requests stay PENDING_VALIDATION
    arn = aws.call("acm", "request_certificate", DomainName="pending.example.com",
                   ValidationMethod="DNS")["CertificateArn"]
    calls.clear()
    r = create_elb(cli, "--certificate", arn)
    assert r.exit_code == 4 and "--certificate: certificate" in r.stderr and "not ISSUED" in r.stderr
    assert calls.mutating == []


def test_the_full_example_is_a_valid_stack_file() -> None:
    s = spec.load(ROOT / "examples" / "classic-elb.toml")
    assert s.load_balancer is not None and s.load_balancer.type == "classic"
    assert s.launch is not None and s.launch.kind == "config" and s.autoscaling is not None
    assert s.load_balancer.health_check.port == 8081 and s.load_balancer.health_check.path == "/?action=stat"


def test_example_reads_back_and_down_keeps_images_unless_asked(cli, aws) -> None:
    # `up` again and `plan` of every example: tests/aws/test_examples.py.
    run_server(aws)
    cert = issue_certificate(aws)  # the sandbox's media.example.com certificate
    f = ROOT / "examples" / "classic-elb.toml"
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    lb = balancer(aws, "wcs-classic-elb")
    assert {x[:4] for x in listeners(lb)} == {("TCP", 8080, "TCP", 8080), ("SSL", 8443, "TCP", 8080),
                                              ("HTTP", 8081, "HTTP", 8081), ("HTTPS", 8444, "HTTP", 8081)}
    assert {x[4] for x in listeners(lb)} == {None, cert}
    assert policies(lb)[8081] == ["awslb-sticky-86400"]
    assert lb["HealthCheck"]["Target"] == "HTTP:8081/?action=stat"
    [image] = stack_images(aws, "wcs-classic")
    assert image["Name"] == "wcs-classic" and tags(image)["awslb:id"] == "image"

    status = json.loads(cli("--output", "json", "status", "wcs-classic").stdout)
    kinds = {x["id"]: x for x in status["resources"]}
    assert set(kinds) == {"lb-sg", "instance-sg", "image", "classic-lb", "launch-config", "asg"}
    assert kinds["classic-lb"]["dns_name"] == lb["DNSName"]
    # Step 3-4: a launch configuration from the image, a group behind the balancer on CPU.
    [group] = aws.call("autoscaling", "describe_auto_scaling_groups",
                       AutoScalingGroupNames=[kinds["asg"]["physical_id"]])["AutoScalingGroups"]
    assert group["LoadBalancerNames"] == ["wcs-classic-elb"]
    assert group["HealthCheckType"] == "ELB" and group["HealthCheckGracePeriod"] == 300
    [lc] = aws.call("autoscaling", "describe_launch_configurations",
                    LaunchConfigurationNames=[group["LaunchConfigurationName"]])["LaunchConfigurations"]
    assert lc["ImageId"] == image["ImageId"]
    [policy] = aws.call("autoscaling", "describe_policies",
                        AutoScalingGroupName=group["AutoScalingGroupName"])["ScalingPolicies"]
    assert policy["TargetTrackingConfiguration"]["TargetValue"] == 70

    r = cli("down", "wcs-classic", "--yes")
    assert r.exit_code == 0, r.stderr
    assert tagged_balancers(aws, "wcs-classic") == []
    assert aws.call("autoscaling", "describe_auto_scaling_groups")["AutoScalingGroups"] == []
    assert aws.call("autoscaling", "describe_launch_configurations")["LaunchConfigurations"] == []
    assert len(stack_images(aws, "wcs-classic")) == 1  # images stay unless asked
    r = cli("down", "wcs-classic", "--yes", "--delete-images")
    assert r.exit_code == 0, r.stderr
    assert stack_images(aws, "wcs-classic") == []
    left = aws.call("ec2", "describe_security_groups",
                    Filters=[{"Name": "tag:awslb:stack", "Values": ["wcs-classic"]}])["SecurityGroups"]
    assert left == []
    assert not [s for s in aws.call("ec2", "describe_snapshots", OwnerIds=["self"])["Snapshots"]
                if tags(s).get("awslb:stack") == "wcs-classic"]
