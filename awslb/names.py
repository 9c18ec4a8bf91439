"""Physical names and tags, derived in one pure place."""

from __future__ import annotations

import hashlib
import re

TAG_STACK = "awslb:stack"
TAG_ID = "awslb:id"
ELBV2_MAX = 32


def physical(stack: str, logical_id: str, limit: int = 255) -> str:
    """'<stack>-<logical id>', letters, digits and hyphens, at most ``limit`` characters.

    A name that would be too long keeps its start and gets a short hash of the whole, so
    two long names stay distinct and the same inputs always give the same name.
    """
    name = re.sub(r"[^A-Za-z0-9-]+", "-", f"{stack}-{logical_id}").strip("-")
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


def elbv2(stack: str, logical_id: str) -> str:
    """A name for an ELBv2 balancer or target group: at most 32 characters."""
    return physical(stack, logical_id, ELBV2_MAX)


def tags(stack: str, logical_id: str, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    out = dict(extra or {})
    out.update({TAG_STACK: stack, TAG_ID: logical_id, "Name": name})
    return out


def tag_list(tags_: dict[str, str]) -> list[dict[str, str]]:
    """{'k': 'v'} -> [{'Key': 'k', 'Value': 'v'}] (the shape most AWS APIs take)."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags_.items())]


def tag_dict(tag_list_: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tag_list_ or []}
