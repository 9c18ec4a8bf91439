"""What the balancer step commands (create-alb, target-group, listener) share.

Kept light: nothing here imports boto3 or the engine at import time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from awslb.aws import Aws
    from awslb.deploy import UpResult
    from awslb.spec import StackSpec
    from awslb.ui import UI


@contextmanager
def flag_names(flags: Mapping[str, str]) -> Iterator[None]:
    """Errors about a stack key name the flag that set it: '--target (load_balancer.targets): ...'."""
    from awslb.errors import InputError

    try:
        yield
    except InputError as exc:
        message = exc.message
        for key, flag in flags.items():
            if f"{key}:" in message:
                message = message.replace(f"{key}:", f"{flag} ({key}):", 1)
                break
        if message == exc.message:
            raise
        raise InputError(message, exc.hint) from None


def recorded_lb(stack: str) -> tuple[StackSpec, dict[str, Any]]:
    """The stack's recorded spec and its load_balancer section as a dict (empty if none)."""
    from awslb import deploy

    recorded = deploy.stack_spec(stack)
    lb = recorded.load_balancer
    return recorded, (lb.model_dump(mode="json", exclude_none=True) if lb is not None else {})


def outcome(aws: Aws, result: UpResult) -> dict[str, Any]:
    """The balancer's facts after a run: DNS name, ARNs, URL, each target's health (read-only)."""
    out = result.outputs
    data: dict[str, Any] = {"stack": result.plan.stack, "changes": len(result.plan.changes)}
    alb = out.get("alb")
    if alb is not None:
        data.update(name=alb.name, dns_name=alb.attrs.get("dns_name"), alb_arn=alb.attrs.get("arn"))
        found = aws.find("elbv2", "describe_load_balancers", LoadBalancerArns=[alb.physical_id]) or {}
        data["state"] = next(((lb.get("State") or {}).get("Code") for lb in found.get("LoadBalancers", [])), None)
    groups = {i: o for i, o in sorted(out.items()) if o.kind == "target_group"}
    data["target_group_arns"] = {i: o.attrs.get("arn") for i, o in groups.items()}
    listeners = {i: o for i, o in sorted(out.items()) if o.kind == "listener"}
    data["listener_arns"] = {i: o.attrs.get("arn") for i, o in listeners.items()}
    ws = listeners.get("ws-listener")
    if ws is not None and data.get("dns_name"):
        scheme = "wss" if ws.attrs.get("protocol") == "HTTPS" else "ws"
        data["ws_url"] = f"{scheme}://{data['dns_name']}:{ws.attrs.get('port')}"
    targets = []
    for gid, group in groups.items():
        health = aws.find("elbv2", "describe_target_health", TargetGroupArn=group.physical_id) or {}
        for d in health.get("TargetHealthDescriptions", []):
            th = d.get("TargetHealth", {})
            targets.append({"target_group": gid, "id": d["Target"]["Id"], "port": d["Target"].get("Port"),
                            "health": th.get("State"), "reason": th.get("Description") or th.get("Reason")})
    data["targets"] = targets
    return data


def show_outcome(ui: UI, result: UpResult, data: Mapping[str, Any]) -> None:
    """JSON: the facts; text: the usual summary (stderr), then the facts (stdout)."""
    from awslb.cli.common import report

    if ui.json:
        ui.data(dict(data))
        return
    report(ui, result, dry_run=False)
    if data.get("dns_name"):
        ui.line(f"balancer {data.get('name')}: {data.get('state')}, {data.get('dns_name')}")
    if data.get("ws_url"):
        ui.line(f"WebSocket URL: {data['ws_url']}")
    if data.get("targets"):
        rows = [[t["target_group"], t["id"], t["port"], t["health"], t["reason"] or ""] for t in data["targets"]]
        ui.table("targets", ["target group", "target", "port", "health", "reason"], rows)
    elif data.get("target_group_arns"):
        ui.line("no targets registered yet (add --target, or attach an Auto Scaling group)")
