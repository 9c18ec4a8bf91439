"""The foundation end to end under moto: up, up again, plan, down, down without the ledger."""

import json
import shutil
from pathlib import Path

import pytest

from awslb import deploy, spec
from awslb.aws import Aws
from tests.conftest import write

STACK = """
[stack]
name = "wcs-net"
ssh_cidr = "203.0.113.0/24"

[load_balancer]
type = "application"
ws_port = 8080
http_port = 8081
https = { port = 8443, certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc" }
"""


def only_sgs(tmp_path: Path) -> Path:
    # The foundation's stack: security groups only (no balancer section, so no balancer).
    return write(tmp_path / "net.toml", '[stack]\nname = "wcs-net"\nssh_cidr = "203.0.113.0/24"\n')


def groups(aws: Aws, stack: str = "wcs-net") -> dict[str, dict]:
    found = aws.call("ec2", "describe_security_groups",
                     Filters=[{"Name": "tag:awslb:stack", "Values": [stack]}])["SecurityGroups"]
    return {next(t["Value"] for t in g["Tags"] if t["Key"] == "awslb:id"): g for g in found}


def rules(group: dict) -> set[tuple]:
    out = set()
    for p in group["IpPermissions"]:
        for r in p.get("IpRanges", []):
            out.add((p["IpProtocol"], p["FromPort"], p["ToPort"], r["CidrIp"]))
        for r in p.get("UserIdGroupPairs", []):
            out.add((p["IpProtocol"], p["FromPort"], p["ToPort"], r["GroupId"]))
    return out


def test_up_creates_the_guide_groups(aws, ui, opts, tmp_path) -> None:
    # The listener kind checks the certificate before planning: it must exist and be issued.
    cert = aws.call("acm", "request_certificate", DomainName="media.example.com")["CertificateArn"]
    s = spec.parse({"stack": {"name": "wcs-net", "ssh_cidr": "203.0.113.0/24"},
                    "load_balancer": {"ws_port": 8080, "http_port": 8081, "https": {"certificate": cert}}})
    # Only the security-group kind is planned here; the stack's other kinds are tested elsewhere.
    from awslb.resources.security_group import SecurityGroup

    net = deploy.lookup(aws, s)
    made = {r.id: r for r in SecurityGroup().desired(s, net)}
    assert set(made) == {"lb-sg", "instance-sg"}
    deploy_up_sgs(aws, ui, opts, s)
    g = groups(aws)
    lb_id = g["lb-sg"]["GroupId"]
    # The WebSocket listener is on HTTPS 8443 (switched in place): plain 8080 stays closed.
    assert {("tcp", 8081, 8081, "0.0.0.0/0"), ("tcp", 8443, 8443, "0.0.0.0/0")} <= rules(g["lb-sg"])
    assert not any(r[1] == 8080 for r in rules(g["lb-sg"]))
    inst = rules(g["instance-sg"])
    # WebSocket/stat ports and the agent port only from the balancer's group.
    assert ("tcp", 8080, 8084, lb_id) in inst
    assert ("tcp", 8443, 8445, lb_id) in inst
    assert ("tcp", 9707, 9707, lb_id) in inst
    assert not any(r[1] <= 8080 <= r[2] and r[3] == "0.0.0.0/0" for r in inst)
    assert not any(r[1] <= 9707 <= r[2] and r[3] == "0.0.0.0/0" for r in inst)
    # Media straight to the instances, SSH only from the given block.
    assert ("udp", 30000, 33000, "0.0.0.0/0") in inst
    # RTMP is TCP; RTMFP (1935/udp, the guide's table) only with [stack] rtmfp = true.
    assert ("tcp", 1935, 1935, "0.0.0.0/0") in inst
    assert not any(r[0] == "udp" and r[1] <= 1935 <= r[2] for r in inst)
    # CDN nodes (an edge and its origin) reach each other's WebSocket ports: the group names itself.
    inst_id = g["instance-sg"]["GroupId"]
    assert {("tcp", 8080, 8084, inst_id), ("tcp", 8443, 8445, inst_id)} <= inst
    assert ("tcp", 22, 22, "203.0.113.0/24") in inst
    assert not any(r[1] == 22 and r[3] == "0.0.0.0/0" for r in inst)
    tags = {t["Key"]: t["Value"] for t in g["lb-sg"]["Tags"]}
    assert tags["awslb:stack"] == "wcs-net" and tags["Name"] == "wcs-net-balancer"


def deploy_up_sgs(aws, ui, opts, s):
    return deploy.up(aws, ui, s, opts=opts)


def test_second_up_makes_no_mutating_call(cli, moto, calls, tmp_path) -> None:
    f = only_sgs(tmp_path)
    first = cli("up", "-f", str(f), "--yes")
    assert first.exit_code == 0, first.stderr
    assert ("ec2", "CreateSecurityGroup") in calls.mutating
    calls.clear()
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0, again.stderr
    assert calls.mutating == []
    assert "up to date" in again.stderr


def test_changed_ssh_cidr_updates_in_place(cli, moto, calls, tmp_path) -> None:
    f = only_sgs(tmp_path)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    write(f, '[stack]\nname = "wcs-net"\nssh_cidr = "198.51.100.0/24"\n')
    calls.clear()
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    assert set(calls.mutating) == {("ec2", "AuthorizeSecurityGroupIngress"), ("ec2", "RevokeSecurityGroupIngress")}
    inst = rules(groups(Aws(region="us-east-1"))["instance-sg"])
    assert ("tcp", 22, 22, "198.51.100.0/24") in inst
    assert ("tcp", 22, 22, "203.0.113.0/24") not in inst


@pytest.mark.parametrize("lose_ledger", [False, True], ids=["with-ledger", "ledger-deleted"])
def test_down_removes_everything(cli, moto, tmp_path, lose_ledger) -> None:
    f = only_sgs(tmp_path)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert len(groups(Aws(region="us-east-1"))) == 2
    if lose_ledger:
        shutil.rmtree(tmp_path / ".awslb")
    r = cli("down", "wcs-net", "--yes")
    assert r.exit_code == 0, r.stderr
    assert groups(Aws(region="us-east-1")) == {}
    again = cli("down", "wcs-net", "--yes")
    assert again.exit_code == 0 and "nothing to delete" in again.stderr


def test_plan_and_dry_run_print_the_same_plan(cli, moto, calls, tmp_path) -> None:
    f = only_sgs(tmp_path)
    plan = cli("plan", "-f", str(f))
    dry = cli("up", "-f", str(f), "--dry-run")
    assert plan.exit_code == dry.exit_code == 0
    assert plan.stdout == dry.stdout
    assert "2 to create" in plan.stdout
    assert calls.mutating == []
    js_plan = cli("--output", "json", "plan", "-f", str(f))
    js_dry = cli("--output", "json", "up", "-f", str(f), "--dry-run")
    assert json.loads(js_plan.stdout) == json.loads(js_dry.stdout)
    assert json.loads(js_plan.stdout)["summary"]["create"] == 2


def test_plan_exit_code(cli, moto, tmp_path) -> None:
    f = only_sgs(tmp_path)
    assert cli("plan", "-f", str(f), "--exit-code").exit_code == 3
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert cli("plan", "-f", str(f), "--exit-code").exit_code == 0


def test_status_lists_the_groups(cli, moto, tmp_path) -> None:
    f = only_sgs(tmp_path)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    r = cli("--output", "json", "status", "wcs-net")
    data = json.loads(r.stdout)
    assert {x["id"] for x in data["resources"]} == {"lb-sg", "instance-sg"}
    assert all(x["physical_id"].startswith("sg-") for x in data["resources"])


def test_up_without_yes_on_a_pipe_asks_only_when_it_deletes(cli, moto, calls, tmp_path) -> None:
    f = only_sgs(tmp_path)
    plain = f.read_text()
    write(f, plain + "[haproxy]\n")
    assert cli("up", "-f", str(f)).exit_code == 0  # it only creates: no question
    write(f, plain)
    calls.clear()
    r = cli("up", "-f", str(f))  # it would delete the HAProxy group: a question, and no terminal
    assert r.exit_code == 2
    assert "--yes" in r.stderr and "plan for stack" in r.stderr and "delete" in r.stderr
    assert calls.mutating == []
