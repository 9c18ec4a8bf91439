"""HAProxy under moto: the example stack's security groups, and `haproxy config --stack`."""

from __future__ import annotations

import json

from awslb.aws import Aws
from awslb.ledger import Ledger
from tests.aws.test_security_groups import groups, rules
from tests.conftest import REGION, ROOT

EXAMPLE = str(ROOT / "examples" / "haproxy.toml")
STACK = "wcs-haproxy"


def test_example_stack_opens_what_the_guide_says(cli, moto) -> None:
    # `up` again, `plan` and `down` of every example: tests/aws/test_examples.py.
    first = cli("up", "-f", EXAMPLE, "--yes")
    assert first.exit_code == 0, first.stderr
    g = groups(Aws(region=REGION), STACK)
    assert set(g) == {"haproxy-sg", "lb-sg", "instance-sg"}
    hp, lb = g["haproxy-sg"]["GroupId"], g["lb-sg"]["GroupId"]
    # The HAProxy host: its frontend and the HTTP redirect open to clients, nothing else.
    assert rules(g["haproxy-sg"]) == {("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 80, 80, "0.0.0.0/0")}
    inst = rules(g["instance-sg"])
    # WebSocket/stat ports and the agent port from the HAProxy host's group (seed 001).
    for lo, hi in ((8080, 8084), (8443, 8445), (9707, 9707)):
        assert ("tcp", lo, hi, hp) in inst and ("tcp", lo, hi, lb) in inst
    assert not any(r[1] <= 9707 <= r[2] and not r[3].startswith("sg-") for r in inst)
    assert ("udp", 30000, 33000, "0.0.0.0/0") in inst  # media straight to the servers
    tags = {t["Key"]: t["Value"] for t in g["haproxy-sg"]["Tags"]}
    assert tags == {"awslb:stack": STACK, "awslb:id": "haproxy-sg", "Name": f"{STACK}-haproxy"}


def test_agent_port_follows_the_haproxy_section(cli, moto, tmp_path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[stack]\nname = "hp2"\n[haproxy]\nagent_port = 9999\nport = 8443\nhttp_port = 8080\n'
                 'servers = [{ name = "a", host = "10.0.0.1" }]\n')
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    g = groups(Aws(region=REGION), "hp2")
    assert rules(g["haproxy-sg"]) == {("tcp", 8443, 8443, "0.0.0.0/0"), ("tcp", 8080, 8080, "0.0.0.0/0")}
    assert ("tcp", 9999, 9999, g["haproxy-sg"]["GroupId"]) in rules(g["instance-sg"])


def run_instance(aws: Aws, name: str, stack: str | None = None) -> dict:
    ami = aws.call("ec2", "describe_images", Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"Key": "Name", "Value": name}] + ([{"Key": "awslb:stack", "Value": stack}] if stack else [])
    return aws.call("ec2", "run_instances", ImageId=ami, MinCount=1, MaxCount=1, InstanceType="c5.large",
                    TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])["Instances"][0]


def test_config_from_the_stacks_running_instances(cli, aws) -> None:
    a = run_instance(aws, "edge-a", "live")
    b = run_instance(aws, "edge-b", "live")
    stopped = run_instance(aws, "edge-c", "live")
    aws.call("ec2", "stop_instances", InstanceIds=[stopped["InstanceId"]])
    existing = run_instance(aws, "wcs-configured")       # an existing server, a target of the stack
    run_instance(aws, "someone-else", "other-stack")
    ledger = Ledger("live")
    ledger.spec = {"stack": {"name": "live", "region": REGION},
                   "load_balancer": {"ws_port": 8443, "targets": ["wcs-configured"]}}
    ledger.save()

    r = cli("haproxy", "config", "--stack", "live", "--no-tls", "--sticky")
    assert r.exit_code == 0, r.stderr
    lines = sorted(ln.split()[1:3] for ln in r.stdout.splitlines() if ln.strip().startswith("server i-"))
    want = sorted([i["InstanceId"], f"{i['PrivateIpAddress']}:8443"] for i in (a, b, existing))
    assert lines == want
    assert stopped["PrivateIpAddress"] not in r.stdout


def test_config_for_a_stack_without_instances_names_the_flag(cli, moto) -> None:
    r = cli("haproxy", "config", "--stack", "empty", "--no-tls")
    assert r.exit_code == 4
    assert r.stderr.startswith("error: --stack empty: no running instances")
    assert r.stdout == ""


def test_config_with_discover_follows_dns_not_the_instances(cli, aws) -> None:
    run_instance(aws, "edge-a", "dns")
    ledger = Ledger("dns")
    ledger.spec = {"stack": {"name": "dns", "region": REGION},
                   "haproxy": {"discover": "servers.media.internal", "slots": 6, "maxconn": 200}}
    ledger.save()
    r = cli("haproxy", "config", "--stack", "dns", "--no-tls")
    assert r.exit_code == 0, r.stderr
    # The recorded [haproxy] settings, no `server` line from the running instance.
    assert "server-template ws 6 servers.media.internal:8080 resolvers awslb" in r.stdout
    assert not any(ln.strip().startswith("server i-") for ln in r.stdout.splitlines())
    assert "    maxconn 1300\n" in r.stdout  # 6 slots x 200 + the web backend's 100


def test_status_lists_haproxy_sg(cli, moto) -> None:
    assert cli("up", "-f", EXAMPLE, "--yes").exit_code == 0
    data = json.loads(cli("--output", "json", "status", STACK).stdout)
    assert "haproxy-sg" in {x["id"] for x in data["resources"]}
