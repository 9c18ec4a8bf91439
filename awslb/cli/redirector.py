"""`awslb redirector serve` / `keygen`: least-loaded redirect (seeds 002 and 004)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated

import typer

from awslb.cli.common import state

if TYPE_CHECKING:
    from awslb.node.report import Reporter
    from awslb.ui import UI

redirector_app = typer.Typer(help="Least-loaded redirect: edges report their load, clients ask where to "
                             "connect.", no_args_is_help=True)


def bind_address(text: str, flag: str, suffix: str = "") -> tuple[str, int]:
    """'0.0.0.0:1934' or '[::]:1934' (with an optional ``suffix`` such as '/udp') -> (host, port)."""
    from awslb.errors import UsageError

    body = text.removesuffix(suffix) if suffix else text
    if "/" in body:
        raise UsageError(f"{flag}: only {suffix or 'no protocol suffix'} is supported: {text!r}")
    host, sep, port = body.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise UsageError(f"{flag}: write an IPv6 address in brackets, [::]:PORT: {text!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"{flag}: not ADDRESS:PORT with an IP address to listen on: {text!r}") from None
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"{flag}: the port must be a number from 0 (any free port) to 65535: {text!r}")
    return host, int(port)


def secret(path: str, flag: str, what: str, ui: UI) -> bytes:
    """The secret in a key or token file; an unusable file is exit 4 naming the flag."""
    from awslb.errors import InputError
    from awslb.node import wire

    warnings: list[str] = []
    try:
        value = wire.read_secret(path, what, warnings)
    except wire.KeyFileError as exc:
        raise InputError(f"{flag}: {exc}") from None
    for w in warnings:
        ui.warn(f"{flag}: {w}")
    return value


def _report_targets(targets: list[str]) -> list[tuple[str, int]]:
    """``--report-to HOST:PORT`` values, checked: addresses or host names, none twice."""
    from awslb.errors import UsageError
    from awslb.node import wire
    from awslb.spec import host_port

    parsed = []
    for t in targets:
        try:
            host, port = host_port(t)
        except ValueError as exc:
            raise UsageError(f"--report-to: {exc}") from None
        if not wire.valid_address(host):
            raise UsageError(f"--report-to: not an IP address or host name: {host!r}")
        parsed.append((host, port))
    if len(set(parsed)) != len(parsed):
        raise UsageError("--report-to: the same redirector is given twice")
    return parsed


def _check_report_flags(interval: float, address: str | None, edge: str | None, apps: list[str]) -> None:
    from awslb.errors import UsageError
    from awslb.node import wire

    if not wire.MIN_INTERVAL <= interval <= wire.MAX_INTERVAL:
        raise UsageError(f"--report-interval: from {wire.MIN_INTERVAL:g} to {wire.MAX_INTERVAL:g} seconds, "
                         f"not {interval:g}")
    if address is not None and not wire.valid_address(address):
        raise UsageError(f"--redirect-address: not an IP address or host name: {address!r}")
    if edge is not None and not wire.valid_edge_id(edge):
        raise UsageError(f"--edge-id: letters, digits and ._:- (at most 128), not {edge!r}")
    bad = next((a for a in apps if not wire.valid_app(a)), None)
    if bad is not None:
        raise UsageError(f"--report-app: letters, digits and ._- (at most 64), not {bad!r}")
    if len(apps) > wire.MAX_APPS:
        raise UsageError(f"--report-app: at most {wire.MAX_APPS}")


def reporter(targets: list[str], key_file: str | None, interval: float, address: str | None,
             edge: str | None, apps: list[str], agent: object, ui: UI) -> Reporter | None:
    """The flags of `awslb agent serve --report-to ...` -> a reporter (None without --report-to)."""
    from awslb.errors import UsageError
    from awslb.node import report

    if not targets:
        given = [f for f, v in (("--report-key-file", key_file), ("--redirect-address", address),
                                ("--edge-id", edge), ("--report-app", apps)) if v]
        if given:
            raise UsageError(f"{given[0]}: only with --report-to HOST:PORT")
        return None
    if not key_file:
        raise UsageError("--report-key-file: required with --report-to (the redirectors' shared key)")
    parsed = _report_targets(targets)
    _check_report_flags(interval, address, edge, apps)
    key = secret(key_file, "--report-key-file", "key", ui)
    try:
        address = report.redirect_address(address)
    except report.MetadataError as exc:
        raise UsageError(f"--redirect-address: not given, and the instance metadata has no public IPv4 "
                         f"({exc}); give the address clients should use") from None
    return report.Reporter(parsed, key, report.edge_id(edge), address, lambda: report.agent_load(agent),
                           interval=interval, apps=apps, log=ui.warn)


@redirector_app.command("serve")
def serve(
    ctx: typer.Context,
    key_file: Annotated[str | None, typer.Option("--key-file", help="The shared secret the edges sign their "
                                                 "reports with (mode 0600; see `keygen`). Required.")] = None,
    listen: Annotated[str, typer.Option("--listen", help="UDP address for the edges' reports.")] =
        "0.0.0.0:1934/udp",
    http: Annotated[str, typer.Option("--http", help="HTTP address for clients and the API.")] = "0.0.0.0:8088",
    admin_token_file: Annotated[str | None, typer.Option("--admin-token-file", help="Bearer token for POST "
                                                         "/servers/ID/drain|ready (off without it).")] = None,
    server_info: Annotated[bool, typer.Option("--server-info/--no-server-info", help="Serve GET /servers "
                                              "(turn off in production: 404).")] = True,
    max_age: Annotated[float, typer.Option("--max-age", help="Drop reports older (or newer) than this many "
                                           "seconds by this clock.")] = 10.0,
    weight: Annotated[list[str] | None, typer.Option("--weight", help="FIGURE=W in the score (repeat; "
                                                     "cpu, publishers, subscribers, hls, band_in, band_out; "
                                                     "default 1 each).")] = None,
    max_edges: Annotated[int, typer.Option("--max-edges", help="Edges tracked at most.")] = 10_000,
) -> None:
    """Track the edges' reports and answer GET /redirect with the least-loaded edge."""
    from awslb.errors import AwslbError, UsageError
    from awslb.node import redirector, wire

    st = state(ctx)
    if not key_file:
        raise UsageError("--key-file: required (the secret the edges sign reports with; "
                         "make one with `awslb redirector keygen -o FILE`)")
    udp = bind_address(listen, "--listen", "/udp")
    web = bind_address(http, "--http")
    if not 1 <= max_age <= 300:
        raise UsageError(f"--max-age: from 1 to 300 seconds, not {max_age:g}")
    if not 1 <= max_edges <= 1_000_000:
        raise UsageError(f"--max-edges: from 1 to 1000000, not {max_edges}")
    weights = dict(redirector.DEFAULT_WEIGHTS)
    for w in weight or []:
        name, sep, value = w.partition("=")
        if not sep or name not in wire.FIGURES:
            raise UsageError(f"--weight: FIGURE=W with FIGURE one of {', '.join(wire.FIGURES)}: {w!r}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise UsageError(f"--weight: {name}: not a number: {value!r}") from None
        if not 0 <= weights[name] <= 1000:
            raise UsageError(f"--weight: {name}: from 0 to 1000, not {value}")
    if not any(weights.values()):
        raise UsageError("--weight: at least one figure must weigh more than 0")
    key = secret(key_file, "--key-file", "key", st.ui)
    token = secret(admin_token_file, "--admin-token-file", "token", st.ui) if admin_token_file else None

    red = redirector.Redirector(key, max_age=max_age, weights=weights, server_info=server_info,
                                admin_token=token, max_edges=max_edges, log=st.ui.info)

    def ready(udp_at: tuple, http_at: list[tuple]) -> None:
        where = ", ".join(f"{a[0]}:{a[1]}" for a in http_at)
        st.ui.info(f"awslb redirector: reports on {udp_at[0]}:{udp_at[1]}/udp, clients on http://{where}/redirect"
                   + ("" if server_info else " (server info off)")
                   + ("" if token else " (admin API off: no --admin-token-file)"))

    try:
        redirector.run(red, udp, web, ready)
    except OSError as exc:
        raise AwslbError(f"redirector: cannot listen on {listen} / {http}: {exc.strerror or exc}",
                         "is another process on that port? (ss -lunp; ss -ltnp)") from None


@redirector_app.command("keygen")
def keygen(
    ctx: typer.Context,
    out: Annotated[str, typer.Option("--out", "-o", help="Write the key to this file (mode 0600; refuses "
                                     "to overwrite).")],
) -> None:
    """Make a random shared key for the edges and the redirector (256 bits, URL-safe base64)."""
    import os
    import secrets

    from awslb.errors import InputError

    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"--out: {out} exists; remove it first or choose another file") from None
    except OSError as exc:
        raise InputError(f"--out: cannot create {out}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    state(ctx).ui.info(f"wrote a new key to {out} (mode 0600): copy it to every edge and redirector")


def register(app: typer.Typer) -> None:
    app.add_typer(redirector_app, name="redirector")
