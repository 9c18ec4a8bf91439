"""The Application Load Balancer flow under moto, every attribute read back from AWS.

Guide 000, "Запуск балансировщика нагрузки для приложений с использованием существующих
серверов": balancer, WebSocket target group with the existing servers, and the listener
edited to HTTPS 8443 ("Редактирование порта балансировщика").
"""

import json
from pathlib import Path

import pytest

from awslb.aws import Aws
from awslb.spec import DEFAULT_SSL_POLICY
from tests.conftest import REGION, ROOT, write

EXAMPLE = ROOT / "examples" / "alb-existing-servers.toml"
SERVER = "wcs-configured"
# One of moto's built-in images (listing them all takes seconds).
MOTO_AMI = "ami-12c6146b"


# -- helpers: the world the guide starts from, and reading AWS back -----------------------

def run_server(aws: Aws, name: str = SERVER, subnet: str | None = None) -> str:
    extra = {"SubnetId": subnet} if subnet else {}
    inst = aws.call("ec2", "run_instances", ImageId=MOTO_AMI, InstanceType="c5.large", MinCount=1, MaxCount=1,
                    TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
                    **extra)["Instances"][0]
    return inst["InstanceId"]


def request_cert(aws: Aws, domain: str = "media.example.com", *sans: str) -> str:
    extra = {"SubjectAlternativeNames": [domain, *sans]} if sans else {}
    return aws.call("acm", "request_certificate", DomainName=domain, ValidationMethod="DNS", **extra)["CertificateArn"]


def tags(aws: Aws, arn: str) -> dict[str, str]:
    d = aws.call("elbv2", "describe_tags", ResourceArns=[arn])["TagDescriptions"][0]
    return {t["Key"]: t["Value"] for t in d.get("Tags", [])}


def read_back(aws: Aws, stack: str) -> dict:
    """Everything of the stack on ELBv2, by awslb:id, straight from describe calls."""
    out: dict = {"alb": None, "tg": {}, "listeners": {}}
    for lb in aws.call("elbv2", "describe_load_balancers")["LoadBalancers"]:
        if tags(aws, lb["LoadBalancerArn"]).get("awslb:stack") != stack:
            continue
        attrs = aws.call("elbv2", "describe_load_balancer_attributes", LoadBalancerArn=lb["LoadBalancerArn"])
        out["alb"] = {**lb, "attrs": {a["Key"]: a["Value"] for a in attrs["Attributes"]}}
        for ln in aws.call("elbv2", "describe_listeners", LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            out["listeners"][tags(aws, ln["ListenerArn"])["awslb:id"]] = ln
    for tg in aws.call("elbv2", "describe_target_groups")["TargetGroups"]:
        t = tags(aws, tg["TargetGroupArn"])
        if t.get("awslb:stack") != stack:
            continue
        attrs = aws.call("elbv2", "describe_target_group_attributes", TargetGroupArn=tg["TargetGroupArn"])
        health = aws.call("elbv2", "describe_target_health", TargetGroupArn=tg["TargetGroupArn"])
        out["tg"][t["awslb:id"]] = {
            **tg, "attrs": {a["Key"]: a["Value"] for a in attrs["Attributes"]},
            "targets": {d["Target"]["Id"] for d in health["TargetHealthDescriptions"]
                        if d["TargetHealth"]["State"] != "draining"},
        }
    return out


def nothing_tagged(aws: Aws, stack: str) -> bool:
    state = read_back(aws, stack)
    groups = aws.call("ec2", "describe_security_groups",
                      Filters=[{"Name": "tag:awslb:stack", "Values": [stack]}])["SecurityGroups"]
    return state["alb"] is None and not state["tg"] and not groups


def lb_sg(aws: Aws, stack: str) -> str:
    groups = aws.call("ec2", "describe_security_groups", Filters=[
        {"Name": "tag:awslb:stack", "Values": [stack]}, {"Name": "tag:awslb:id", "Values": ["lb-sg"]}])
    return groups["SecurityGroups"][0]["GroupId"]


def assert_guide_target_group(tg: dict, port: int, targets: set[str]) -> None:
    assert (tg["Protocol"], tg["Port"], tg["ProtocolVersion"], tg["TargetType"]) == ("HTTP", port, "HTTP1", "instance")
    assert (tg["HealthCheckProtocol"], tg["HealthCheckPort"], tg["HealthCheckPath"]) == ("HTTP", "8081", "/?action=stat")
    assert tg["Matcher"]["HttpCode"] == "200"
    assert tg["attrs"]["stickiness.enabled"] == "true"
    assert tg["attrs"]["stickiness.type"] == "lb_cookie"
    assert tg["attrs"]["stickiness.lb_cookie.duration_seconds"] == "86400"
    assert tg["attrs"]["deregistration_delay.timeout_seconds"] == "300"
    assert tg["targets"] == targets


def one_error(r) -> None:
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.startswith("error: "), r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("error:")]) == 1


ALB_ARGS = ("create-alb", "--name", "wcs-alb", "--ws-port", "8080", "--http-port", "8081",
            "--target", SERVER, "--stack", "alb1", "--yes")


# -- the example stack --------------------------------------------------------------------

def test_example_stack_reads_back_as_the_guide_says(cli, aws) -> None:
    # `up` again, `plan` and `down` of every example: tests/aws/test_examples.py.
    server = run_server(aws)
    cert = request_cert(aws)
    r = cli("up", "-f", str(EXAMPLE), "--yes")
    assert r.exit_code == 0, r.stderr
    got = read_back(aws, "wcs-alb")
    alb = got["alb"]
    assert alb["LoadBalancerName"] == "wcs-alb"
    assert (alb["Type"], alb["Scheme"], alb["State"]["Code"]) == ("application", "internet-facing", "active")
    assert alb["SecurityGroups"] == [lb_sg(aws, "wcs-alb")]
    assert len({z["ZoneName"] for z in alb["AvailabilityZones"]}) >= 2
    assert alb["attrs"]["idle_timeout.timeout_seconds"] == "3600"
    assert alb["attrs"]["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert_guide_target_group(got["tg"]["ws-tg"], 8080, {server})
    assert_guide_target_group(got["tg"]["http-tg"], 8081, {server})
    ws, http = got["listeners"]["ws-listener"], got["listeners"]["http-listener"]
    assert (ws["Protocol"], ws["Port"], ws["SslPolicy"]) == ("HTTPS", 8443, DEFAULT_SSL_POLICY)
    assert ws["Certificates"][0]["CertificateArn"] == cert
    assert ws["DefaultActions"][0]["TargetGroupArn"] == got["tg"]["ws-tg"]["TargetGroupArn"]
    assert (http["Protocol"], http["Port"]) == ("HTTP", 8081)
    assert http["DefaultActions"][0]["TargetGroupArn"] == got["tg"]["http-tg"]["TargetGroupArn"]
    assert len(got["listeners"]) == 2

    status = json.loads(cli("--output", "json", "status", "wcs-alb").stdout)
    by_id = {x["id"]: x for x in status["resources"]}
    assert by_id["alb"]["state"] == "active" and by_id["alb"]["dns_name"] == alb["DNSName"]
    assert by_id["ws-listener"]["url"] == f"wss://{alb['DNSName']}:8443"
    assert [t["id"] for t in by_id["ws-tg"]["targets"]] == [server]


# -- create-alb, listener https, create-alb again ----------------------------------------------

def test_create_alb_then_https_then_both_again(cli, aws, calls) -> None:
    server = run_server(aws)
    cert = request_cert(aws)
    r = cli("--output", "json", *ALB_ARGS)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    got = read_back(aws, "alb1")
    alb = got["alb"]
    assert data["dns_name"] == alb["DNSName"] and data["alb_arn"] == alb["LoadBalancerArn"]
    assert data["state"] == "active"
    assert data["ws_url"] == f"ws://{alb['DNSName']}:8080"
    assert data["target_group_arns"] == {i: tg["TargetGroupArn"] for i, tg in got["tg"].items()}
    assert {(t["target_group"], t["id"]) for t in data["targets"]} == {("ws-tg", server), ("http-tg", server)}
    assert_guide_target_group(got["tg"]["ws-tg"], 8080, {server})
    ws_before = got["listeners"]["ws-listener"]
    assert (ws_before["Protocol"], ws_before["Port"]) == ("HTTP", 8080)

    https_args = ("listener", "https", "--lb", "wcs-alb", "--port", "8443", "--certificate", cert,
                  "--stack", "alb1", "--yes")
    calls.clear()
    r = cli(*https_args)
    assert r.exit_code == 0, r.stderr
    assert "wss://" in r.stdout
    # In place: the listener is modified, never deleted and made again.
    assert ("elbv2", "ModifyListener") in calls.mutating
    assert not {op for _, op in calls.mutating} & {"DeleteListener", "CreateListener", "DeleteLoadBalancer"}
    ws = read_back(aws, "alb1")["listeners"]["ws-listener"]
    assert ws["ListenerArn"] == ws_before["ListenerArn"]
    assert (ws["Protocol"], ws["Port"], ws["SslPolicy"]) == ("HTTPS", 8443, DEFAULT_SSL_POLICY)
    assert ws["Certificates"][0]["CertificateArn"] == cert
    groups = aws.call("ec2", "describe_security_groups", GroupIds=[lb_sg(aws, "alb1")])["SecurityGroups"]
    assert any(p["FromPort"] == 8443 for p in groups[0]["IpPermissions"])

    calls.clear()
    r = cli(*https_args)
    assert r.exit_code == 0, r.stderr
    assert calls.mutating == []
    assert "up to date" in r.stderr

    calls.clear()
    r = cli("--output", "json", *ALB_ARGS)
    assert r.exit_code == 0, r.stderr
    assert calls.mutating == []
    assert json.loads(r.stdout)["ws_url"] == f"wss://{alb['DNSName']}:8443"
    ws = read_back(aws, "alb1")["listeners"]["ws-listener"]
    assert (ws["Protocol"], ws["Port"]) == ("HTTPS", 8443)

    assert cli("down", "alb1", "--yes").exit_code == 0
    assert nothing_tagged(aws, "alb1")


def test_https_by_domain_prefers_the_exact_certificate(cli, aws) -> None:
    run_server(aws)
    request_cert(aws, "example.com", "*.example.com")
    exact = request_cert(aws, "media.example.com")
    assert cli(*ALB_ARGS).exit_code == 0
    r = cli("listener", "https", "--domain", "media.example.com", "--stack", "alb1", "--yes")
    assert r.exit_code == 0, r.stderr
    ws = read_back(aws, "alb1")["listeners"]["ws-listener"]
    assert ws["Certificates"][0]["CertificateArn"] == exact


def test_https_by_wildcard_domain(cli, aws) -> None:
    run_server(aws)
    wildcard = request_cert(aws, "example.com", "*.example.com")
    assert cli(*ALB_ARGS).exit_code == 0
    r = cli("listener", "https", "--domain", "wcs.example.com", "--ssl-policy", "ELBSecurityPolicy-TLS13-1-3-2021-06",
            "--stack", "alb1", "--yes")
    assert r.exit_code == 0, r.stderr
    ws = read_back(aws, "alb1")["listeners"]["ws-listener"]
    assert ws["Certificates"][0]["CertificateArn"] == wildcard
    assert ws["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"


# -- the settings of create-alb -------------------------------------------------------------

def test_internal_alb_in_given_subnets_and_groups(cli, aws) -> None:
    vpc = aws.call("ec2", "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = sorted(aws.call("ec2", "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"],
                     key=lambda s: s["AvailabilityZone"])[:2]
    sg = aws.call("ec2", "create_security_group", GroupName="mine", Description="mine", VpcId=vpc)["GroupId"]
    r = cli("create-alb", "--internal", "--subnet", subnets[0]["SubnetId"], "--subnet", subnets[1]["SubnetId"],
            "--security-group", sg, "--idle-timeout", "1200", "--no-sticky", "--cookie-ttl", "600",
            "--health-port", "8082", "--health-path", "/health", "--stack", "int1", "--yes")
    assert r.exit_code == 0, r.stderr
    assert "no targets registered yet" in r.stdout
    got = read_back(aws, "int1")
    alb = got["alb"]
    assert alb["LoadBalancerName"] == "int1-alb" and alb["Scheme"] == "internal"
    assert sorted(z["SubnetId"] for z in alb["AvailabilityZones"]) == sorted(s["SubnetId"] for s in subnets)
    assert alb["SecurityGroups"] == [sg]
    assert alb["attrs"]["idle_timeout.timeout_seconds"] == "1200"
    tg = got["tg"]["ws-tg"]
    assert tg["attrs"]["stickiness.enabled"] == "false"
    assert tg["attrs"]["stickiness.lb_cookie.duration_seconds"] == "600"
    assert (tg["HealthCheckPort"], tg["HealthCheckPath"]) == ("8082", "/health")
    assert set(got["listeners"]) == {"ws-listener"} and set(got["tg"]) == {"ws-tg"}


def test_targets_converge_and_auto_scaling_members_stay(cli, aws, calls) -> None:
    a = run_server(aws, "wcs-a")
    b = run_server(aws, "wcs-b")
    assert cli("create-alb", "--target", "wcs-a", "--stack", "conv", "--yes").exit_code == 0
    tg_arn = read_back(aws, "conv")["tg"]["ws-tg"]["TargetGroupArn"]
    # An Auto Scaling group attached to the same group registers its own instance.
    aws.call("ec2", "create_launch_template", LaunchTemplateName="edge-lt",
             LaunchTemplateData={"ImageId": MOTO_AMI, "InstanceType": "c5.large"})
    aws.call("autoscaling", "create_auto_scaling_group", AutoScalingGroupName="edge", MinSize=1, MaxSize=1,
             LaunchTemplate={"LaunchTemplateName": "edge-lt"}, AvailabilityZones=[f"{REGION}a"],
             TargetGroupARNs=[tg_arn])
    scaled = aws.call("autoscaling", "describe_auto_scaling_groups",
                      AutoScalingGroupNames=["edge"])["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]
    assert read_back(aws, "conv")["tg"]["ws-tg"]["targets"] == {a, scaled}

    calls.clear()
    r = cli("create-alb", "--target", b, "--stack", "conv", "--yes")
    assert r.exit_code == 0, r.stderr
    assert sorted(op for _, op in calls.mutating) == ["DeregisterTargets", "RegisterTargets"]
    assert read_back(aws, "conv")["tg"]["ws-tg"]["targets"] == {b, scaled}
    calls.clear()
    assert cli("create-alb", "--target", b, "--stack", "conv", "--yes").exit_code == 0
    assert calls.mutating == []


def test_target_group_alone_then_a_balancer_in_front(cli, aws, calls) -> None:
    server = run_server(aws)
    args = ("target-group", "create", "--name", "wcs-ws", "--target", SERVER, "--stack", "tg1", "--yes")
    r = cli("--output", "json", *args)
    assert r.exit_code == 0, r.stderr
    got = read_back(aws, "tg1")
    assert got["alb"] is None and set(got["tg"]) == {"ws-tg"}
    tg = got["tg"]["ws-tg"]
    assert tg["TargetGroupName"] == "wcs-ws"
    assert_guide_target_group(tg, 8080, {server})
    assert json.loads(r.stdout)["target_group_arns"] == {"ws-tg": tg["TargetGroupArn"]}
    calls.clear()
    assert cli(*args).exit_code == 0
    assert calls.mutating == []

    r = cli("create-alb", "--target", SERVER, "--stack", "tg1", "--yes")
    assert r.exit_code == 0, r.stderr
    got = read_back(aws, "tg1")
    assert got["tg"]["ws-tg"]["TargetGroupArn"] == tg["TargetGroupArn"]
    assert got["listeners"]["ws-listener"]["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    assert cli("down", "tg1", "--yes").exit_code == 0
    assert nothing_tagged(aws, "tg1")


def test_dry_run_changes_nothing(cli, aws, calls) -> None:
    run_server(aws)
    calls.clear()
    r = cli("create-alb", "--target", SERVER, "--stack", "dry", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert "create" in r.stdout and "alb" in r.stdout
    assert calls.mutating == []


# -- bad input: one line, the flag named, nothing changed ---------------------------------------

@pytest.mark.parametrize("args, code, needle", [
    (["--ws-port", "70000"], 2, "--ws-port"),
    (["--http-port", "-1"], 2, "--http-port"),  # 0 turns it off
    (["--health-path", "action=stat"], 4, "--health-path"),
    (["--target", "i-0123456789abcdef0"], 4, "--target"),
    (["--target", "10.0.0.5"], 4, "--target"),
    (["--target", "sg-12345678"], 4, "--target"),
    (["--subnet", "subnet-12345678"], 4, "--subnet"),
    (["--security-group", "sg-12345678"], 4, "--security-group"),
    (["--name", "wcs_alb"], 4, "--name"),
    (["--idle-timeout", "0"], 4, "--idle-timeout"),
])
def test_create_alb_bad_input(cli, aws, calls, args, code, needle) -> None:
    run_server(aws)
    calls.clear()
    r = cli("create-alb", *args, "--stack", "bad", "--yes")
    assert r.exit_code == code, r.stderr
    assert needle in r.stderr
    one_error(r)
    assert calls.mutating == []


def test_a_name_taken_outside_the_stack(cli, aws, calls) -> None:
    assert cli("create-alb", "--name", "taken", "--stack", "one", "--yes").exit_code == 0
    calls.clear()
    r = cli("create-alb", "--name", "taken", "--stack", "two", "--yes")
    assert r.exit_code == 4 and "--name" in r.stderr and "exists outside stack two" in r.stderr
    one_error(r)
    assert calls.mutating == []


def test_listener_https_bad_input(cli, aws, calls, monkeypatch) -> None:
    import moto.settings

    run_server(aws)
    assert cli(*ALB_ARGS).exit_code == 0
    good = request_cert(aws)
    other = request_cert(aws, "other.example.org")
    cases = [
        (["--lb", "other", "--certificate", good], 4, "--lb: no balancer other in stack alb1"),
        (["--certificate", good[:-4] + "ffff"], 4, "--certificate: no such certificate"),
        (["--certificate", "arn:aws:s3:::bucket"], 4, "--certificate: not a certificate ARN"),
        (["--certificate", good.replace(REGION, "eu-west-1")], 4, "the certificate is in eu-west-1"),
        (["--certificate", other, "--domain", "media.example.com"], 4, "does not cover media.example.com"),
        (["--domain", "nothing.example.net"], 4, "--domain: no issued ACM certificate"),
        ([], 2, "--certificate"),
        (["--port", "65536", "--certificate", good], 2, "--port"),
        (["--from-port", "9000", "--certificate", good], 4, "--from-port"),
        (["--port", "8081", "--certificate", good], 4, "--port: "),
    ]
    # Last: moto keeps a certificate requested now pending while its validation wait lasts
    # (those described before are issued by then).
    for arn in (good, other):
        assert aws.call("acm", "describe_certificate", CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 10**6)
    pending = request_cert(aws, "pending.example.com")
    cases.append((["--certificate", pending], 4, "is PENDING_VALIDATION, not ISSUED"))
    for args, code, needle in cases:
        calls.clear()
        r = cli("listener", "https", "--stack", "alb1", "--yes", *args)
        assert r.exit_code == code, (args, r.stderr)
        assert needle in r.stderr, (args, r.stderr)
        one_error(r)
        assert calls.mutating == [], args
    ws = read_back(aws, "alb1")["listeners"]["ws-listener"]
    assert (ws["Protocol"], ws["Port"]) == ("HTTP", 8080)


@pytest.mark.parametrize("lb", [None, "wcs-alb"])
def test_listener_https_without_a_balancer(cli, aws, calls, lb) -> None:
    cert = request_cert(aws)
    args = ["listener", "https", "--certificate", cert, "--stack", "empty", "--yes"]
    if lb:
        args += ["--lb", lb]
    calls.clear()
    r = cli(*args)
    assert r.exit_code == 4
    assert ("--lb: no balancer wcs-alb in stack empty" if lb else "--stack: stack empty has no load balancer") in r.stderr
    assert "outside awslb" in r.stderr
    one_error(r)
    assert calls.made == []


def test_stack_file_with_a_bad_certificate_changes_nothing(cli, aws, calls, tmp_path: Path) -> None:
    run_server(aws)
    f = write(tmp_path / "s.toml", EXAMPLE.read_text())  # no certificate for the domain in this account
    calls.clear()
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4
    assert "load_balancer.https.domain: no issued ACM certificate" in r.stderr
    assert calls.mutating == []


# -- fault injection: fail each mutating call of the example in turn --------------------------

def test_example_runs_in_the_sandbox(tmp_path) -> None:
    """The command in the example's header, as a user runs it (moto's server on loopback)."""
    from tests.conftest import run_awslb

    r = run_awslb("--sandbox", "--output", "json", "up", "-f", str(EXAMPLE), "--yes")
    assert r.returncode == 0, r.stderr
    steps = json.loads(r.stdout)["steps"]
    assert {(s["kind"], s["id"]) for s in steps if s["ok"] and s["action"] == "create"} == {
        ("security_group", "lb-sg"), ("security_group", "instance-sg"), ("target_group", "ws-tg"),
        ("target_group", "http-tg"), ("load_balancer", "alb"), ("listener", "ws-listener"),
        ("listener", "http-listener")}
