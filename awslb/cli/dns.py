"""`awslb dns sync [STACK]`: per-instance DNS records reconciled from the operator's machine."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import check_stack, state

dns_app = typer.Typer(help="Per-instance DNS records of a stack's servers ([dns]).", no_args_is_help=True)


@dns_app.command("sync")
def sync(
    ctx: typer.Context,
    stack: Annotated[str, typer.Argument(envvar="AWSLB_STACK", callback=check_stack,
                                         help="The stack whose records to reconcile.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the drift; change nothing.")] = False,
) -> None:
    """Give every InService server of the stack's group its record, and no other instance one.

    What the stack's DNS function does on each event, done once from here (after the function
    was down, or records were edited by hand); prints the drift it found. Exit 0 either way.
    """
    from awslb import deploy, ops

    st = state(ctx)
    changes = ops.dns_sync(st.aws(deploy.recorded_region(stack)), stack, dry_run=dry_run)
    if st.ui.json:
        st.ui.data({"stack": stack, "dry_run": dry_run, "changes": changes})
        return
    for c in changes:
        st.ui.line(f"{'would ' if dry_run else ''}{c['action']} {c['record']} {c['address']} "
                   f"({c['instance_id']}: {c['reason']})")
    verb = "to make" if dry_run else "made"
    st.ui.success(f"stack {stack}: {len(changes)} DNS change(s) {verb}" if changes
                  else f"stack {stack}: DNS records in sync")


def register(app: typer.Typer) -> None:
    app.add_typer(dns_app, name="dns")
