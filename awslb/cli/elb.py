"""`awslb create-elb`: the Classic Load Balancer of guide 000, step 2."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import AllowReplaceOpt, DryRunOpt, StackOpt, YesOpt, report, run_step

PortOpt = dict(min=1, max=65535)

def create_elb(
    ctx: typer.Context,
    stack: StackOpt = "default",
    name: Annotated[str | None, typer.Option("--name", help="Balancer name (≤ 32 letters, digits, hyphens); "
                                             "default <stack>-elb.")] = None,
    ws_port: Annotated[int | None, typer.Option("--ws-port", **PortOpt,
                                                help="WebSocket port: a TCP listener to the same port (default: 8080).")] = None,
    wss_port: Annotated[int | None, typer.Option("--wss-port", **PortOpt,
                                                 help="Secure WebSocket port: an SSL listener (TLS ends on the "
                                                      "balancer) to --ws-port; needs --certificate (default: 8443).")] = None,
    certificate: Annotated[str | None, typer.Option("--certificate", help="ACM (or IAM) certificate ARN for "
                                                    "the SSL/HTTPS listeners.")] = None,
    ssl_policy: Annotated[str | None, typer.Option("--ssl-policy", help="Classic TLS policy "
                                                   "(default: ELBSecurityPolicy-TLS-1-2-2017-01).")] = None,
    http_port: Annotated[int | None, typer.Option("--http-port", min=0, max=65535,
                                                  help="HTTP listener for the stat page / REST (8081); 0 removes it.")] = None,
    https_port: Annotated[int | None, typer.Option("--https-port", min=0, max=65535,
                                                   help="HTTPS listener (8444) to the HTTP port; needs "
                                                        "--certificate; 0 removes it.")] = None,
    health_check: Annotated[str | None, typer.Option("--health-check", help="Health-check target "
                                                     "(default: HTTP:8081/?action=stat), or HTTPS:8444/?action=stat.")] = None,
    sticky: Annotated[bool | None, typer.Option("--sticky/--no-sticky", help="LB-cookie stickiness on the "
                                                "HTTP/HTTPS listeners (default: sticky).")] = None,
    cookie_ttl: Annotated[int | None, typer.Option("--cookie-ttl", min=1, help="Stickiness cookie lifetime, "
                                                   "seconds (default: 86400).")] = None,
    idle_timeout: Annotated[int | None, typer.Option("--idle-timeout", min=1, max=4000,
                                                     help="Idle timeout, seconds; long for WebSockets (default: 3600).")] = None,
    draining_timeout: Annotated[int | None, typer.Option("--draining-timeout", min=0, max=3600,
                                                         help="Connection draining, seconds; 0 turns it off "
                                                              "(default: 300).")] = None,
    internal: Annotated[bool | None, typer.Option("--internal/--internet-facing",
                                                  help="Scheme (default: internet-facing).")] = None,
    instance: Annotated[list[str] | None, typer.Option("--instance", help="Existing server to register "
                                                       "(instance id or Name tag); repeat.")] = None,
    subnet: Annotated[list[str] | None, typer.Option("--subnet", help="Subnet, one per zone; repeat "
                                                     "(default: the default VPC's, one per zone).")] = None,
    security_group: Annotated[list[str] | None, typer.Option("--security-group", help="Security group; "
                                                             "repeat (default: the stack's balancer group).")] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    allow_replace: AllowReplaceOpt = False,
) -> None:
    """Create (or converge) the stack's Classic Load Balancer for WebSockets.

    TCP listener for WebSocket, SSL listener for WSS, HTTP/HTTPS listeners with LB-cookie stickiness, a health check on the stat page, cross-zone balancing, connection draining and a long idle timeout. Flags not given keep what the stack has.
    """
    flags = dict(name=name, ws_port=ws_port, wss_port=wss_port, certificate=certificate, ssl_policy=ssl_policy,
                 http_port=http_port, https_port=https_port, health_check=health_check, sticky=sticky,
                 cookie_ttl=cookie_ttl, idle_timeout=idle_timeout, draining_timeout=draining_timeout,
                 internal=internal, instance=instance, subnet=subnet, security_group=security_group)
    st, _aws, result = run_step(ctx, "create-elb", flags, stack=stack, dry_run=dry_run, yes=yes,
                                allow_replace=allow_replace)
    report(st.ui, result, dry_run)
    made = result.outputs.get("classic-lb")
    if made is not None and not dry_run and not st.ui.json:
        st.ui.line(str(made.attrs.get("dns_name", "")))


def register(app: typer.Typer) -> None:
    app.command("create-elb")(create_elb)
