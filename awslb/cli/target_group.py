"""`awslb target-group create`: the WebSocket target group alone, for a balancer made elsewhere."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.alb import FLAGS, PortOpt
from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, confirm_apply, report, state

app = typer.Typer(help="Target groups (instance targets, HTTP1, health check on the stat page).",
                  no_args_is_help=True)

TG_FLAGS = {**FLAGS, "load_balancer.ws_port": "--port", "stack.name": "--stack"}


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Target group name (1-32 letters, digits, hyphens).")],
    port: Annotated[int, typer.Option("--port", **PortOpt, help="The servers' WebSocket port.")] = 8080,
    health_port: Annotated[int, typer.Option("--health-port", **PortOpt, help="Health check port (the stat page).")] = 8081,
    health_path: Annotated[str, typer.Option("--health-path", help="Health check path (the stat page).")] = "/?action=stat",
    sticky: Annotated[bool, typer.Option("--sticky/--no-sticky", help="LB-cookie stickiness.")] = True,
    cookie_ttl: Annotated[int, typer.Option("--cookie-ttl", help="Stickiness cookie lifetime, seconds.")] = 86400,
    deregistration_delay: Annotated[int, typer.Option("--deregistration-delay", help="Seconds a leaving server keeps its sessions.")] = 300,
    target: Annotated[list[str] | None, typer.Option("--target", help="Existing server to register: instance id or Name tag (repeat).")] = None,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """The WebSocket target group (and the stack's existing servers in it), without a balancer.

    Point a balancer made elsewhere at it, or attach an Auto Scaling group
    (`awslb asg create --target-group NAME`). A later `awslb create-alb` in the same stack
    puts a balancer in front of this very group.
    """
    from awslb import deploy, spec
    from awslb.cli._balancer import flag_names, outcome, recorded_lb, show_outcome
    from awslb.errors import UsageError

    st = state(ctx)
    with flag_names(TG_FLAGS):
        recorded, base = recorded_lb(stack)
        if base.get("type") == "classic":
            raise UsageError(f"--stack: stack {stack} has a Classic Load Balancer, which takes no target groups")
        values = dict(base)
        values.update(
            type="application", balancer=base.get("balancer", False), target_group=name, ws_port=port,
            health_check={**base.get("health_check", {}), "port": health_port, "path": health_path},
            stickiness=sticky, cookie_ttl=cookie_ttl, deregistration_delay=deregistration_delay,
            targets=list(target or []),
        )
        section = spec.section(spec.LoadBalancerSection, values, "load_balancer")
        aws = st.aws(recorded.stack.region)
        result = deploy.apply_sections(aws, st.ui, stack, {"load_balancer": section},
                                       confirm=confirm_apply(yes), dry_run=dry_run, opts=st.options())
    if dry_run:
        report(st.ui, result, dry_run)
        return
    show_outcome(st.ui, result, outcome(aws, result))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="target-group")
