"""The per-instance DNS Lambda handler, in-process against moto's Route53 and EC2, with the
real EventBridge event shapes of Auto Scaling (AWS docs, "Amazon EC2 Auto Scaling event
reference", warm-pool events included) and a webhook receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awslb.node import dns_handler
from awslb.node.dns_handler import Config

REGION = "us-east-1"
ZONE = "media.example.com"
GROUP = "wcs-edge-asg"
SECRET = "s3cret-for-tests"


def event(detail_type: str, iid: str, origin: str = "EC2", destination: str = "AutoScalingGroup",
          group: str = GROUP) -> dict[str, Any]:
    detail: dict[str, Any] = {"AutoScalingGroupName": group, "EC2InstanceId": iid,
                              "Origin": origin, "Destination": destination}
    if "Lifecycle Action" in detail_type:
        detail.update(LifecycleActionToken="87654321-4321-4321-4321-210987654321",
                      LifecycleHookName="awslb-drain",
                      LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING")
    else:
        detail.update(StatusCode="InProgress", Description=f"Launching a new EC2 instance: {iid}",
                      ActivityId="87654321-4321-4321-4321-210987654321", Cause="test",
                      Details={"Availability Zone": "us-east-1a", "Subnet ID": "subnet-12345678"})
    return {"version": "0", "id": "12345678-1234-1234-1234-123456789012", "detail-type": detail_type,
            "source": "aws.autoscaling", "account": "123456789012", "time": "2026-11-30T06:00:00Z",
            "region": REGION, "resources": [f"arn:aws:ec2:{REGION}:123456789012:instance/{iid}"],
            "detail": detail}


class Hooks(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        stamp = self.headers["X-Awslb-Timestamp"]
        want = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, self.headers["X-Awslb-Signature"])
        type(self).received.append({"ok": ok, **json.loads(body)})
        self.send_response(204 if ok else 401)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    Hooks.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/media", Hooks.received
    finally:
        server.shutdown()
        server.server_close()


def aws_create_semantics(params: dict[str, Any], **kwargs: Any) -> None:
    """moto 5.2 carries out a CREATE of a record set that already exists (it keeps both); AWS
    refuses the whole batch with InvalidChangeBatch ("Tried to create resource record set ...
    but it already exists"). This handler (before-parameter-build, where the call's own
    parameters are at hand) answers as AWS does, for that case only."""
    existing = {(s["Name"], s["Type"]) for s in _lister(params["HostedZoneId"])}
    for change in params["ChangeBatch"]["Changes"]:
        rs = change["ResourceRecordSet"]
        name = rs["Name"].rstrip(".").lower() + "."
        if change["Action"] == "CREATE" and (name, rs["Type"]) in existing:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "InvalidChangeBatch", "Message":
                               f"Tried to create resource record set [name='{name}', type='{rs['Type']}'] "
                               "but it already exists"}}, "ChangeResourceRecordSets")


_lister: Any = None


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    global _lister
    with mock_aws():
        r53 = boto3.client("route53", region_name=REGION)
        reader = boto3.client("route53", region_name=REGION)
        _lister = lambda zone: reader.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]  # noqa: E731
        r53.meta.events.register("before-parameter-build.route53.ChangeResourceRecordSets", aws_create_semantics)
        ec2 = boto3.client("ec2", region_name=REGION)
        zone_id = r53.create_hosted_zone(Name=ZONE, CallerReference="t")["HostedZone"]["Id"].split("/")[-1]
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=ami, MinCount=3, MaxCount=3)["Instances"]]
        yield {"route53": r53, "ec2": ec2, "zone_id": zone_id, "ids": ids}


def config(aws: dict[str, Any], pattern: str = "edge-{index}", url: str = "") -> Config:
    return Config.from_env({"ZONE_ID": aws["zone_id"], "ZONE_NAME": ZONE, "RECORD_PATTERN": pattern,
                            "ADDRESS": "private", "TTL": "30", "GROUP_NAME": GROUP,
                            "WEBHOOK_URL": url, "WEBHOOK_SECRET": SECRET if url else ""})


def a_records(aws: dict[str, Any]) -> dict[str, str]:
    sets = aws["route53"].list_resource_record_sets(HostedZoneId=aws["zone_id"])["ResourceRecordSets"]
    return {s["Name"]: s["ResourceRecords"][0]["Value"] for s in sets if s["Type"] == "A"}


def private_ip(aws: dict[str, Any], iid: str) -> str:
    res = aws["ec2"].describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return res["PrivateIpAddress"]


def test_launch_then_terminate_with_webhook(aws: dict[str, Any], webhook: tuple[str, list]) -> None:
    url, received = webhook
    cfg = config(aws, url=url)
    a, b, _ = aws["ids"]
    handle = dns_handler.handle
    out = handle(event(dns_handler.LAUNCH, a), cfg, aws["route53"], aws["ec2"])
    assert out["record"] == f"edge-1.{ZONE}"
    handle(event(dns_handler.LAUNCH, b), cfg, aws["route53"], aws["ec2"])
    assert a_records(aws) == {f"edge-1.{ZONE}.": private_ip(aws, a), f"edge-2.{ZONE}.": private_ip(aws, b)}
    # At-least-once delivery: the same event again changes nothing.
    again = handle(event(dns_handler.LAUNCH, a), cfg, aws["route53"], aws["ec2"])
    assert again["changes"] == []
    handle(event(dns_handler.TERMINATE_ACTION, a, origin="AutoScalingGroup", destination="EC2"), cfg,
           aws["route53"], aws["ec2"])
    assert f"edge-1.{ZONE}." in a_records(aws)  # still there while sessions drain
    handle(event(dns_handler.TERMINATE, a, origin="AutoScalingGroup", destination="EC2"), cfg,
           aws["route53"], aws["ec2"])
    assert a_records(aws) == {f"edge-2.{ZONE}.": private_ip(aws, b)}
    assert [(r["event"], r["instance_id"], r["ok"]) for r in received] == [
        ("launch", a, True), ("launch", b, True), ("launch", a, True), ("draining", a, True),
        ("terminate", a, True)]
    assert received[0]["record"] == f"edge-1.{ZONE}" and received[0]["address"] == private_ip(aws, a)
    # The freed index is taken by the next server.
    c = aws["ids"][2]
    handle(event(dns_handler.LAUNCH, c), cfg, aws["route53"], aws["ec2"])
    assert a_records(aws)[f"edge-1.{ZONE}."] == private_ip(aws, c)


def test_warm_pool_instances_get_no_record_until_they_enter_service(aws: dict[str, Any]) -> None:
    cfg = config(aws, pattern="{instance_id}")
    a = aws["ids"][0]
    out = dns_handler.handle(event(dns_handler.LAUNCH, a, destination="WarmPool"), cfg, aws["route53"], aws["ec2"])
    assert out["action"] == "ignored" and a_records(aws) == {}
    dns_handler.handle(event(dns_handler.LAUNCH, a, origin="WarmPool"), cfg, aws["route53"], aws["ec2"])
    assert a_records(aws) == {f"{a}.{ZONE}.": private_ip(aws, a)}
    # Terminated from the warm pool: nothing to delete, nothing fails.
    b = aws["ids"][1]
    dns_handler.handle(event(dns_handler.TERMINATE, b, origin="WarmPool", destination="EC2"), cfg,
                       aws["route53"], aws["ec2"])
    assert len(a_records(aws)) == 1


def test_other_groups_and_records_not_ours_are_left_alone(aws: dict[str, Any]) -> None:
    cfg = config(aws)
    a = aws["ids"][0]
    r53 = aws["route53"]
    # The operator's own record that happens to match the pattern, without the awslb marker.
    r53.change_resource_record_sets(HostedZoneId=aws["zone_id"], ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {"Name": f"edge-1.{ZONE}", "Type": "A", "TTL": 60,
                                                  "ResourceRecords": [{"Value": "192.0.2.10"}]}}]})
    out = dns_handler.handle(event(dns_handler.LAUNCH, a, group="someone-else"), cfg, r53, aws["ec2"])
    assert out["reason"] == "another group"
    # edge-1 is someone else's: the server gets edge-2, and edge-1 is untouched.
    dns_handler.handle(event(dns_handler.LAUNCH, a), cfg, r53, aws["ec2"])
    assert a_records(aws) == {f"edge-1.{ZONE}.": "192.0.2.10", f"edge-2.{ZONE}.": private_ip(aws, a)}
    # With {instance_id} names there is no other name to take: the change fails as AWS refuses
    # it, and the foreign record stays as it was.
    by_id = config(aws, pattern="{instance_id}")
    b = aws["ids"][1]
    r53.change_resource_record_sets(HostedZoneId=aws["zone_id"], ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {"Name": f"{b}.{ZONE}", "Type": "A", "TTL": 60,
                                                  "ResourceRecords": [{"Value": "192.0.2.11"}]}}]})
    with pytest.raises(Exception, match="InvalidChangeBatch"):
        dns_handler.handle(event(dns_handler.LAUNCH, b), by_id, r53, aws["ec2"])
    assert a_records(aws)[f"{b}.{ZONE}."] == "192.0.2.11"


def test_a_lost_race_for_an_index_reads_again(aws: dict[str, Any]) -> None:
    """Two invocations pick edge-1 at once: the loser's CREATE fails and it takes edge-2."""
    cfg = config(aws)
    a, b, _ = aws["ids"]
    r53 = aws["route53"]
    real = r53.list_resource_record_sets
    state = {"first": True}

    def stale_then_real(**kw: Any) -> Any:
        # The loser's first read happens before the winner's write lands.
        if state["first"]:
            state["first"] = False
            out = real(**kw)
            dns_handler.handle(event(dns_handler.LAUNCH, b), cfg, r53, aws["ec2"])
            return out
        return real(**kw)

    r53.list_resource_record_sets = stale_then_real  # type: ignore[method-assign]
    r53.get_paginator = lambda name: type("P", (), {"paginate": staticmethod(  # type: ignore[method-assign]
        lambda **kw: [stale_then_real(**kw)])})()
    dns_handler.handle(event(dns_handler.LAUNCH, a), cfg, r53, aws["ec2"])
    got = a_records(aws)
    assert got == {f"edge-1.{ZONE}.": private_ip(aws, b), f"edge-2.{ZONE}.": private_ip(aws, a)}


def test_sync_reconciles_with_the_group(aws: dict[str, Any]) -> None:
    cfg = config(aws, pattern="{instance_id}")
    a, b, c = aws["ids"]
    r53, ec2 = aws["route53"], aws["ec2"]
    for iid in (a, c):
        dns_handler.handle(event(dns_handler.LAUNCH, iid), cfg, r53, ec2)

    class Group:  # the group's view: a and b in service, c gone (terminated while no one listened)
        @staticmethod
        def describe_auto_scaling_groups(**kw: Any) -> dict[str, Any]:
            return {"AutoScalingGroups": [{"Instances": [
                {"InstanceId": a, "LifecycleState": "InService"},
                {"InstanceId": b, "LifecycleState": "InService"},
                {"InstanceId": c, "LifecycleState": "Terminating:Wait"}]}]}

    planned = dns_handler.sync(r53, ec2, Group, cfg, dry_run=True)
    assert sorted((ch.action, ch.instance_id) for ch in planned) == [("CREATE", b), ("DELETE", c)]
    assert set(a_records(aws)) == {f"{a}.{ZONE}.", f"{c}.{ZONE}."}  # dry run wrote nothing
    dns_handler.sync(r53, ec2, Group, cfg)
    assert set(a_records(aws)) == {f"{a}.{ZONE}.", f"{b}.{ZONE}."}
    assert dns_handler.sync(r53, ec2, Group, cfg) == []


@pytest.mark.parametrize("env, message", [
    ({"ADDRESS": "elastic"}, "ADDRESS"),
    ({"TTL": "-1"}, "TTL"),
    ({"WEBHOOK_URL": "https://app.example.com/hook"}, "WEBHOOK_SECRET"),
    ({"RECORD_PATTERN": "edge"}, "record pattern"),
])
def test_bad_configuration_is_named(env: dict[str, str], message: str) -> None:
    base = {"ZONE_ID": "Z1", "ZONE_NAME": ZONE, "RECORD_PATTERN": "{instance_id}"}
    with pytest.raises(ValueError, match=message):
        Config.from_env({**base, **env})


def test_unrelated_events_are_ignored(aws: dict[str, Any]) -> None:
    cfg = config(aws)
    for ev in (event(dns_handler.LAUNCH_ACTION, aws["ids"][0]),
               {**event(dns_handler.LAUNCH, aws["ids"][0]), "source": "aws.ec2"},
               {"detail-type": "Scheduled Event", "source": "aws.events"}):
        assert dns_handler.handle(ev, cfg, aws["route53"], aws["ec2"])["action"] == "ignored"
    assert a_records(aws) == {}
