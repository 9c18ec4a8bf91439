"""The Network Load Balancer flow (seed 004): `create-nlb`, `listener https` (TCP -> TLS in
place), `asg create --nlb`, read back by the AWS CLI; re-runs make no write; `down` leaves
nothing; bad input never reaches AWS.

moto 5.2 refuses ModifyListener to TLS (AWS documents it for NLBs): awslb/moto_gaps.py
applies it as AWS does, in the sandbox and (autouse fixture) in these tests. Everything
else here is moto's own: NLB with security groups, TCP/TLS/UDP listeners, listener
attributes (tcp.idle_timeout.seconds), target group attributes.
"""

from __future__ import annotations

from awslb import aws as aws_mod
from awslb.aws import Aws
from tests.aws.test_awscli_reader import read
from tests.conftest import REGION, Calls, write

STACK = "ws"
NLB = "ws-nlb"


def attrs(items: list[dict]) -> dict:
    return {a["Key"]: a["Value"] for a in items}


def steps(cli, certificate: str, image: str) -> list:
    return [
        cli("create-nlb", "--stack", STACK, "--ws-port", "8080", "--rtmp-port", "1935", "--target",
            "wcs-configured"),
        cli("listener", "https", "--stack", STACK, "--lb", NLB, "--port", "8443", "--certificate", certificate),
        cli("asg", "create", "--stack", STACK, "--nlb", NLB, "--template", "edge", "--ami", image,
            "--set", "cdn_point_of_entry=172.31.0.4", "--min", "1", "--max", "2"),
    ]


def test_the_aws_cli_reads_the_nlb_flow_and_a_rerun_writes_nothing(cli, moto_server) -> None:
    from awslb.sandbox import seed_account

    seeded = seed_account(Aws(region=REGION))
    for r in steps(cli, seeded["certificate"], seeded["image"]):
        assert r.exit_code == 0, r.stderr
    url = moto_server

    [lb] = read(url, "elbv2", "describe-load-balancers", "--names", NLB)["LoadBalancers"]
    assert (lb["Type"], lb["Scheme"]) == ("network", "internet-facing")
    # The AWS CLI reads what the balancer and its listeners and groups hold (7 reads: each
    # starts a Python); the rest is read in-process.
    door = Aws(region=REGION, endpoint_url=url)
    [lb_sg] = door.call("ec2", "describe_security_groups", Filters=[
        {"Name": "tag:awslb:id", "Values": ["lb-sg"]}, {"Name": "tag:awslb:stack", "Values": [STACK]}])["SecurityGroups"]
    assert lb["SecurityGroups"] == [lb_sg["GroupId"]]  # set at creation: an NLB cannot get them later
    open_ports = sorted({p["FromPort"] for p in lb_sg["IpPermissions"]})
    assert open_ports == [1935, 8443]  # the TCP 8080 listener became TLS 8443: 8080 closed
    lb_attrs = attrs(read(url, "elbv2", "describe-load-balancer-attributes", "--load-balancer-arn",
                          lb["LoadBalancerArn"])["Attributes"])
    assert lb_attrs["load_balancing.cross_zone.enabled"] == "true"

    listeners = {ln["Port"]: ln for ln in read(url, "elbv2", "describe-listeners", "--load-balancer-arn",
                                               lb["LoadBalancerArn"])["Listeners"]}
    assert sorted(listeners) == [1935, 8443]
    tls, rtmp = listeners[8443], listeners[1935]
    assert tls["Protocol"] == "TLS" and tls["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert [c["CertificateArn"] for c in tls["Certificates"]] == [seeded["certificate"]]
    assert rtmp["Protocol"] == "TCP"
    rtmp_attrs = attrs(read(url, "elbv2", "describe-listener-attributes", "--listener-arn",
                            rtmp["ListenerArn"])["Attributes"])
    assert rtmp_attrs["tcp.idle_timeout.seconds"] == "3600"

    groups = {g["TargetGroupName"]: g for g in read(url, "elbv2", "describe-target-groups")["TargetGroups"]}
    ws, rtmp_tg = groups["ws-ws"], groups["ws-rtmp"]
    assert tls["DefaultActions"][0]["TargetGroupArn"] == ws["TargetGroupArn"]
    assert rtmp["DefaultActions"][0]["TargetGroupArn"] == rtmp_tg["TargetGroupArn"]
    assert (ws["Protocol"], ws["Port"], ws["TargetType"]) == ("TCP", 8080, "instance")
    assert (ws["HealthCheckProtocol"], ws["HealthCheckPort"], ws["HealthCheckPath"]) == \
        ("HTTP", "8081", "/?action=stat")
    assert ws["Matcher"]["HttpCode"] == "200"
    tg_attrs = attrs(read(url, "elbv2", "describe-target-group-attributes", "--target-group-arn",
                          ws["TargetGroupArn"])["Attributes"])
    assert tg_attrs["preserve_client_ip.enabled"] == "true"
    assert (tg_attrs["stickiness.enabled"], tg_attrs["stickiness.type"]) == ("true", "source_ip")
    registered = door.call("elbv2", "describe_target_health",
                           TargetGroupArn=ws["TargetGroupArn"])["TargetHealthDescriptions"]
    assert seeded["instance"] in {d["Target"]["Id"] for d in registered}
    [group] = read(url, "autoscaling", "describe-auto-scaling-groups")["AutoScalingGroups"]
    assert sorted(group["TargetGroupARNs"]) == sorted([ws["TargetGroupArn"], rtmp_tg["TargetGroupArn"]])

    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        again = steps(cli, seeded["certificate"], seeded["image"])
    assert all(r.exit_code == 0 for r in again), [r.stderr for r in again]
    assert rec.mutating == []
    status = cli("status", STACK)
    assert status.exit_code == 0, status.stderr
    assert "350 (fixed by AWS on TLS listeners)" in status.stdout and "cross_zone: true" in status.stdout

    assert cli("down", STACK, "--yes").exit_code == 0
    assert door.call("elbv2", "describe_load_balancers")["LoadBalancers"] == []
    assert door.call("elbv2", "describe_target_groups")["TargetGroups"] == []
    assert door.call("autoscaling", "describe_auto_scaling_groups")["AutoScalingGroups"] == []
    assert door.call("ec2", "describe_security_groups", Filters=[
        {"Name": "tag:awslb:stack", "Values": [STACK]}])["SecurityGroups"] == []
    assert door.call("ec2", "describe_launch_templates", Filters=[
        {"Name": "tag:awslb:stack", "Values": [STACK]}])["LaunchTemplates"] == []


def test_tcp_to_tls_opens_the_new_port_before_the_switch_and_closes_the_old_after(cli, seeded) -> None:
    assert cli("create-nlb", "--stack", STACK).exit_code == 0
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        r = cli("listener", "https", "--stack", STACK, "--certificate", seeded["certificate"])
    assert r.exit_code == 0, r.stderr
    assert "350 s, fixed by AWS" in r.stderr  # the TLS listener's idle timeout is AWS's
    ops = [op for _, op in rec.mutating]
    assert ops == ["AuthorizeSecurityGroupIngress", "ModifyListener", "RevokeSecurityGroupIngress"]


def test_the_tcp_idle_timeout_follows_the_stack(cli, seeded) -> None:
    assert cli("create-nlb", "--stack", STACK, "--idle-timeout", "600").exit_code == 0
    elb = Aws(region=REGION)
    [lb] = elb.call("elbv2", "describe_load_balancers", Names=[NLB])["LoadBalancers"]
    [ln] = elb.call("elbv2", "describe_listeners", LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    got = elb.call("elbv2", "describe_listener_attributes", ListenerArn=ln["ListenerArn"])["Attributes"]
    assert attrs(got)["tcp.idle_timeout.seconds"] == "600"
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        assert cli("create-nlb", "--stack", STACK, "--idle-timeout", "4800").exit_code == 0
    assert [op for _, op in rec.mutating] == ["ModifyListenerAttributes"]  # in place, nothing else


def test_an_alb_becomes_an_nlb_only_with_allow_replace(cli, seeded) -> None:
    assert cli("create-alb", "--stack", STACK).exit_code == 0
    plan = cli("create-nlb", "--stack", STACK, "--dry-run")
    assert plan.exit_code == 0, plan.stderr
    assert "type: application → network" in plan.stdout + plan.stderr
    refused = cli("create-nlb", "--stack", STACK, "--yes")
    assert refused.exit_code != 0 and "--allow-replace" in refused.stderr
    done = cli("create-nlb", "--stack", STACK, "--yes", "--allow-replace")
    assert done.exit_code == 0, done.stderr
    lbs = Aws(region=REGION).call("elbv2", "describe_load_balancers")["LoadBalancers"]
    assert [(b["LoadBalancerName"], b["Type"]) for b in lbs] == [(NLB, "network")]


def test_bad_nlb_input_is_one_line_and_reaches_no_aws(cli, seeded, tmp_path) -> None:
    # Flags that contradict each other: exit 2; a value the stack's rules refuse (checked by
    # the spec, named by its flag, as for every step command): exit 4.
    cases = [
        (("create-nlb", "--udp-port", "8080"), 4, "--udp-port: 8080 is also a TCP listener's port"),
        (("create-nlb", "--udp-port", "0", "--udp-port", "5000"), 2, "--udp-port: 0 removes"),
        (("create-nlb", "--wss-port", "8443"), 2, "--wss-port: WSS needs a certificate"),
        (("create-nlb", "--certificate", seeded["certificate"], "--idle-timeout", "900"), 2,
         "--idle-timeout: an NLB's TLS listener keeps idle connections 350 s"),
        (("create-nlb", "--ssl-policy", "ELBSecurityPolicy-2011-08", "--certificate", seeded["certificate"]), 4,
         "--ssl-policy: not a Network Load Balancer security policy"),
        (("asg", "create", "--nlb", "bad_name!", "--launch-template", "lt"), 4, "--nlb: not a load balancer name"),
    ]
    stack_file = write(tmp_path / "nlb.toml", '[stack]\nname = "x"\n[load_balancer]\ntype = "network"\n'
                                              "idle_timeout = 30\n")
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        for args, code, message in cases:
            r = cli(*args)
            assert r.exit_code == code, (args, r.stderr)
            assert r.stderr.strip().splitlines()[0].startswith(f"error: {message}"), (args, r.stderr)
        r = cli("up", "-f", str(stack_file), "--yes")
        assert r.exit_code == 4 and "load_balancer.idle_timeout: a Network Load Balancer's TCP idle timeout " \
            "is 60-6000 s" in r.stderr
    assert rec.made == []
