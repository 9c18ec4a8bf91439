"""`awslb create-elb`: the Classic Load Balancer of guide 000, step 2."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, confirm_apply, report, state
from awslb.cli.flags import named_flags

PortOpt = dict(min=1, max=65535)

FLAGS = {
    "load_balancer.name": "--name",
    "load_balancer.ws_port": "--ws-port",
    "load_balancer.https.port": "--wss-port",
    "load_balancer.https.certificate": "--certificate",
    "load_balancer.https.domain": "--certificate",
    "load_balancer.https.ssl_policy": "--ssl-policy",
    "load_balancer.https": "--certificate",
    "load_balancer.http_port": "--http-port",
    "load_balancer.https_port": "--https-port",
    "load_balancer.health_check": "--health-check",
    "load_balancer.cookie_ttl": "--cookie-ttl",
    "load_balancer.idle_timeout": "--idle-timeout",
    "load_balancer.deregistration_delay": "--draining-timeout",
    "load_balancer.targets": "--instance",
    "load_balancer.subnets": "--subnet",
    "load_balancer.security_groups": "--security-group",
}


def create_elb(  # noqa: C901  (the engine branch splits it)
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
    http_port: Annotated[int | None, typer.Option("--http-port", **PortOpt,
                                                  help="HTTP listener for the stat page / REST (8081).")] = None,
    https_port: Annotated[int | None, typer.Option("--https-port", **PortOpt,
                                                   help="HTTPS listener (8444) to the HTTP port; needs "
                                                        "--certificate.")] = None,
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
) -> None:
    """Create (or converge) the stack's Classic Load Balancer for WebSockets.

    TCP listener for WebSocket, SSL listener for WSS, HTTP/HTTPS listeners with LB-cookie stickiness, a health check on the stat page, cross-zone balancing, connection draining and a long idle timeout. Flags not given keep what the stack has.
    """
    from awslb import deploy
    from awslb.errors import UsageError
    from awslb.spec import LoadBalancerSection, parse_health_target, section

    st = state(ctx)
    recorded = deploy.stack_spec(stack).load_balancer
    values: dict[str, Any] = {}
    if recorded is not None:
        if recorded.type == "classic":
            values = recorded.model_dump(exclude_none=True)
        else:
            st.ui.warn(f"stack {stack} has an application load balancer; it stays until `awslb down {stack}`")
    values["type"] = "classic"
    given = {"name": name, "ws_port": ws_port, "http_port": http_port, "https_port": https_port,
             "stickiness": sticky, "cookie_ttl": cookie_ttl, "idle_timeout": idle_timeout,
             "deregistration_delay": draining_timeout, "internal": internal}
    values.update({k: v for k, v in given.items() if v is not None})
    for key, items in (("targets", instance), ("subnets", subnet), ("security_groups", security_group)):
        if items:
            values[key] = list(dict.fromkeys(items))
    if health_check is not None:
        try:
            target = parse_health_target(health_check)
        except ValueError as exc:
            raise UsageError(f"--health-check: {exc}") from None
        values["health_check"] = {**values.get("health_check", {}), **target}

    https = dict(values.get("https", {}))
    if certificate is not None:
        https.pop("domain", None)
        https["certificate"] = certificate
    if wss_port is not None:
        if not https.get("certificate") and not https.get("domain"):
            raise UsageError("--wss-port: WSS needs a certificate: add --certificate ARN")
        https["port"] = wss_port
    if ssl_policy is not None:
        if not https:
            raise UsageError("--ssl-policy: applies to the SSL/HTTPS listeners: add --certificate ARN")
        https["ssl_policy"] = ssl_policy
    if https:
        values["https"] = https
    if values.get("https_port") is not None and not https:
        raise UsageError("--https-port: the HTTPS listener needs a certificate: add --certificate ARN")

    with named_flags(FLAGS):
        lb = section(LoadBalancerSection, values, "load_balancer")
        result = deploy.apply_sections(st.aws(), st.ui, stack, {"load_balancer": lb}, confirm=confirm_apply(yes),
                                       dry_run=dry_run, opts=st.options())
    report(st.ui, result, dry_run)
    made = result.outputs.get("classic-lb")
    if made is not None and not dry_run and not st.ui.json:
        st.ui.line(str(made.attrs.get("dns_name", "")))


def register(app: typer.Typer) -> None:
    app.command("create-elb")(create_elb)
