"""Finding existing instances (read-only): by id (`i-...`) or by their Name tag.

Used wherever a stack names servers that already run: the image source, the balancer's
targets, HAProxy servers. An unknown one is an InputError naming the key or flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awslb.aws import Aws
from awslb.errors import InputError
from awslb.spec import INSTANCE_ID

LIVE_STATES = ["pending", "running", "stopping", "stopped"]


def find_instances(aws: Aws, refs: Sequence[str], key: str) -> list[dict[str, Any]]:
    """The instances named by ``refs`` (ids or Name tags), in the given order.

    ``key`` names the stack key or flag for the error (e.g. "load_balancer.targets").
    A Name that matches several live instances is an error too: say which one by id.
    """
    if not refs:
        return []
    ids = [r for r in refs if INSTANCE_ID.match(r)]
    tagged = [r for r in refs if not INSTANCE_ID.match(r)]
    found: dict[str, dict[str, Any]] = {}
    if ids:
        for res in aws.paginate("ec2", "describe_instances", "Reservations",
                                Filters=[{"Name": "instance-id", "Values": ids},
                                         {"Name": "instance-state-name", "Values": LIVE_STATES}]):
            for inst in res["Instances"]:
                found[inst["InstanceId"]] = inst
    by_name: dict[str, list[dict[str, Any]]] = {}
    if tagged:
        for res in aws.paginate("ec2", "describe_instances", "Reservations",
                                Filters=[{"Name": "tag:Name", "Values": tagged},
                                         {"Name": "instance-state-name", "Values": LIVE_STATES}]):
            for inst in res["Instances"]:
                name = next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), None)
                if name is not None:
                    by_name.setdefault(name, []).append(inst)
    out = []
    for r in refs:
        if r in found:
            out.append(found[r])
        elif len(by_name.get(r, [])) == 1:
            out.append(by_name[r][0])
        elif len(by_name.get(r, [])) > 1:
            which = ", ".join(i["InstanceId"] for i in by_name[r])
            raise InputError(f"{key}: several instances are named {r!r} ({which}): give an instance id")
        else:
            raise InputError(f"{key}: no such instance in {aws.region}: {r}")
    return out
