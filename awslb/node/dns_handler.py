"""The Lambda function that keeps per-instance DNS (seed 003) when the group scales.

An EventBridge rule on the group's events (source ``aws.autoscaling``) invokes
:func:`handler`. EventBridge rather than the seed's SNS topic: the rule needs no topic and
no subscription, carries the warm-pool ``Origin``/``Destination`` fields, and is how AWS
now recommends reacting to Auto Scaling events.

=====================================================  ======================================
event (``detail-type``)                                what the function does
=====================================================  ======================================
EC2 Instance Launch Successful, Destination group      record for the instance; webhook ``launch``
EC2 Instance Launch Successful, Destination WarmPool   nothing: warm instances get no record
EC2 Instance-terminate Lifecycle Action (from group)   webhook ``draining`` (the record stays
                                                       while live sessions drain)
EC2 Instance Terminate Successful                      record deleted; webhook ``terminate``
EC2 Instance-launch Lifecycle Action                   nothing: the user-data completes it, and
                                                       "Launch Successful" follows
=====================================================  ======================================

EventBridge delivers at least once, so every action is idempotent: the record is reconciled
to what the instance needs, not blindly created.

Configuration comes from the function's environment: ``ZONE_ID``, ``ZONE_NAME``,
``RECORD_PATTERN`` (``{instance_id}`` or ``edge-{index}``, relative to the zone),
``ADDRESS`` (``private`` or ``public``), ``TTL``, ``GROUP_NAME``, and optionally
``WEBHOOK_URL`` with ``WEBHOOK_SECRET``, and ``SERVERS_RECORD``: one name in the zone
whose A record holds every in-service server's private address (one value each), marked
``"awslb-servers=<group>"`` by a TXT record beside it, for HAProxy's ``server-template``
(the HAProxy tier follows the group through DNS, with no reload). The webhook gets a JSON body signed with
HMAC-SHA256 over ``"<timestamp>.<body>"`` in ``X-Awslb-Signature: sha256=<hex>``, the
timestamp in ``X-Awslb-Timestamp`` (reject old ones on the receiving side).

Standard library plus boto3 (which the Lambda runtime provides), through ``awslb.node.awsapi``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from awslb.node import dns
from awslb.node.awsapi import client, error_code

LAUNCH = "EC2 Instance Launch Successful"
TERMINATE = "EC2 Instance Terminate Successful"
TERMINATE_ACTION = "EC2 Instance-terminate Lifecycle Action"
LAUNCH_ACTION = "EC2 Instance-launch Lifecycle Action"
CREATE_RETRIES = 4  # another invocation took the same {index}: read again and take the next


@dataclass(frozen=True)
class Config:
    zone_id: str
    naming: dns.Naming
    address: str = "private"
    ttl: int = 60
    group: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""
    servers: str = ""  # the servers record's full name ("servers.media.example.com."), or none

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        address = env.get("ADDRESS", "private")
        if address not in ("private", "public"):
            raise dns.DnsConfigError(f"ADDRESS must be private or public, not {address!r}")
        ttl = int(env.get("TTL", "60"))
        if not 0 <= ttl <= 2147483647:
            raise dns.DnsConfigError(f"TTL {ttl} is out of range")
        if env.get("WEBHOOK_URL") and not env.get("WEBHOOK_SECRET"):
            raise dns.DnsConfigError("WEBHOOK_URL is set without WEBHOOK_SECRET")
        servers = dns.servers_name(env["ZONE_NAME"], env["SERVERS_RECORD"]) if env.get("SERVERS_RECORD") else ""
        if servers and not env.get("GROUP_NAME"):
            raise dns.DnsConfigError("SERVERS_RECORD is set without GROUP_NAME (the record's owner)")
        return cls(zone_id=env["ZONE_ID"], naming=dns.Naming(env["ZONE_NAME"], env.get("RECORD_PATTERN", "{instance_id}")),
                   address=address, ttl=ttl, group=env.get("GROUP_NAME", ""),
                   webhook_url=env.get("WEBHOOK_URL", ""), webhook_secret=env.get("WEBHOOK_SECRET", ""),
                   servers=servers)


def classify(event: Mapping[str, Any]) -> str | None:
    """``launch``, ``draining``, ``terminate``, or None for an event that needs nothing."""
    if event.get("source") != "aws.autoscaling":
        return None
    kind = event.get("detail-type")
    detail = event.get("detail") or {}
    if kind == LAUNCH:
        return None if detail.get("Destination") == "WarmPool" else "launch"
    if kind == TERMINATE:
        return "terminate"
    if kind == TERMINATE_ACTION:
        return None if detail.get("Origin") == "WarmPool" else "draining"
    return None


# -- Route53 ---------------------------------------------------------------------------------

def records(route53: Any, cfg: Config) -> tuple[list[dns.Owned], set[str]]:
    """The records awslb owns in the zone, and the names' values any record uses."""
    sets: list[dict[str, Any]] = []
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=cfg.zone_id):
        sets.extend(page["ResourceRecordSets"])
    return dns.owned(sets, cfg.naming), dns.in_use(sets, cfg.naming)


def plan(route53: Any, cfg: Config, want: Mapping[str, str], only: list[str] | None = None
         ) -> list[dns.Change]:
    have, taken = records(route53, cfg)
    return dns.reconcile(want, have, cfg.naming, cfg.ttl, only, taken)


def apply(route53: Any, cfg: Config, changes: list[dns.Change]) -> None:
    for change in changes:  # one batch per instance: its A record and marker together
        route53.change_resource_record_sets(
            HostedZoneId=cfg.zone_id,
            ChangeBatch={"Comment": f"awslb: {change.reason}", "Changes": change.batch()})


def converge(route53: Any, cfg: Config, want: Mapping[str, str], only: list[str] | None = None
             ) -> list[dns.Change]:
    """Reconcile and apply; a CREATE that lost a race for an ``{index}`` reads again."""
    for attempt in range(CREATE_RETRIES):
        changes = plan(route53, cfg, want, only)
        try:
            apply(route53, cfg, changes)
            return changes
        except Exception as exc:
            if error_code(exc) != "InvalidChangeBatch" or attempt == CREATE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


# -- instances -------------------------------------------------------------------------------

def addresses(ec2: Any, instance_ids: list[str], which: str) -> dict[str, str]:
    """id -> private or public IPv4 of the running instances among ``instance_ids``."""
    key = "PublicIpAddress" if which == "public" else "PrivateIpAddress"
    out: dict[str, str] = {}
    if not instance_ids:
        return out
    for page in ec2.get_paginator("describe_instances").paginate(InstanceIds=instance_ids):
        for reservation in page["Reservations"]:
            for inst in reservation["Instances"]:
                if inst.get("State", {}).get("Name") in ("pending", "running") and inst.get(key):
                    out[inst["InstanceId"]] = inst[key]
    return out


def in_service(autoscaling: Any, group: str) -> list[str]:
    """The group's InService instances (warm-pool instances are not in this list)."""
    found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    if not found:
        return []
    return sorted(i["InstanceId"] for i in found[0].get("Instances", [])
                  if i.get("LifecycleState") == "InService")


def sync(route53: Any, ec2: Any, autoscaling: Any, cfg: Config, dry_run: bool = False) -> list[dns.Change]:
    """Records for every InService instance of the group and none for any other (`awslb dns sync`)."""
    want = addresses(ec2, in_service(autoscaling, cfg.group), cfg.address)
    if dry_run:
        return plan(route53, cfg, want)
    changes = converge(route53, cfg, want)
    keep_servers(route53, ec2, autoscaling, cfg)
    return changes


def keep_servers(route53: Any, ec2: Any, autoscaling: Any, cfg: Config, plus: str = "", minus: str = ""
                 ) -> list[str]:
    """The servers record holds every InService instance's private address (``plus``: an
    instance launching now, which may not be InService yet; ``minus``: one leaving).
    Returns the addresses it holds; nothing to do without ``SERVERS_RECORD``."""
    if not cfg.servers:
        return []
    ids = set(in_service(autoscaling, cfg.group)) - {minus}
    if plus:
        ids.add(plus)
    want = sorted(addresses(ec2, sorted(ids), "private").values())
    sets: list[dict[str, Any]] = []
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=cfg.zone_id):
        sets.extend(page["ResourceRecordSets"])
    batch = dns.servers_batch(sets, cfg.servers, cfg.group, want, cfg.ttl)
    if batch:
        route53.change_resource_record_sets(HostedZoneId=cfg.zone_id, ChangeBatch={
            "Comment": f"awslb: servers of {cfg.group}", "Changes": batch})
    return want


# -- the webhook -----------------------------------------------------------------------------

def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def notify(cfg: Config, payload: Mapping[str, Any], now: Callable[[], float] = time.time) -> None:
    if not cfg.webhook_url:
        return
    body = json.dumps(payload, sort_keys=True).encode()
    stamp = str(int(now()))
    req = urllib.request.Request(cfg.webhook_url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "awslb-dns",
        "X-Awslb-Timestamp": stamp,
        "X-Awslb-Signature": sign(cfg.webhook_secret, stamp, body),
    })
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (the operator's URL)
        resp.read()


# -- the entry point -------------------------------------------------------------------------

def handle(event: Mapping[str, Any], cfg: Config, route53: Any, ec2: Any, autoscaling: Any = None
           ) -> dict[str, Any]:
    what = classify(event)
    detail = event.get("detail") or {}
    iid = str(detail.get("EC2InstanceId", ""))
    if what is None:
        return {"action": "ignored", "detail-type": event.get("detail-type")}
    if cfg.group and detail.get("AutoScalingGroupName") != cfg.group:
        return {"action": "ignored", "reason": "another group"}
    if not dns.INSTANCE_ID.fullmatch(iid):
        return {"action": "ignored", "reason": "no instance id"}
    changes: list[dns.Change] = []
    if what == "launch":
        want = addresses(ec2, [iid], cfg.address)
        if iid not in want:
            raise RuntimeError(f"{iid} has no {cfg.address} address yet")  # retried by Lambda
        changes = converge(route53, cfg, want, only=[iid])
    elif what == "terminate":
        changes = converge(route53, cfg, {}, only=[iid])
    servers = None
    if cfg.servers and what in ("launch", "terminate"):
        servers = keep_servers(route53, ec2, autoscaling, cfg, plus=iid if what == "launch" else "",
                               minus=iid if what == "terminate" else "")
    mine = [r for r in records(route53, cfg)[0] if r.instance_id == iid] if what != "terminate" else []
    record = mine[0].name.rstrip(".") if mine else None
    address = mine[0].address if mine else None
    notify(cfg, {"event": what, "instance_id": iid, "group": detail.get("AutoScalingGroupName"),
                 "record": record, "address": address, "time": event.get("time")})
    out = {"action": what, "instance_id": iid, "record": record,
           "changes": [f"{c.action} {c.name} ({c.reason})" for c in changes]}
    if servers is not None:
        out["servers"] = servers
    return out


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point (``awslb.node.dns_handler.handler``)."""
    cfg = Config.from_env(os.environ)
    return handle(event, cfg, client("route53"), client("ec2"), client("autoscaling") if cfg.servers else None)
