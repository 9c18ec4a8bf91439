"""`awslb create-alb`: the Application Load Balancer flow with existing servers (guide 000)."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, confirm_apply, report, state

PortOpt = dict(min=1, max=65535)

# Stack keys and the create-alb / target-group flags that set them (for error messages).
FLAGS = {
    "load_balancer.name": "--name",
    "load_balancer.ws_port": "--ws-port",
    "load_balancer.http_port": "--http-port",
    "load_balancer.health_check.port": "--health-port",
    "load_balancer.health_check.path": "--health-path",
    "load_balancer.cookie_ttl": "--cookie-ttl",
    "load_balancer.idle_timeout": "--idle-timeout",
    "load_balancer.deregistration_delay": "--deregistration-delay",
    "load_balancer.targets": "--target",
    "load_balancer.subnets": "--subnet",
    "load_balancer.security_groups": "--security-group",
    "load_balancer.target_group": "--name",
    "stack.name": "--stack",
}


def create_alb(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Balancer name (default: STACK-alb; kept from an earlier run).")] = None,
    ws_port: Annotated[int, typer.Option("--ws-port", **PortOpt, help="WebSocket port of the servers and the listener.")] = 8080,
    http_port: Annotated[int | None, typer.Option("--http-port", **PortOpt, help="Also a listener and target group for the stat/admin port.")] = None,
    health_port: Annotated[int, typer.Option("--health-port", **PortOpt, help="Health check port (the stat page).")] = 8081,
    health_path: Annotated[str, typer.Option("--health-path", help="Health check path (the stat page).")] = "/?action=stat",
    sticky: Annotated[bool, typer.Option("--sticky/--no-sticky", help="LB-cookie stickiness.")] = True,
    cookie_ttl: Annotated[int, typer.Option("--cookie-ttl", help="Stickiness cookie lifetime, seconds.")] = 86400,
    target: Annotated[list[str] | None, typer.Option("--target", help="Existing server to register: instance id or Name tag (repeat).")] = None,
    subnet: Annotated[list[str] | None, typer.Option("--subnet", help="Subnet for the balancer (repeat; default: one per zone).")] = None,
    security_group: Annotated[list[str] | None, typer.Option("--security-group", help="Security group for the balancer (repeat; default: the stack's).")] = None,
    internal: Annotated[bool, typer.Option("--internal", help="An internal balancer instead of internet-facing.")] = False,
    idle_timeout: Annotated[int, typer.Option("--idle-timeout", help="Seconds an idle WebSocket stays open (AWS default 60 is too short).")] = 3600,
    deregistration_delay: Annotated[int, typer.Option("--deregistration-delay", help="Seconds a leaving server keeps its sessions.")] = 300,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not wait until the balancer is active.")] = False,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Application Load Balancer + WebSocket target group + listeners, existing servers registered.

    Every setting with a flag here is set from the flags (a flag left out means its
    default); the balancer's name and a later `awslb listener https` are kept, so running
    the command again changes nothing.
    """
    from awslb import deploy, spec
    from awslb.cli._balancer import flag_names, outcome, recorded_lb, show_outcome
    from awslb.errors import UsageError

    st = state(ctx)
    with flag_names(FLAGS):
        recorded, base = recorded_lb(stack)
        if base.get("type") == "classic":
            raise UsageError(f"--stack: stack {stack} has a Classic Load Balancer; use another --stack for the ALB")
        values = dict(base)
        values.update(
            type="application", balancer=True, ws_port=ws_port,
            health_check={**base.get("health_check", {}), "port": health_port, "path": health_path},
            stickiness=sticky, cookie_ttl=cookie_ttl, idle_timeout=idle_timeout,
            deregistration_delay=deregistration_delay, internal=internal,
            targets=list(target or []), subnets=list(subnet or []), security_groups=list(security_group or []),
        )
        for key, value in (("name", name), ("http_port", http_port)):
            if value is not None:
                values[key] = value
            elif key == "http_port":
                values.pop(key, None)
        section = spec.section(spec.LoadBalancerSection, values, "load_balancer")
        aws = st.aws(recorded.stack.region)
        result = deploy.apply_sections(aws, st.ui, stack, {"load_balancer": section},
                                       confirm=confirm_apply(yes), dry_run=dry_run,
                                       opts=st.options(wait=not no_wait))
    if dry_run:
        report(st.ui, result, dry_run)
        return
    show_outcome(st.ui, result, outcome(aws, result))


def register(app: typer.Typer) -> None:
    app.command("create-alb")(create_alb)
