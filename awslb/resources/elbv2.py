"""Read-only helpers shared by the ELBv2 kinds (target groups, ALB/NLB, listeners).

ELBv2 has no tag filter on its describe calls: list, then read tags in batches of 20 (the
API's limit) and keep what carries the stack's tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.spec import LoadBalancerSection, StackSpec

TAG_BATCH = 20
TYPES = ("application", "network")  # the ELBv2 balancer types awslb makes


def application(spec: StackSpec) -> LoadBalancerSection | None:
    """The stack's load_balancer section when it is an ELBv2 balancer: Application or Network.

    Both are the same kinds (balancer ``alb``, target groups, listeners), told apart by
    ``lb.type``: the logical id ``alb`` is the stack's ELBv2 balancer of either type, so a
    change of type is a replacement of that one balancer.
    """
    lb = spec.load_balancer
    return lb if lb is not None and lb.type in TYPES else None


def network(spec: StackSpec) -> bool:
    return spec.load_balancer is not None and spec.load_balancer.type == "network"


def alb_name(stack: str, lb: LoadBalancerSection) -> str:
    return lb.name or names.elbv2(stack, "nlb" if lb.type == "network" else "alb")


def tg_name(stack: str, lb: LoadBalancerSection, logical_id: str) -> str:
    if logical_id == "ws-tg" and lb.target_group:
        return lb.target_group
    return names.elbv2(stack, logical_id.removesuffix("-tg"))


def tags_of(aws: Aws, arns: list[str]) -> dict[str, dict[str, str]]:
    """{arn: {key: value}}; a resource deleted meanwhile is left out."""
    out: dict[str, dict[str, str]] = {}
    for i in range(0, len(arns), TAG_BATCH):
        batch = arns[i : i + TAG_BATCH]
        got = aws.find("elbv2", "describe_tags", ResourceArns=batch)
        if got is None:  # one of the batch vanished: ask one by one
            for arn in batch:
                one = aws.find("elbv2", "describe_tags", ResourceArns=[arn])
                for d in (one or {}).get("TagDescriptions", []):
                    out[d["ResourceArn"]] = names.tag_dict(d.get("Tags"))
            continue
        for d in got.get("TagDescriptions", []):
            out[d["ResourceArn"]] = names.tag_dict(d.get("Tags"))
    return out


def of_stack(aws: Aws, items: list[Mapping[str, Any]], arn_key: str, stack: str
             ) -> list[tuple[Mapping[str, Any], dict[str, str]]]:
    """The items tagged with the stack, each with its tags."""
    tags = tags_of(aws, [i[arn_key] for i in items])
    return [(i, tags[i[arn_key]]) for i in items
            if tags.get(i[arn_key], {}).get(names.TAG_STACK) == stack]


def stack_albs(aws: Aws, stack: str) -> list[tuple[Mapping[str, Any], dict[str, str]]]:
    lbs = [lb for lb in aws.paginate("elbv2", "describe_load_balancers", "LoadBalancers")
           if lb.get("Type") in TYPES]
    return of_stack(aws, lbs, "LoadBalancerArn", stack)


def attributes(items: list[Mapping[str, str]], keys: set[str] | frozenset[str]) -> dict[str, str]:
    """The attributes awslb manages, from a describe_*_attributes answer."""
    return {a["Key"]: a["Value"] for a in items if a["Key"] in keys}
