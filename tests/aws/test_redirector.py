"""[redirector] under moto: redirector instances at fixed private addresses in their own group
(reports admitted only from the media servers' group), the edges' launch template reporting to
them with the key read from SSM, plan again empty, down leaves nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from awslb import spec
from awslb.aws import Aws
from awslb.haproxy import servers_from_stack
from tests.aws.test_security_groups import groups as sg_groups
from tests.conftest import write

AMI = "ami-1e749f67"   # in moto's default image set


def stack_text(addresses: str = '["172.31.0.10", "172.31.16.10"]', extra: str = "") -> str:
    return f"""
[stack]
name = "wcs-redirect"

[image]
id = "{AMI}"

[launch]
name = "wcs-redirect-edge"
userdata = "edge"
instance_type = "c5.large"
vars = {{ cdn_point_of_entry = "172.31.43.82" }}

[autoscaling]
min = 1
max = 2

[redirector]
ami = "{AMI}"
addresses = {addresses}
key_parameter = "/awslb/wcs-redirect/report-key"
admin_token_parameter = "/awslb/wcs-redirect/admin-token"
instance_profile = "awslb-redirect"
{extra}
"""


@pytest.fixture
def profile(aws: Aws) -> None:
    aws.call("iam", "create_instance_profile", InstanceProfileName="awslb-redirect")


def instances(aws: Aws, stack: str = "wcs-redirect") -> dict[str, dict]:
    out = {}
    for r in aws.call("ec2", "describe_instances", Filters=[
            {"Name": "tag:awslb:stack", "Values": [stack]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]:
        for i in r["Instances"]:
            out[next((t["Value"] for t in i["Tags"] if t["Key"] == "awslb:id"), i["InstanceId"])] = i
    return out


def groups(aws: Aws, stack: str = "wcs-redirect") -> dict[str, dict]:
    return sg_groups(aws, stack)


def rules(group: dict) -> set[tuple]:
    out = set()
    for p in group["IpPermissions"]:
        for key, field in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6"), ("UserIdGroupPairs", "GroupId")):
            for r in p.get(key, []):
                out.add((p["IpProtocol"], p["FromPort"], p["ToPort"], r[field]))
    return out


def test_up_plan_down(cli, aws: Aws, profile, calls, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", stack_text())
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr

    found = instances(aws)
    reds = {k: v for k, v in found.items() if k.startswith("redirector-")}
    assert {k: v["PrivateIpAddress"] for k, v in reds.items()} == {"redirector-1": "172.31.0.10",
                                                                   "redirector-2": "172.31.16.10"}
    g = groups(aws)
    red_sg, inst_sg = g["redirector-sg"]["GroupId"], g["instance-sg"]["GroupId"]
    red_rules = rules(g["redirector-sg"])
    assert red_rules == {("tcp", 8088, 8088, "0.0.0.0/0"), ("tcp", 8088, 8088, "::/0"),
                         ("udp", 1934, 1934, inst_sg)}   # reports only from the media servers
    for inst in reds.values():
        assert [s["GroupId"] for s in inst["SecurityGroups"]] == [red_sg]
        assert inst["MetadataOptions"]["HttpTokens"] == "required"
        assert inst["IamInstanceProfile"]["Arn"].endswith("/awslb-redirect")
        ud = aws.call("ec2", "describe_instance_attribute", InstanceId=inst["InstanceId"], Attribute="userData")
        script = base64.b64decode(ud["UserData"]["Value"]).decode()
        assert script.startswith("#!/bin/bash\n")
        assert "awslb_fetch /awslb/wcs-redirect/report-key" in script and "--admin-token-file" in script
        assert "redirector serve --key-file %d/report.key --listen 0.0.0.0:1934/udp --http 0.0.0.0:8088" in script
        assert "--no-server-info" in script
    vols = aws.call("ec2", "describe_volumes", Filters=[{"Name": "attachment.instance-id",
                                                         "Values": [reds["redirector-1"]["InstanceId"]]}])["Volumes"]
    assert vols and all(v["Encrypted"] for v in vols)

    # The edges report to both redirectors, with the key from SSM and the profile to read it.
    lt = aws.call("ec2", "describe_launch_template_versions", LaunchTemplateName="wcs-redirect-edge",
                  Versions=["$Default"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert lt["IamInstanceProfile"] == {"Name": "awslb-redirect"}
    edge = base64.b64decode(lt["UserData"]).decode()
    assert "--report-to 172.31.0.10:1934 --report-to 172.31.16.10:1934 --report-key-file %d/report.key" in edge
    assert "awslb_fetch /awslb/wcs-redirect/report-key" in edge and "LoadCredential=report.key:" in edge
    assert "cdn_point_of_entry" in edge   # the edge's own script is still there, first
    assert len(edge.encode()) < 14_000    # user-data is limited to 16 KB

    # The redirectors are not media servers.
    assert not any(s.host in ("172.31.0.10", "172.31.16.10")
                   for s in servers_from_stack(aws, spec.load(f)))

    calls.clear()
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0 and calls.mutating == [], again.stderr
    plan = cli("plan", "-f", str(f), "--exit-code")
    assert plan.exit_code == 0, plan.stderr + plan.stdout

    down = cli("down", "wcs-redirect", "--yes")
    assert down.exit_code == 0, down.stderr
    assert instances(aws) == {} and groups(aws) == {}


def test_a_changed_redirector_is_a_replacement_that_needs_allow_replace(cli, aws: Aws, profile, calls,
                                                                         tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", stack_text('["172.31.0.10"]'))
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    write(f, stack_text('["172.31.0.10"]', 'instance_type = "t3.medium"'))
    plan = json.loads(cli("--output", "json", "plan", "-f", str(f)).stdout)
    step = next(s for s in plan["steps"] if s["id"] == "redirector-1" and s["action"] != "noop")
    assert step["action"] == "replace" and "instance_type: t3.small → t3.medium" in step["reason"], step
    # Clients and edges use its address: refused before any write without --allow-replace.
    before = len(calls.mutating)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4 and "--allow-replace" in r.stderr, r.stderr
    assert len(calls.mutating) == before
    assert instances(aws)["redirector-1"]["InstanceType"] == "t3.small"
    # Allowed, the old one goes first (it holds the fixed address) and a new one takes it. That
    # part is not run here: moto keeps a terminated instance's private address for ever, where
    # EC2 frees it (the kind waits out InvalidIPAddress.InUse meanwhile).


@pytest.mark.parametrize("addresses, needle", [
    ('["10.9.9.9"]', "redirector.addresses: 10.9.9.9 is in none of the stack's subnets"),
    ('["172.31.0.1"]', "redirector.addresses: 172.31.0.1 is one of the five addresses AWS keeps"),
    ('["8.8.8.8"]', "redirector.addresses: not a private IPv4 address"),
    ('["172.31.0.10", "172.31.0.10"]', "redirector.addresses: an address is given twice"),
])
def test_bad_addresses_are_input_errors(cli, aws: Aws, calls, tmp_path: Path, addresses: str, needle: str) -> None:
    f = write(tmp_path / "s.toml", stack_text(addresses))
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4 and needle in r.stderr, r.stderr
    assert calls.mutating == []


def test_a_launch_configuration_cannot_carry_the_reports(tmp_path: Path) -> None:
    text = stack_text().replace('[launch]\n', '[launch]\nkind = "config"\n').replace(
        'name = "wcs-redirect-edge"', 'name = "wcs-redirect-edge-lc"')
    with pytest.raises(Exception, match='redirector: the edges\' reports need launch.kind = "template"'):
        spec.parse(__import__("tomllib").loads(text))


def test_iam_policy_covers_the_redirectors(cli, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", stack_text())
    r = cli("iam-policy", "-f", str(f))
    assert r.exit_code == 0, r.stderr
    assert "ec2:RunInstances" in r.stdout and "ec2:TerminateInstances" in r.stdout and "iam:PassRole" in r.stdout


SMALL = """
[stack]
name = "wcs-redirect"

[redirector]
ami = "ami-1e749f67"
addresses = ["172.31.0.10"]
key_parameter = "/awslb/wcs-redirect/report-key"
instance_profile = "awslb-redirect"
"""


def test_a_fault_at_every_write_then_up_completes_and_down_cleans(cli, tmp_path: Path) -> None:
    """Each mutating call of `up` fails in turn; a second `up` completes, a third writes nothing,
    `down` leaves nothing tagged (instances are tagged at launch, so a lost step is found)."""
    from moto import mock_aws

    from awslb import aws as aws_mod
    from tests.conftest import Calls
    from tests.faults import FailNth

    f = write(tmp_path / "small.toml", SMALL)
    n = 0
    while True:
        with mock_aws():
            aws = Aws(region="us-east-1")
            aws.call("iam", "create_instance_profile", InstanceProfileName="awslb-redirect")
            fault = FailNth(n)
            with aws_mod.hooked("before-call", fault):
                first = cli("up", "-f", str(f), "--yes")
            if fault.failed is None:   # past the last write: every one has failed once
                assert first.exit_code == 0 and n > 3
                break
            assert first.exit_code == 1, (n, first.stderr)
            again = cli("up", "-f", str(f), "--yes")
            assert again.exit_code == 0, (n, fault.failed, again.stderr)
            rec = Calls()
            with aws_mod.hooked("before-call", rec):
                assert cli("up", "-f", str(f), "--yes").exit_code == 0
            assert rec.mutating == [], (n, fault.failed)
            assert set(instances(aws)) == {"redirector-1"}
            assert cli("down", "wcs-redirect", "--yes").exit_code == 0
            assert instances(aws) == {} and groups(aws) == {}, (n, fault.failed)
        n += 1


def test_elastic_ips_for_clients_outside_the_vpc(cli, aws: Aws, profile, calls, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", SMALL.replace('addresses = ["172.31.0.10"]',
                                                 'addresses = ["172.31.0.10", "172.31.16.10"]\nelastic_ip = true'))
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    found = instances(aws)
    eips = aws.call("ec2", "describe_addresses", Filters=[{"Name": "tag:awslb:stack",
                                                           "Values": ["wcs-redirect"]}])["Addresses"]
    by_id = {next(t["Value"] for t in a["Tags"] if t["Key"] == "awslb:id"): a for a in eips}
    assert set(by_id) == {"redirector-1-eip", "redirector-2-eip"}
    for i in (1, 2):
        assert by_id[f"redirector-{i}-eip"]["InstanceId"] == found[f"redirector-{i}"]["InstanceId"]
    status = cli("--output", "json", "status", "wcs-redirect")
    assert status.exit_code == 0 and by_id["redirector-1-eip"]["PublicIp"] in status.stdout
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0 and calls.mutating == []
    assert cli("down", "wcs-redirect", "--yes").exit_code == 0
    assert aws.call("ec2", "describe_addresses")["Addresses"] == []
    assert instances(aws) == {} and groups(aws) == {}


def test_a_missing_instance_profile_is_an_input_error(cli, aws: Aws, calls, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", SMALL)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4 and "redirector.instance_profile: no instance profile named 'awslb-redirect'" in r.stderr
    assert calls.mutating == []


def test_the_instance_profile_is_compared_like_every_managed_key() -> None:
    """A profile the stack no longer sets (the [redirector] or the instance role turned off) is a
    change that removes it: an optional part turned off deletes what it made."""
    from awslb.resources.launch_template import data_changes

    profile = {"IamInstanceProfile": {"Name": "awslb-redirect"}}
    assert data_changes({"InstanceType": "c5.large"}, {"InstanceType": "c5.large", **profile}) != []
    assert data_changes({"InstanceType": "c5.large", **profile}, {"InstanceType": "c5.large"}) != []
    assert data_changes({"InstanceType": "c5.large", **profile}, {"InstanceType": "c5.large", **profile}) == []
