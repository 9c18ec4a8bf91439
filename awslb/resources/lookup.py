"""Looking up what a stack names but does not make (read-only): instances, subnets, security groups.

The one place these are looked up: the image source, the balancer's targets, HAProxy
servers, the subnets and security groups of a balancer, a group or a launch template.
Anything unknown is an InputError naming the stack key or flag (``key``), before any write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awslb.aws import Aws
from awslb.errors import InputError
from awslb.spec import INSTANCE_ID

LIVE_STATES = ["pending", "running", "stopping", "stopped"]


# -- instances ---------------------------------------------------------------------------------

def find_instances(aws: Aws, refs: Sequence[str], key: str) -> list[dict[str, Any]]:
    """The instances named by ``refs`` (ids or Name tags), in the given order.

    ``key`` names the stack key or flag for the error (e.g. "load_balancer.targets").
    A Name that matches several live instances is an error too: say which one by id.
    """
    if not refs:
        return []
    by_id = _live_by_id(aws, [r for r in refs if INSTANCE_ID.match(r)])
    by_name = _live_by_name(aws, [r for r in refs if not INSTANCE_ID.match(r)])
    return [by_id[r] if r in by_id else _one_named(aws, r, by_name.get(r, []), key) for r in refs]


def _live_instances(aws: Aws, filter_name: str, values: list[str]) -> list[dict[str, Any]]:
    if not values:
        return []
    return [inst for res in aws.paginate("ec2", "describe_instances", "Reservations",
                                         Filters=[{"Name": filter_name, "Values": values},
                                                  {"Name": "instance-state-name", "Values": LIVE_STATES}])
            for inst in res["Instances"]]


def _live_by_id(aws: Aws, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {inst["InstanceId"]: inst for inst in _live_instances(aws, "instance-id", ids)}


def _live_by_name(aws: Aws, tagged: list[str]) -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for inst in _live_instances(aws, "tag:Name", tagged):
        name = next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), None)
        if name is not None:
            by_name.setdefault(name, []).append(inst)
    return by_name


def _one_named(aws: Aws, ref: str, named: list[dict[str, Any]], key: str) -> dict[str, Any]:
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        which = ", ".join(i["InstanceId"] for i in named)
        raise InputError(f"{key}: several instances are named {ref!r} ({which}): give an instance id")
    raise InputError(f"{key}: no such instance in {aws.region}: {ref}")


# -- subnets and security groups ----------------------------------------------------------------

def find_subnets(aws: Aws, ids: Sequence[str], key: str, vpc_id: str | None = None) -> list[dict[str, Any]]:
    """The subnets ``ids``, in the given order; each must exist (and be in ``vpc_id`` when given)."""
    if not ids:
        return []
    found = {s["SubnetId"]: s for s in aws.paginate("ec2", "describe_subnets", "Subnets",
                                                    Filters=[{"Name": "subnet-id", "Values": list(ids)}])}
    for sid in ids:
        if sid not in found:
            raise InputError(f"{key}: no such subnet in {aws.region}: {sid}")
        if vpc_id is not None and found[sid]["VpcId"] != vpc_id:
            raise InputError(f"{key}: {sid} is in {found[sid]['VpcId']}, the stack is in {vpc_id}")
    return [found[sid] for sid in ids]


def find_security_groups(aws: Aws, ids: Sequence[str], key: str,
                         vpc_id: str | None = None) -> list[dict[str, Any]]:
    """The security groups ``ids``, in the given order; each must exist (and be in ``vpc_id`` when given)."""
    if not ids:
        return []
    found = {g["GroupId"]: g for g in aws.paginate("ec2", "describe_security_groups", "SecurityGroups",
                                                   Filters=[{"Name": "group-id", "Values": list(ids)}])}
    for gid in ids:
        if gid not in found:
            raise InputError(f"{key}: no such security group in {aws.region}: {gid}")
        if vpc_id is not None and found[gid].get("VpcId") != vpc_id:
            raise InputError(f"{key}: {gid} is in {found[gid].get('VpcId')}, the stack is in {vpc_id}")
    return [found[gid] for gid in ids]
