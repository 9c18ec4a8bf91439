"""`awslb target-group create`: the WebSocket target group alone, for a balancer made elsewhere."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.alb import PortOpt
from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, run_step

app = typer.Typer(help="Target groups (instance targets, HTTP1, health check on the stat page).",
                  no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Target group name, 1-32 letters, digits, hyphens (default: STACK-ws).")] = None,
    port: Annotated[int | None, typer.Option("--port", **PortOpt, help="The servers' WebSocket port (default: 8080).")] = None,
    health_port: Annotated[int | None, typer.Option("--health-port", **PortOpt, help="Health check port, the stat page (default: 8081).")] = None,
    health_path: Annotated[str | None, typer.Option("--health-path", help="Health check path (default: /?action=stat).")] = None,
    sticky: Annotated[bool | None, typer.Option("--sticky/--no-sticky", help="LB-cookie stickiness (default: sticky).")] = None,
    cookie_ttl: Annotated[int | None, typer.Option("--cookie-ttl", help="Stickiness cookie lifetime, seconds (default: 86400).")] = None,
    deregistration_delay: Annotated[int | None, typer.Option("--deregistration-delay", help="Seconds a leaving server keeps its sessions (default: 300).")] = None,
    target: Annotated[list[str] | None, typer.Option("--target", help="Existing server to register: instance id or Name tag (repeat).")] = None,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """The WebSocket target group (and the stack's existing servers in it), without a balancer.

    Point a balancer made elsewhere at it, or attach an Auto Scaling group
    (`awslb asg create --target-group NAME`). A later `awslb create-alb` in the same stack
    puts a balancer in front of this very group. A flag left out keeps what the stack has.
    """
    from awslb.cli._balancer import show_outcome

    flags = dict(name=name, port=port, health_port=health_port, health_path=health_path, sticky=sticky,
                 cookie_ttl=cookie_ttl, deregistration_delay=deregistration_delay, target=target)
    st, aws, result = run_step(ctx, "target-group create", flags, stack=stack, dry_run=dry_run, yes=yes)
    show_outcome(st.ui, aws, result, dry_run)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="target-group")
