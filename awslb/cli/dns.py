"""`awslb dns sync [STACK]`: per-instance DNS records reconciled from the operator's machine."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import state

dns_app = typer.Typer(help="Per-instance DNS records of a stack's servers ([dns]).", no_args_is_help=True)


@dns_app.command("sync")
def sync(
    ctx: typer.Context,
    stack: Annotated[str, typer.Argument(envvar="AWSLB_STACK", help="The stack whose records to reconcile.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the drift; change nothing.")] = False,
) -> None:
    """Give every InService server of the stack's group its record, and no other instance one.

    What the stack's DNS function does on each event, done once from here (after the function
    was down, or records were edited by hand); prints the drift it found. Exit 0 either way.
    """
    from awslb.resources.dns_function import sync_records
    from awslb.spec import STACK_NAME

    st = state(ctx)
    if not STACK_NAME.fullmatch(stack):
        from awslb.errors import UsageError

        raise UsageError(f"STACK: not a stack name: {stack!r}")
    changes = sync_records(st.aws(), stack, dry_run=dry_run)
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
