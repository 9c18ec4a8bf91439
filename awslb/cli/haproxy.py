"""`awslb haproxy config`: haproxy.cfg for HAProxy in front of the servers (seed 001, seed 004).
`awslb haproxy up` / `down`: the HAProxy tier on AWS (a group of one with an Elastic IP)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, asker, check_stack, report, state

haproxy_app = typer.Typer(help="HAProxy in front of the media servers, with a load-reporting agent.",
                          no_args_is_help=True)


@haproxy_app.command("config")
def config(
    ctx: typer.Context,
    stack: Annotated[str | None, typer.Option("--stack", callback=check_stack, help="Balance the stack's running instances "
                                              "(private addresses, on its WebSocket port); with --discover, "
                                              "only the stack's [haproxy] settings.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help=r"Stack file whose \[haproxy] section "
                                              "gives the defaults.")] = None,
    server: Annotated[list[str] | None, typer.Option("--server", help="NAME=HOST:PORT (repeat).")] = None,
    balance: Annotated[str | None, typer.Option("--balance", help="roundrobin or leastconn.")] = None,
    sticky: Annotated[bool | None, typer.Option("--sticky/--no-sticky",
                                                help="Cookie stickiness (SERVERID).")] = None,
    maxconn: Annotated[int | None, typer.Option("--maxconn", help="Connections per server [100].")] = None,
    weight: Annotated[int | None, typer.Option("--weight", help="Weight of each server, 0-256 [100].")] = None,
    agent_port: Annotated[int | None, typer.Option("--agent-port", help="The agent's port [9707].")] = None,
    agent_inter: Annotated[str | None, typer.Option("--agent-inter", help="Agent check interval [5s].")] = None,
    tls_cert: Annotated[str | None, typer.Option("--tls-cert", help="PEM with certificate chain and key "
                                                 "on the HAProxy host.")] = None,
    tls: Annotated[bool | None, typer.Option("--tls/--no-tls", help="TLS on the frontend [--tls].")] = None,
    bind: Annotated[str | None, typer.Option("--bind", help="Frontend address [*].")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Frontend port [443].")] = None,
    http_port: Annotated[int | None, typer.Option("--http-port", help="Port redirecting HTTP to HTTPS "
                                                  "[80]; 0 for none.")] = None,
    source_address: Annotated[list[str] | None, typer.Option(
        "--source-address", help="A private address of the HAProxy host (repeat): every server gets one "
        "line per address, each with its own 64K ports; --maxconn is split over a server's lines.")] = None,
    discover: Annotated[str | None, typer.Option(
        "--discover", help="server-template mode: a DNS name with one A record per in-service server, "
        "resolved at run time (no reload on scale events); instead of --server.")] = None,
    discover_port: Annotated[int | None, typer.Option("--discover-port", help="The servers' WebSocket port "
                                                      "in server-template mode [8080].")] = None,
    slots: Annotated[int | None, typer.Option("--slots", help="server-template slots: the most servers "
                                              "followed at once [10].")] = None,
    nameserver: Annotated[list[str] | None, typer.Option(
        "--nameserver", help="Resolver IP:PORT for --discover (repeat) [169.254.169.253:53, the VPC's "
        "Amazon DNS].")] = None,
    dns_hold_valid: Annotated[str | None, typer.Option("--dns-hold-valid", help="Resolve --discover again "
                                                       "this often [10s].")] = None,
    cookie_key: Annotated[str | None, typer.Option("--cookie-key", help="dynamic-cookie-key for --sticky "
                                                   "with --discover [the --discover name].")] = None,
    web_backend: Annotated[str | None, typer.Option("--web-backend", help="HOST:PORT of the nginx with "
                                                    "the Web SDK examples [127.0.0.1:8180].")] = None,
    stats_socket: Annotated[str | None, typer.Option("--stats-socket", help="HAProxy's admin socket "
                                                     r"\[/run/haproxy/admin.sock].")] = None,
    system: Annotated[bool | None, typer.Option("--system/--foreground", help="Packaged service (chroot, "
                                                "user haproxy, syslog) or a foreground process.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Render haproxy.cfg: TLS frontend, WebSocket backend with agent checks, web backend.

    Global and frontend maxconn: (servers, or --slots) x per-line maxconn x source addresses,
    plus the web backend's 100.
    """
    from awslb import haproxy, spec
    from awslb.deploy import stack_spec

    st = state(ctx)
    base: dict[str, Any] = {}
    media_ports = "30000-33000"
    if file is not None:
        the_spec = spec.load(file)
        media_ports = the_spec.stack.media_ports
        if the_spec.haproxy is not None:
            base = the_spec.haproxy.model_dump()
    servers: list[Any] = list(base.get("servers", []))
    if stack is not None:
        from awslb.deploy import recorded_region

        recorded = stack_spec(stack)
        media_ports = recorded.stack.media_ports
        if not base and recorded.haproxy is not None:
            base = recorded.haproxy.model_dump()
            servers = list(base.get("servers", []))
        if discover is None and not base.get("discover"):  # server-template mode follows DNS instead
            region = recorded_region(stack)
            servers += [s.model_dump() for s in haproxy.servers_from_stack(st.aws(region), recorded)]
    servers += [haproxy.parse_server(s).model_dump() for s in server or []]
    flags = {"balance": balance, "sticky": sticky, "maxconn": maxconn, "weight": weight,
             "agent_port": agent_port, "agent_inter": agent_inter, "tls_cert": tls_cert, "tls": tls,
             "bind": bind, "port": port, "web_backend": web_backend, "stats_socket": stats_socket,
             "system": system, "source_addresses": source_address or None, "discover": discover,
             "discover_port": discover_port, "slots": slots, "nameservers": nameserver or None,
             "dns_hold_valid": dns_hold_valid, "cookie_key": cookie_key}
    values = {**base, **{k: v for k, v in flags.items() if v is not None}, "servers": servers}
    if http_port is not None:
        values["http_port"] = http_port or None
    from awslb.steps import named_flags

    given = {f"haproxy.{k}": f"--{k.replace('_', '-')}" for k, v in flags.items() if v is not None}
    if source_address:
        given["haproxy.source_addresses"] = "--source-address"
    if nameserver:
        given["haproxy.nameservers"] = "--nameserver"
    if http_port is not None:
        given["haproxy.http_port"] = "--http-port"
    if server:
        given["haproxy.servers"] = "--server"
    with named_flags(given):
        section = spec.section(spec.HaproxySection, values, "haproxy")
    text = haproxy.render_config(section, media_ports)
    if out is None:
        st.ui.text(text)
        return
    _write(out, text)
    what = (f"{section.slots} slot(s) following {section.discover}" if section.discover
            else f"{len(section.servers)} server(s)")
    st.ui.success(f"wrote {out} ({what}); check it with: haproxy -c -f {out}")


def _write(out: Path, text: str) -> None:
    """Write ``out`` whole or not at all (a temp file renamed over it)."""
    from awslb.errors import InputError

    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(text)
        tmp.replace(out)
    except OSError as exc:
        raise InputError(f"--out: cannot write {out}: {exc.strerror}") from None


@haproxy_app.command("up")
def up(
    ctx: typer.Context,
    ami: Annotated[str | None, typer.Option("--ami", help="The host's image (Amazon Linux 2023: dnf and the "
                                            "AWS CLI).")] = None,
    instance_type: Annotated[str | None, typer.Option("--instance-type", help="[c5.large]")] = None,
    secondary_addresses: Annotated[int | None, typer.Option(
        "--secondary-addresses", min=0, max=49, help="Secondary private addresses on the host, one HAProxy "
        "`source` each, past the 64K ports of one address (seed 004) [0].")] = None,
    pem_secret: Annotated[str | None, typer.Option("--pem-secret", help="Secrets Manager secret (name or ARN) "
                                                   "holding the PEM: chain and key; read at boot by the host.")] = None,
    key_name: Annotated[str | None, typer.Option("--key-name", help="EC2 key pair for SSH (opened only to "
                                                 "the stack's ssh_cidr).")] = None,
    client: Annotated[list[str] | None, typer.Option("--client", help="CIDR allowed to reach 443/80 (repeat) "
                                                     "[the world].")] = None,
    server: Annotated[list[str] | None, typer.Option("--server", help="NAME=HOST:PORT, a fixed server "
                                                     "(repeat; else [dns] servers_record).")] = None,
    tls: Annotated[bool | None, typer.Option("--tls/--no-tls", help="TLS on the frontend [--tls].")] = None,
    websdk_url: Annotated[str | None, typer.Option("--websdk-url", help="Web SDK tarball nginx serves on "
                                                   "8180 [the guide's build].")] = None,
    websdk_sha256: Annotated[str | None, typer.Option("--websdk-sha256", help="Its SHA-256, checked on "
                                                      "the host.")] = None,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """The HAProxy tier on AWS: a group of one with an Elastic IP, HAProxy + nginx with the Web SDK.

    Sets `[haproxy] deploy = true` in the stack (a flag left out keeps the recorded value)
    and converges it: security group, role, Elastic IP, launch template, group.
    """
    flags = dict(ami=ami, instance_type=instance_type, secondary_addresses=secondary_addresses,
                 pem_secret=pem_secret, key_name=key_name, client=client, server=server, tls=tls,
                 websdk_url=websdk_url, websdk_sha256=websdk_sha256)
    _run(ctx, "haproxy up", flags, stack=stack, dry_run=dry_run, yes=yes)


@haproxy_app.command("down")
def down(
    ctx: typer.Context,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Remove the HAProxy tier and the stack's [haproxy] section: everything `haproxy up` made."""
    _run(ctx, "haproxy down", {}, stack=stack, dry_run=dry_run, yes=yes)


def _run(ctx: typer.Context, command: str, flags: dict[str, Any], *, stack: str, dry_run: bool, yes: bool) -> None:
    from awslb import steps

    st = state(ctx)
    # Asks (or needs --yes) when the plan deletes or replaces something, as `up` does.
    confirm = asker(st.ui, yes=yes, mode="up", stack=stack)
    _, result = steps.run(command, flags, stack=stack, aws=st.aws, ui=st.ui, confirm=confirm, dry_run=dry_run,
                          opts=st.options())
    report(st.ui, result, dry_run)


def register(app: typer.Typer) -> None:
    app.add_typer(haproxy_app, name="haproxy")
