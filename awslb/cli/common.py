"""What every command shares: global state, common options, plan display, confirmation.

Kept light: nothing here imports boto3, pydantic or moto at import time, so `awslb --help`
stays fast.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from awslb.aws import Aws
    from awslb.deploy import Options, UpResult
    from awslb.plan import Plan
    from awslb.ui import UI


@dataclass
class State:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    output: str = "text"
    verbose: int = 0
    color: bool = True
    sandbox: Any = None
    sandbox_wanted: bool = False
    poll: float | None = None
    _ui: Any = None
    _aws: dict[str | None, Any] = field(default_factory=dict)

    @property
    def ui(self) -> UI:
        if self._ui is None:
            from awslb.ui import UI

            self._ui = UI(self.output, self.verbose, self.color)
        return self._ui

    def aws(self, region: str | None = None) -> Aws:
        """The AWS door; ``region`` (from a stack file) applies when --region was not given."""
        if self.sandbox_wanted and self.sandbox is None:
            from awslb.sandbox import connect

            sb = self.sandbox = connect(self.ui, self.region or region)
            self.endpoint_url, self.region, self.profile = sb.endpoint_url, sb.region, None
            if self.poll is None:
                self.poll = 0.2
        from awslb.aws import Aws

        region = self.region or region
        if region not in self._aws:
            aws = self._aws[region] = Aws(self.profile, region, self.endpoint_url)
            aws.progress = self.ui.info
            if self.sandbox is None and self.ui.err.is_terminal:
                # A progress line at once: the first answer from AWS may take seconds.
                where = region or os.environ.get("AWS_REGION") or "the profile's region"
                self.ui.info(f"talking to {self.endpoint_url or 'AWS'} ({where})…")
        return self._aws[region]

    def options(self, **overrides: Any) -> Options:
        from awslb.deploy import Options

        opts = Options(**overrides)
        poll = self.poll if self.poll is not None else os.environ.get("AWSLB_POLL")
        if poll is not None:
            opts.poll = float(poll)
        return opts


_LAST: list[State] = []


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
        _LAST[:] = [root.obj]
    return root.obj


def interrupted_line() -> str:
    """What Ctrl-C prints: what this run did, and that running it again resumes."""
    st = _LAST[0] if _LAST else None
    done = st._ui.done if st is not None and st._ui is not None else []
    if done:
        return (f"interrupted after {len(done)} step(s) finished (✓ above), each recorded in the ledger; "
                "run the same command again: it resumes where this one stopped")
    return "interrupted; nothing was finished by this run: run the same command again to resume"


# -- options shared by the commands that create things ------------------------------------

StackOpt = Annotated[
    str, typer.Option("--stack", envvar="AWSLB_STACK", help="Stack these resources belong to.")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")]


def confirm_apply(yes: bool, what: str = "Apply these changes?"):  # type: ignore[no-untyped-def]
    """A confirm callback for deploy: --yes, else a prompt on a terminal, else a usage error."""
    from awslb.errors import UsageError

    def confirm(plan: Plan) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError("--yes: the plan has changes and stdin is not a terminal; pass --yes to apply")
        return typer.confirm(what, default=False, err=True)

    return confirm


def show_plan(ui: UI, plan: Plan, to_stderr: bool = False) -> None:
    """The plan as a table (text) or a JSON document: one printer for `plan` and `--dry-run`."""
    if ui.json and not to_stderr:
        ui.data(plan.to_dict())
        return
    rows = [[s.action, s.kind, s.id, s.name, s.reason] for s in plan.steps]
    console = ui.err if to_stderr else ui.out
    from rich.table import Table

    table = Table(title=f"plan for stack {plan.stack}", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("action", "kind", "id", "name", "reason"):
        table.add_column(col, overflow="fold")
    styles = {"create": "green", "update": "yellow", "delete": "red", "noop": "dim"}
    for row in rows:
        table.add_row(*row, style=styles.get(row[0]))
    if plan.steps:
        console.print(table)
    console.print(plan.summary(), markup=False)


def report(ui: UI, result: UpResult, dry_run: bool) -> None:
    """What `up`, step commands and `down` print when they finish."""
    if dry_run:
        show_plan(ui, result.plan)
        return
    if ui.json:
        ui.data(result.to_dict())
        return
    if not result.plan.pending:
        ui.success(result.plan.summary())
    elif result.applied:
        n = sum(1 for r in result.run.results if r.ok) if result.run else 0
        ui.success(f"stack {result.plan.stack}: {n} change(s) applied")
    else:
        ui.info("nothing applied")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
