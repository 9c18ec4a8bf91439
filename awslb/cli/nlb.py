"""`awslb create-nlb`: a Network Load Balancer for WebSockets at scale (seed 004)."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.alb import PortOpt
from awslb.cli.common import AllowReplaceOpt, DryRunOpt, StackOpt, YesOpt, run_step

# AWS's limits on an NLB's TCP listener idle timeout (tcp.idle_timeout.seconds).
IDLE_MIN, IDLE_MAX = 60, 6000


def create_nlb(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Balancer name (default: STACK-nlb).")] = None,
    ws_port: Annotated[int | None, typer.Option("--ws-port", **PortOpt, help="WebSocket port of the servers and the TCP listener (default: 8080).")] = None,
    wss_port: Annotated[int | None, typer.Option("--wss-port", **PortOpt, help="Secure WebSocket port: the WebSocket listener becomes TLS on it (needs --certificate or --domain; default: 8443).")] = None,
    certificate: Annotated[str | None, typer.Option("--certificate", help="ACM (or IAM) certificate ARN for the TLS listener.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Use the issued ACM certificate for this domain (or check --certificate covers it).")] = None,
    ssl_policy: Annotated[str | None, typer.Option("--ssl-policy", help="ELB security policy of the TLS listener (default: ELBSecurityPolicy-TLS13-1-2-2021-06, TLS 1.3/1.2 only).")] = None,
    http_port: Annotated[int | None, typer.Option("--http-port", min=0, max=65535, help="Also a TCP listener and target group for the stat/admin port; 0 removes them.")] = None,
    rtmp_port: Annotated[int | None, typer.Option("--rtmp-port", min=0, max=65535, help="Also a TCP listener for RTMP (1935) and its target group; 0 removes them.")] = None,
    udp_port: Annotated[list[int] | None, typer.Option("--udp-port", min=0, max=65535, help="A UDP listener and target group on this port (repeat); 0 removes them all.")] = None,
    health_port: Annotated[int | None, typer.Option("--health-port", **PortOpt, help="Health check port, the stat page over HTTP (default: 8081).")] = None,
    health_path: Annotated[str | None, typer.Option("--health-path", help="Health check path (default: /?action=stat).")] = None,
    sticky: Annotated[bool | None, typer.Option("--sticky/--no-sticky", help="Source-IP stickiness (default: sticky).")] = None,
    idle_timeout: Annotated[int | None, typer.Option("--idle-timeout", min=IDLE_MIN, max=IDLE_MAX, help="Seconds an idle connection stays open on the TCP listeners, 60-6000 (default: 3600; AWS's 350 drops idle WebSockets). A TLS listener's is fixed at 350 s by AWS and cannot be set.")] = None,
    deregistration_delay: Annotated[int | None, typer.Option("--deregistration-delay", help="Seconds a leaving server keeps its connections (default: 300).")] = None,
    target: Annotated[list[str] | None, typer.Option("--target", help="Existing server to register: instance id or Name tag (repeat).")] = None,
    subnet: Annotated[list[str] | None, typer.Option("--subnet", help="Subnet for the balancer (repeat; default: one per zone); a change replaces the balancer.")] = None,
    security_group: Annotated[list[str] | None, typer.Option("--security-group", help="Security group for the balancer (repeat; default: the stack's). An NLB takes them at creation only.")] = None,
    internal: Annotated[bool | None, typer.Option("--internal/--internet-facing", help="Scheme (default: internet-facing); a change replaces the balancer.")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not wait until the balancer is active.")] = False,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    allow_replace: AllowReplaceOpt = False,
) -> None:
    """Network Load Balancer (TCP/TLS) + TCP target groups + listeners, for WebSockets at scale.

    TCP on the WebSocket port, TLS on --wss-port with a certificate (TLS 1.3 policy); the
    client's IP preserved, source-IP stickiness, health check on the stat page, cross-zone
    on, the stack's security group on the balancer. The TCP listeners keep idle WebSockets
    --idle-timeout seconds; a TLS listener's idle timeout is fixed at 350 s by AWS.
    A flag left out keeps what the stack has (a later `awslb listener https` included), so
    running the command again changes nothing.
    """
    from awslb.cli._balancer import show_outcome

    flags = dict(name=name, ws_port=ws_port, wss_port=wss_port, certificate=certificate, domain=domain,
                 ssl_policy=ssl_policy, http_port=http_port, rtmp_port=rtmp_port, udp_port=udp_port,
                 health_port=health_port, health_path=health_path, sticky=sticky, idle_timeout=idle_timeout,
                 deregistration_delay=deregistration_delay, target=target, subnet=subnet,
                 security_group=security_group, internal=internal)
    st, aws, result = run_step(ctx, "create-nlb", flags, stack=stack, dry_run=dry_run, yes=yes,
                               allow_replace=allow_replace, wait=not no_wait)
    show_outcome(st.ui, aws, result, dry_run)


def register(app: typer.Typer) -> None:
    app.command("create-nlb")(create_nlb)
