"""`awslb wcs properties`: the flashphoner.properties lines the HAProxy guide adds (seed 001)."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import state

wcs_app = typer.Typer(help="Settings for the WCS servers behind the balancer.", no_args_is_help=True)


@wcs_app.command("properties")
def properties(
    ctx: typer.Context,
    bandwidth_check: Annotated[bool, typer.Option(
        "--bandwidth-check", help="Also global_bandwidth_check_enabled=true (balance on bandwidth).")] = False,
) -> None:
    """Print the flashphoner.properties lines for clients' real addresses behind HAProxy."""
    from awslb.haproxy import CLIENT_IP_HEADER
    from awslb.render import render

    state(ctx).ui.text(render("templates/wcs/flashphoner.properties.j2", client_ip_header=CLIENT_IP_HEADER,
                              bandwidth_check=bandwidth_check))


def register(app: typer.Typer) -> None:
    app.add_typer(wcs_app, name="wcs")
