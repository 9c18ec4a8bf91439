"""[haproxy] deploy = true under moto: the HAProxy tier as a group of one with an Elastic IP.

The launch template (secondary addresses on the interface, IMDSv2, the host's role, the
Elastic IP's allocation id in the user-data and no PEM in it), the group of one, a role that
may only read its one secret and associate its own address, the security groups; a second
run writes nothing; `down` (and `haproxy down`) leave nothing of it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from awslb.aws import Aws
from tests.aws.test_redirector import groups, rules
from tests.conftest import write

AMI = "ami-1e749f67"   # in moto's default image set
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n" \
      "-----END PRIVATE KEY-----\n"
STACK = "wcs-hap"


def stack_text(extra: str = "") -> str:
    return f"""
[stack]
name = "{STACK}"
ssh_cidr = "198.51.100.0/24"

[haproxy]
deploy = true
ami = "{AMI}"
instance_type = "c5.large"
secondary_addresses = 2
pem_secret = "awslb/wcs-hap/pem"
clients = ["203.0.113.0/24"]
servers = [{{ name = "wcs1", host = "172.31.10.5" }}, {{ name = "wcs2", host = "172.31.10.6" }}]
{extra}
"""


@pytest.fixture
def secret(aws: Aws) -> str:
    return aws.call("secretsmanager", "create_secret", Name="awslb/wcs-hap/pem", SecretString=PEM)["ARN"]


def tier(aws: Aws) -> dict[str, object]:
    """What exists of the tier: group, launch template, Elastic IP, role, live host instances."""
    tag = [{"Name": "tag:awslb:stack", "Values": [STACK]}]
    asgs = [g for g in aws.call("autoscaling", "describe_auto_scaling_groups")["AutoScalingGroups"]
            if g["AutoScalingGroupName"] == f"{STACK}-haproxy-group"]
    lts = aws.call("ec2", "describe_launch_templates", Filters=tag)["LaunchTemplates"]
    eips = aws.call("ec2", "describe_addresses", Filters=tag)["Addresses"]
    roles = aws.call("iam", "list_roles", PathPrefix=f"/awslb/{STACK}/")["Roles"]
    hosts = [i for r in aws.call("ec2", "describe_instances", Filters=[
        *tag, {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
        for i in r["Instances"]]
    return {"asgs": asgs, "lts": lts, "eips": eips, "roles": roles, "hosts": hosts}


def test_up_again_and_down(cli, aws: Aws, secret: str, calls, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", stack_text())
    plan = json.loads(cli("--output", "json", "plan", "-f", str(f)).stdout)
    made = {(s["kind"], s["id"]) for s in plan["steps"] if s["action"] == "create"}
    assert {("haproxy_template", "haproxy-lt"), ("haproxy_group", "haproxy-group"), ("elastic_ip", "haproxy-eip"),
            ("iam_role", "haproxy-role"), ("security_group", "haproxy-sg")} <= made
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    t = tier(aws)
    [group], [lt], [eip], [role] = t["asgs"], t["lts"], t["eips"], t["roles"]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 1, 1)
    assert group["LaunchTemplate"]["LaunchTemplateId"] == lt["LaunchTemplateId"]
    data = aws.call("ec2", "describe_launch_template_versions", LaunchTemplateId=lt["LaunchTemplateId"],
                    Versions=["$Default"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    nic = data["NetworkInterfaces"][0]
    g = groups(aws, STACK)
    assert nic["SecondaryPrivateIpAddressCount"] == 2 and nic["Groups"] == [g["haproxy-sg"]["GroupId"]]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    assert data["IamInstanceProfile"]["Arn"].endswith(f"/awslb/{STACK}/{STACK}-haproxy-role")
    script = base64.b64decode(data["UserData"]).decode()
    assert script.startswith("#!/bin/bash\n") and len(script.encode()) < 16384
    assert f"--allocation-id {eip['AllocationId']}" in script and "--allow-reassociation" in script
    assert "--secret-id awslb/wcs-hap/pem" in script and "MIIE" not in script   # the PEM is never in it
    assert "source 192.0.2.1" in script and "source 192.0.2.2" in script      # replaced at boot
    assert len(t["hosts"]) == 1   # the group's one host (moto runs it at once)

    # The role: its one secret, and AssociateAddress only on the stack's EIP and its own instance.
    policy = aws.call("iam", "get_role_policy", RoleName=role["RoleName"], PolicyName="awslb")["PolicyDocument"]
    stmts = {s["Sid"]: s for s in policy["Statement"]}
    assert set(stmts) == {"PemSecret", "OwnElasticIp", "ToItself"}
    assert stmts["PemSecret"]["Action"] == "secretsmanager:GetSecretValue"
    assert stmts["PemSecret"]["Resource"] == "arn:aws:secretsmanager:us-east-1:*:secret:awslb/wcs-hap/pem-??????"
    assert stmts["OwnElasticIp"]["Action"] == stmts["ToItself"]["Action"] == "ec2:AssociateAddress"
    assert stmts["OwnElasticIp"]["Condition"] == {"StringEquals": {"aws:ResourceTag/awslb:stack": STACK,
                                                                   "aws:ResourceTag/awslb:id": "haproxy-eip"}}
    assert stmts["ToItself"]["Condition"]["StringEquals"]["aws:ResourceTag/awslb:id"] == "haproxy-host"
    assert all("*" != s["Resource"] for s in policy["Statement"])

    # 443/80 from the configured clients, 22 from ssh_cidr; the media servers admit the host.
    hap, inst = g["haproxy-sg"], g["instance-sg"]
    assert rules(hap) == {("tcp", 443, 443, "203.0.113.0/24"), ("tcp", 80, 80, "203.0.113.0/24"),
                          ("tcp", 22, 22, "198.51.100.0/24")}
    from_host = {(lo, hi) for proto, lo, hi, src in rules(inst) if src == hap["GroupId"]}
    assert {(8080, 8084), (8443, 8445), (9707, 9707)} <= from_host   # WebSocket, stat 8081, agent

    calls.clear()
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0 and calls.mutating == [], (again.stderr, calls.mutating)

    down = cli("down", STACK, "--yes")
    assert down.exit_code == 0, down.stderr
    assert all(not v for v in tier(aws).values()), tier(aws)
    assert groups(aws, STACK) == {}


def test_haproxy_up_and_down_as_step_commands(cli, aws: Aws, secret: str, calls) -> None:
    args = ("haproxy", "up", "--stack", STACK, "--ami", AMI, "--pem-secret", secret,
            "--server", "wcs1=172.31.10.5:8080", "--secondary-addresses", "1")
    r = cli(*args)
    assert r.exit_code == 0, r.stderr
    t = tier(aws)
    assert len(t["asgs"]) == len(t["lts"]) == len(t["eips"]) == len(t["roles"]) == 1
    policy = aws.call("iam", "get_role_policy", RoleName=t["roles"][0]["RoleName"],
                      PolicyName="awslb")["PolicyDocument"]
    assert next(s for s in policy["Statement"] if s["Sid"] == "PemSecret")["Resource"] == secret  # an ARN as is

    calls.clear()
    again = cli("haproxy", "up", "--stack", STACK)   # the recorded values
    assert again.exit_code == 0 and calls.mutating == [], (again.stderr, calls.mutating)

    refused = cli("haproxy", "down", "--stack", STACK)   # deletes: needs --yes without a terminal
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    gone = cli("haproxy", "down", "--stack", STACK, "--yes")
    assert gone.exit_code == 0, gone.stderr
    assert all(not v for v in tier(aws).values()), tier(aws)
    assert groups(aws, STACK).keys() == {"lb-sg", "instance-sg"}   # the step's own group went too


@pytest.mark.parametrize(("args", "code", "message"), [
    ((), 2, "--ami: missing"),
    (("--ami", AMI), 2, "--pem-secret NAME"),
    (("--ami", "ami-xyz", "--pem-secret", "p"), 4, "--ami: not an image id"),
    (("--ami", AMI, "--pem-secret", "bad secret"), 4, "--pem-secret: not a Secrets Manager secret"),
    (("--ami", AMI, "--pem-secret", "p", "--client", "10.0.0.0/33"), 4, "--client: not a CIDR block"),
    (("--ami", AMI, "--pem-secret", "p", "--websdk-url", "http://x/y.tgz"), 4, "--websdk-url: an https:// URL"),
    (("--ami", AMI, "--pem-secret", "p"), 4, "dns.servers_record"),   # no servers and no servers record
])
def test_bad_flags_name_the_flag_and_send_nothing(cli, aws: Aws, calls, args, code, message) -> None:
    r = cli("haproxy", "up", "--stack", STACK, *args)
    assert r.exit_code == code, (r.exit_code, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert calls.mutating == []


def test_a_missing_secret_or_image_is_refused_before_any_write(cli, aws: Aws, calls, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", stack_text())
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4 and "haproxy.pem_secret: no such secret" in r.stderr, r.stderr
    assert calls.mutating == []
    aws.call("secretsmanager", "create_secret", Name="awslb/wcs-hap/pem", SecretString=PEM)
    calls.clear()
    f = write(tmp_path / "s.toml", stack_text().replace(AMI, "ami-0123456789abcdef0"))
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4 and "haproxy.ami: no such image" in r.stderr, r.stderr
    assert calls.mutating == []


def dns_stack(zone: str) -> str:
    """A media group followed through the servers record (no fixed haproxy.servers)."""
    return f"""
[stack]
name = "{STACK}"

[image]
id = "{AMI}"

[launch]
userdata = "standalone"
instance_type = "c5.large"

[autoscaling]
min = 1
max = 2

[dns]
zone = "{zone}"
servers_record = "servers"

[haproxy]
deploy = true
ami = "{AMI}"
pem_secret = "awslb/wcs-hap/pem"
"""


def test_the_servers_record_needs_a_private_zone_of_the_vpc(cli, aws: Aws, secret: str, calls,
                                                             tmp_path: Path) -> None:
    aws.call("route53", "create_hosted_zone", Name="media.example.com", CallerReference="pub")
    other = aws.call("ec2", "create_vpc", CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    aws.call("route53", "create_hosted_zone", Name="media.internal", CallerReference="priv",
             HostedZoneConfig={"PrivateZone": True}, VPC={"VPCRegion": "us-east-1", "VPCId": other})
    calls.clear()
    r = cli("up", "-f", str(write(tmp_path / "a.toml", dns_stack("media.example.com"))), "--yes")
    assert r.exit_code == 4 and "dns.zone: media.example.com is a public zone" in r.stderr, r.stderr
    r = cli("up", "-f", str(write(tmp_path / "b.toml", dns_stack("media.internal"))), "--yes")
    assert r.exit_code == 4 and "is not associated with vpc-" in r.stderr, r.stderr
    assert "associate-vpc-with-hosted-zone" in r.stderr   # the hint says how
    assert calls.mutating == []

    # A private zone of the stack's VPC: HAProxy follows the media group through it (server-template).
    vpc = aws.call("ec2", "describe_vpcs", Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    aws.call("route53", "create_hosted_zone", Name="fleet.internal", CallerReference="ok",
             HostedZoneConfig={"PrivateZone": True}, VPC={"VPCRegion": "us-east-1", "VPCId": vpc})
    f = write(tmp_path / "c.toml", dns_stack("fleet.internal"))
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    [lt] = [x for x in tier(aws)["lts"] if {"Key": "awslb:id", "Value": "haproxy-lt"} in x["Tags"]]
    data = aws.call("ec2", "describe_launch_template_versions", LaunchTemplateId=lt["LaunchTemplateId"],
                    Versions=["$Default"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    script = base64.b64decode(data["UserData"]).decode()
    assert "server-template" in script and "servers.fleet.internal" in script
    fn = aws.call("lambda", "get_function", FunctionName=f"{STACK}-dns")["Configuration"]
    assert fn["Environment"]["Variables"]["SERVERS_RECORD"] == "servers"
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0 and calls.mutating == []
    assert cli("down", STACK, "--yes").exit_code == 0
    assert all(not v for v in tier(aws).values()), tier(aws)


def test_servers_record_must_not_be_a_per_instance_name(tmp_path: Path, cli) -> None:
    text = dns_stack("media.internal").replace('servers_record = "servers"',
                                               'record = "edge-{index}"\nservers_record = "edge-1"')
    r = cli("plan", "-f", str(write(tmp_path / "c.toml", text)))
    assert r.exit_code == 4 and "dns.servers_record: 'edge-1' is a name of dns.record's pattern" in r.stderr, r.stderr


class FailOnce:
    """A 'before-call' handler that fails the first call of one operation (an injected fault)."""

    def __init__(self, operation: str):
        self.operation, self.failed = operation, False

    def __call__(self, model, **kwargs):
        from awslb.aws import client_error

        if model.name == self.operation and not self.failed:
            self.failed = True
            raise client_error(model.name, "InternalFailure", "injected fault")
        return None


@pytest.mark.parametrize("operation", ["CreateLaunchTemplate", "CreateAutoScalingGroup"])
def test_a_fault_at_a_write_of_the_tier_recovers(cli, aws: Aws, secret: str, operation: str, tmp_path: Path) -> None:
    from awslb import aws as aws_mod

    f = write(tmp_path / "s.toml", stack_text())
    fault = FailOnce(operation)
    with aws_mod.hooked("before-call", fault):
        failed = cli("up", "-f", str(f), "--yes")
    assert fault.failed and failed.exit_code == 1 and "InternalFailure" in failed.stderr, failed.stderr
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0, again.stderr
    t = tier(aws)
    assert len(t["asgs"]) == len(t["lts"]) == len(t["eips"]) == len(t["hosts"]) == 1, t
    assert cli("down", STACK, "--yes").exit_code == 0
    assert all(not v for v in tier(aws).values()), tier(aws)


@pytest.mark.parametrize(("extra", "message"), [
    ({"deploy": True}, "haproxy.ami: haproxy.deploy = true needs the host's image"),
    ({"deploy": True, "ami": AMI}, "haproxy.pem_secret: a TLS frontend on AWS needs the PEM"),
    ({"deploy": True, "ami": AMI, "pem_secret": "p", "source_addresses": ["172.31.0.9"]},
     "haproxy.source_addresses: on AWS the host's own secondary addresses"),
    ({"secondary_addresses": 50}, "haproxy.secondary_addresses: Input should be less than or equal to 49"),
    ({"instance_type": "c5.large\n"}, "haproxy.instance_type: holds a control character"),
    ({"key_name": "k\u00e9y"}, "haproxy.key_name: not a key pair name"),
    ({"websdk_sha256": "ABC"}, "haproxy.websdk_sha256: 64 lower-case hex digits"),
    ({"websdk_url": "https://x/a b.tgz"}, "haproxy.websdk_url: an https:// URL"),
    ({"pem_secret": "arn:aws:secretsmanager:us-east-1:12:secret:x"}, "haproxy.pem_secret: not a Secrets Manager"),
])
def test_bad_stack_keys_are_one_line_naming_the_key(extra: dict, message: str) -> None:
    from awslb import spec
    from awslb.errors import InputError

    with pytest.raises(InputError) as exc:
        spec.parse({"stack": {"name": "s"}, "haproxy": {"servers": [{"name": "a", "host": "10.0.0.5"}], **extra}})
    assert message in str(exc.value) and "\n" not in str(exc.value)
