"""`awslb status` for the ALB flow reads every target's stat page (guide 000, "Тестирование").

The servers are real local HTTP servers serving the stat page of guide 001. So that not one
request leaves loopback, the emulated instances live in a VPC on 127.0.0.0/16 (moto hands
out private addresses from the subnet and no public ones there), and the emulated account
is not moto's default (whose addresses awslb never contacts).
"""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from moto import mock_aws

from awslb.aws import Aws
from tests.conftest import REGION, write
from tests.unit.test_stats import PAGE_1, PAGE_2

MOTO_AMI = "ami-12c6146b"


def serve(address: str, port: int, page: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = page.encode() if self.path == "/?action=stat" else b"no"
            self.send_response(200 if self.path == "/?action=stat" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def loopback_world(monkeypatch) -> Iterator[dict]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    monkeypatch.setenv("AWSLB_STATS", "on")
    monkeypatch.setenv("AWSLB_STATS_TIMEOUT", "2")
    with mock_aws():
        aws = Aws(region=REGION)
        vpc = aws.call("ec2", "create_vpc", CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [aws.call("ec2", "create_subnet", VpcId=vpc, CidrBlock=f"127.0.{i}.0/24",
                            AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
                   for i, zone in ((1, "a"), (2, "b"))]
        insts = aws.call("ec2", "run_instances", ImageId=MOTO_AMI, InstanceType="c5.large", MinCount=3,
                         MaxCount=3, SubnetId=subnets[0])["Instances"]
        # The guard of this test: every address status may contact is on loopback.
        for i in insts:
            assert i["PrivateIpAddress"].startswith("127.") and not i.get("PublicIpAddress")
        with socket.socket() as s:
            s.bind((insts[0]["PrivateIpAddress"], 0))
            port = int(s.getsockname()[1])
        servers = [serve(insts[0]["PrivateIpAddress"], port, PAGE_1),
                   serve(insts[1]["PrivateIpAddress"], port, PAGE_2)]
        try:
            yield {"aws": aws, "vpc": vpc, "instances": [i["InstanceId"] for i in insts], "port": port}
        finally:
            for server in servers:
                server.shutdown()
                server.server_close()


def stack_file(tmp_path, w: dict):
    """The ALB stack "stat" in front of the world's three instances, health check on their stat page."""
    one, two, silent = w["instances"]
    return write(tmp_path / "s.toml", f"""
[stack]
name = "stat"
vpc = "{w['vpc']}"

[load_balancer]
type = "application"
health_check = {{ port = {w['port']}, path = "/?action=stat" }}
targets = ["{one}", "{two}", "{silent}"]
""")


def test_status_shows_health_and_stat_figures(cli, loopback_world, tmp_path) -> None:
    w = loopback_world
    one, two, silent = w["instances"]
    f = stack_file(tmp_path, w)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr

    # The direct route (from inside the VPC); SSM's route is tests/aws/test_status_ssm.py.
    r = cli("--output", "json", "status", "stat", "--via", "direct")
    assert r.exit_code == 0, r.stderr
    by_id = {x["id"]: x for x in json.loads(r.stdout)["resources"]}
    assert by_id["alb"]["state"] == "active" and by_id["alb"]["dns_name"]
    assert by_id["ws-listener"]["listener"] == "HTTP:8080"
    assert by_id["ws-listener"]["url"] == f"ws://{by_id['alb']['dns_name']}:8080"
    targets = {t["id"]: t for t in by_id["ws-tg"]["targets"]}
    assert set(targets) == {one, two, silent}
    assert all(t["health"] for t in targets.values())
    assert targets[one]["stats"] == {"connections_websocket": 1, "streams_webrtc_in": 1, "streams_webrtc_out": 0}
    assert targets[two]["stats"] == {"connections_websocket": 3, "streams_webrtc_in": 2, "streams_webrtc_out": 5}
    assert targets[silent]["stats"] == "unreachable"
    assert {t["via"] for t in targets.values()} == {"direct"}

    text = cli("status", "stat", "--via", "direct")
    assert text.exit_code == 0
    assert "connections_websocket" in text.stdout and "unreachable" in text.stdout

    assert cli("down", "stat", "--yes").exit_code == 0
