"""`awslb create-alb`: the Application Load Balancer flow with existing servers (guide 000)."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import AllowReplaceOpt, DryRunOpt, StackOpt, YesOpt, run_step

PortOpt = dict(min=1, max=65535)


def create_alb(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Balancer name (default: STACK-alb).")] = None,
    ws_port: Annotated[int | None, typer.Option("--ws-port", **PortOpt, help="WebSocket port of the servers and the listener (default: 8080).")] = None,
    http_port: Annotated[int | None, typer.Option("--http-port", min=0, max=65535, help="Also a listener and target group for the stat/admin port; 0 removes them.")] = None,
    health_port: Annotated[int | None, typer.Option("--health-port", **PortOpt, help="Health check port, the stat page (default: 8081).")] = None,
    health_path: Annotated[str | None, typer.Option("--health-path", help="Health check path (default: /?action=stat).")] = None,
    sticky: Annotated[bool | None, typer.Option("--sticky/--no-sticky", help="LB-cookie stickiness (default: sticky).")] = None,
    cookie_ttl: Annotated[int | None, typer.Option("--cookie-ttl", help="Stickiness cookie lifetime, seconds (default: 86400).")] = None,
    target: Annotated[list[str] | None, typer.Option("--target", help="Existing server to register: instance id or Name tag (repeat).")] = None,
    subnet: Annotated[list[str] | None, typer.Option("--subnet", help="Subnet for the balancer (repeat; default: one per zone).")] = None,
    security_group: Annotated[list[str] | None, typer.Option("--security-group", help="Security group for the balancer (repeat; default: the stack's).")] = None,
    internal: Annotated[bool | None, typer.Option("--internal/--internet-facing", help="Scheme (default: internet-facing); a change replaces the balancer.")] = None,
    idle_timeout: Annotated[int | None, typer.Option("--idle-timeout", help="Seconds an idle WebSocket stays open (default: 3600; AWS's 60 is too short).")] = None,
    deregistration_delay: Annotated[int | None, typer.Option("--deregistration-delay", help="Seconds a leaving server keeps its sessions (default: 300).")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not wait until the balancer is active.")] = False,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    allow_replace: AllowReplaceOpt = False,
) -> None:
    """Application Load Balancer + WebSocket target group + listeners, existing servers registered.

    A flag left out keeps what the stack has (a later `awslb listener https` included), so
    running the command again changes nothing.
    """
    from awslb.cli._balancer import show_outcome

    flags = dict(name=name, ws_port=ws_port, http_port=http_port, health_port=health_port,
                 health_path=health_path, sticky=sticky, cookie_ttl=cookie_ttl, target=target, subnet=subnet,
                 security_group=security_group, internal=internal, idle_timeout=idle_timeout,
                 deregistration_delay=deregistration_delay)
    st, aws, result = run_step(ctx, "create-alb", flags, stack=stack, dry_run=dry_run, yes=yes,
                               allow_replace=allow_replace, wait=not no_wait)
    show_outcome(st.ui, aws, result, dry_run)


def register(app: typer.Typer) -> None:
    app.command("create-alb")(create_alb)
