"""What the balancer step commands (create-alb, target-group, listener) print.

Kept light: nothing here imports boto3 or the engine at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from awslb.aws import Aws
    from awslb.deploy import UpResult
    from awslb.ui import UI


def show_outcome(ui: UI, aws: Aws, result: UpResult, dry_run: bool) -> None:
    """JSON: the facts; text: the usual summary (stderr), then the facts (stdout)."""
    from awslb.cli.common import report
    from awslb.steps import balancer_outcome

    if dry_run:
        report(ui, result, dry_run)
        return
    data = balancer_outcome(aws, result)
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
