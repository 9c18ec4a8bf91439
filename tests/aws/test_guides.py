"""What the guides rely on (issue 13, part 3) under in-process moto.

- The instance group admits the WebSocket ports (8080-8084, 8443-8445) from itself, so a CDN
  edge joins its origin; RTMP is 1935/tcp, RTMFP's 1935/udp only with ``[stack] rtmfp``.
  A group made by the previous release converges: the new rules open before the old ones
  close, then a re-run writes nothing.
- ``[origin]``: the edges' launch template carries the origin's private IP as
  ``cdn_point_of_entry`` (an origin that exists, or one the stack launches in the instance group).
- Behind HAProxy the servers' user-data sets ``ws.map_custom_headers`` and ``ws.ip_forward_header``.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from awslb.aws import Aws
from tests.aws.test_redirector import instances, rules
from tests.aws.test_security_groups import groups
from tests.conftest import write

AMI = "ami-1e749f67"  # in moto's default image set
SGS = '[stack]\nname = "wcs-guides"\n'
EDGES = f"""
[stack]
name = "wcs-guides"

[launch]
ami = "{AMI}"
userdata = "edge"
instance_type = "c5.large"
vars = {{ update = false }}
"""


def launch_userdata(aws: Aws, stack: str = "wcs-guides") -> str:
    lt = aws.call("ec2", "describe_launch_templates",
                  Filters=[{"Name": "tag:awslb:stack", "Values": [stack]}])["LaunchTemplates"][0]
    v = aws.call("ec2", "describe_launch_template_versions", LaunchTemplateId=lt["LaunchTemplateId"],
                 Versions=["$Default"])["LaunchTemplateVersions"][0]
    return base64.b64decode(v["LaunchTemplateData"]["UserData"]).decode()


def test_instance_group_admits_itself_and_rtmp_over_tcp(cli, moto, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", SGS)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    g = groups(Aws(region="us-east-1"), "wcs-guides")
    inst_id, lb_id = g["instance-sg"]["GroupId"], g["lb-sg"]["GroupId"]
    inst = rules(g["instance-sg"])
    assert {("tcp", 8080, 8084, inst_id), ("tcp", 8443, 8445, inst_id)} <= inst
    assert {("tcp", 8080, 8084, lb_id), ("tcp", 8443, 8445, lb_id)} <= inst  # the balancer, as before
    assert ("tcp", 1935, 1935, "0.0.0.0/0") in inst and ("tcp", 1935, 1935, "::/0") in inst
    assert not any(p == "udp" and lo <= 1935 <= hi for p, lo, hi, _ in inst)
    # The self rule admits no one else: nothing but the groups themselves reaches 8084.
    assert {src for p, lo, hi, src in inst if lo <= 8084 <= hi} == {inst_id, lb_id}
    write(f, SGS + "rtmfp = true\n")
    plan = cli("plan", "-f", str(f))
    assert "1 to change" in plan.stdout, plan.stdout  # only opens: one step, nothing to close after
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    inst = rules(groups(Aws(region="us-east-1"), "wcs-guides")["instance-sg"])
    assert {("udp", 1935, 1935, "0.0.0.0/0"), ("udp", 1935, 1935, "::/0"), ("tcp", 1935, 1935, "0.0.0.0/0")} <= inst
    assert cli("down", "wcs-guides", "--yes").exit_code == 0
    assert groups(Aws(region="us-east-1"), "wcs-guides") == {}


def test_a_group_made_by_the_previous_release_converges_without_a_gap(cli, moto, calls, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", SGS)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    aws = Aws(region="us-east-1")
    gid = groups(aws, "wcs-guides")["instance-sg"]["GroupId"]
    # Back to what the previous release made: 1935/udp to the world, no tcp, no rule naming itself.
    anywhere = {"IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    aws.call("ec2", "revoke_security_group_ingress", GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1935, "ToPort": 1935, **anywhere},
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8084, "UserIdGroupPairs": [{"GroupId": gid}]},
        {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8445, "UserIdGroupPairs": [{"GroupId": gid}]}])
    aws.call("ec2", "authorize_security_group_ingress", GroupId=gid, IpPermissions=[
        {"IpProtocol": "udp", "FromPort": 1935, "ToPort": 1935, **anywhere}])
    plan = cli("plan", "-f", str(f))
    assert "open " in plan.stdout and "from the group itself" in plan.stdout and "close 1935/udp" in plan.stdout
    calls.clear()
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    ops = [op for op in calls.names() if op.endswith("SecurityGroupIngress")]
    # The new rules (RTMP over TCP, the CDN ports) open first; RTMFP's udp closes after.
    assert ops == ["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"], ops
    inst = rules(groups(aws, "wcs-guides")["instance-sg"])
    assert ("tcp", 1935, 1935, "0.0.0.0/0") in inst and ("tcp", 8080, 8084, gid) in inst
    assert not any(p == "udp" and lo == 1935 for p, lo, _, _ in inst)
    calls.clear()
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0 and calls.mutating == [], calls.mutating


def test_edges_join_an_origin_the_stack_launches(cli, moto, calls, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", EDGES + '\n[origin]\naddress = "172.31.0.20"\nvars = { update = false }\n')
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    aws = Aws(region="us-east-1")
    origin = instances(aws, "wcs-guides")["origin"]
    assert origin["PrivateIpAddress"] == "172.31.0.20"
    inst_sg = groups(aws, "wcs-guides")["instance-sg"]["GroupId"]
    # In the media servers' group: its rule naming itself admits the edges on the CDN ports.
    assert [g["GroupId"] for g in origin["SecurityGroups"]] == [inst_sg]
    script = aws.call("ec2", "describe_instance_attribute", InstanceId=origin["InstanceId"],
                      Attribute="userData")["UserData"]["Value"]
    assert "set_prop cdn_role origin\n" in base64.b64decode(script).decode()
    assert "set_prop cdn_point_of_entry 172.31.0.20\n" in launch_userdata(aws)
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == []
    # Another type is a new origin: the edges lose it meanwhile, so only with --allow-replace.
    write(f, f.read_text().replace('address = "172.31.0.20"', 'address = "172.31.0.20"\ninstance_type = "c5.xlarge"'))
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4 and "--allow-replace" in r.stderr and calls.mutating == [], r.stderr
    assert cli("down", "wcs-guides", "--yes").exit_code == 0
    assert instances(aws, "wcs-guides") == {}


def test_edges_join_an_origin_that_exists(cli, moto, tmp_path: Path) -> None:
    aws = Aws(region="us-east-1")
    ran = aws.call("ec2", "run_instances", ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="c5.large",
                   TagSpecifications=[{"ResourceType": "instance",
                                       "Tags": [{"Key": "Name", "Value": "wcs-origin"}]}])["Instances"][0]
    f = write(tmp_path / "s.toml", EDGES + '\n[origin]\ninstance = "wcs-origin"\n')
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    assert f"set_prop cdn_point_of_entry {ran['PrivateIpAddress']}\n" in launch_userdata(aws)
    assert "origin" not in instances(aws, "wcs-guides")  # the stack never touches it


def test_servers_behind_haproxy_take_the_client_address_from_its_header(cli, moto, tmp_path: Path) -> None:
    f = write(tmp_path / "s.toml", EDGES.replace("update = false", 'update = false, cdn_point_of_entry = "10.0.0.5"')
              + "\n[haproxy]\n")
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    script = launch_userdata(Aws(region="us-east-1"))
    assert "set_prop ws.map_custom_headers true\n" in script
    assert "set_prop ws.ip_forward_header X-Client-IP\n" in script
    assert "global_bandwidth_check_enabled" not in script  # not asked: left as the server has it
    # Without HAProxy nothing is assumed: the settings stay as the image has them.
    write(f, EDGES.replace("update = false", 'update = false, cdn_point_of_entry = "10.0.0.5"'))
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0, again.stderr
    assert "ws.map_custom_headers" not in launch_userdata(Aws(region="us-east-1"))


@pytest.mark.parametrize("extra, needle", [
    ('[origin]\ninstance = "wcs-origin"\naddress = "172.31.0.20"\n', "origin.instance: give either"),
    ("[origin]\n", "origin.instance: give either"),
    ('[origin]\naddress = "8.8.8.8"\n', "origin.address: not a private IPv4 address"),
    ('[origin]\naddress = "10.9.9.9"\n', "origin.address: 10.9.9.9 is in none of the stack's subnets"),
    ('[origin]\ninstance = "no-such-origin"\n', "origin.instance: "),
    ('[origin]\ninstance = "i-0123456789abcdef0"\ninstance_type = "c5.xlarge"\n', "origin.instance_type: only for"),
    ('[origin]\naddress = "172.31.0.20"\nvars = { cdn_role = "edge" }\n', "origin.vars: template 'origin' has no"),
    ('[origin]\naddress = "172.31.0.20"\n', "launch.vars.cdn_point_of_entry: [origin] sets it"),
    ('[origin]\naddress = "172.31.0.20"\n', "launch.userdata: 'standalone' has no cdn_point_of_entry"),
    ("rtmfp = \"yes\"\n", "stack.rtmfp: "),
], ids=["both", "neither", "public", "outside", "unknown", "type-of-existing", "origin-var", "conflict",
        "no-entry-var", "rtmfp"])
def test_bad_origin_inputs_are_one_line_naming_the_key(cli, moto, calls, tmp_path: Path, extra: str,
                                                       needle: str) -> None:
    text = EDGES
    if "conflict" in needle or "sets it" in needle:
        text = text.replace("update = false", 'update = false, cdn_point_of_entry = "10.0.0.5"')
    if "standalone" in needle:
        text = text.replace('userdata = "edge"', 'userdata = "standalone"')
    if extra.startswith("rtmfp"):
        text = text.replace('name = "wcs-guides"\n', 'name = "wcs-guides"\n' + extra, 1)
    else:
        text += "\n" + extra
    r = cli("plan", "-f", str(write(tmp_path / "s.toml", text)))
    assert r.exit_code == 4, (r.exit_code, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr and calls.mutating == []
