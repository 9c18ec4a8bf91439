"""What every command shares: global state, common options, plan display, confirmation.

Kept light: nothing here imports boto3, pydantic or moto at import time, so `awslb --help`
stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
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
            from awslb import sandbox

            sb = self.sandbox = sandbox.connect(self.ui, self.region or region)
            self.endpoint_url, self.region, self.profile = sb.endpoint_url, sb.region, None
            if self.poll is None:
                self.poll = 0.2
        from awslb.deploy import connect

        region = self.region or region
        if region not in self._aws:
            aws = self._aws[region] = connect(self.profile, region, self.endpoint_url)
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

def check_stack(value: str | None) -> str | None:
    """The typer callback every --stack and STACK goes through: validate.stack_name, as stack files."""
    if value is None:
        return None
    from awslb.validate import stack_name

    try:
        return stack_name(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


StackOpt = Annotated[
    str, typer.Option("--stack", envvar="AWSLB_STACK", callback=check_stack,
                      help="Stack these resources belong to.")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to the question (`up` with deletions, `down`).")]
AllowReplaceOpt = Annotated[bool, typer.Option(
    "--allow-replace", help="Allow replacing the balancer when a change needs it (clients get a new DNS name).")]


def asker(ui: UI, *, yes: bool, mode: str, allow_replace: bool = False, stack: str = "") -> Callable[[Plan], bool]:
    """The confirm callback of the conventions (DESIGN.md, the command line).

    ``mode``: "step" commands apply without asking, "up" asks when its plan deletes or
    replaces something, "down" always asks (the stack name is typed). Replacing a balancer
    needs --allow-replace or a yes on a terminal. The plan is printed before any question;
    without a terminal a needed question is exit 2 (--yes answers it), a balancer's
    replacement exit 4.
    """

    def confirm(plan: Plan) -> bool:
        from awslb import deploy

        risky = [] if allow_replace else deploy.balancer_replacements(plan)
        needed = mode == "down" or (mode == "up" and plan.destructive) or bool(risky)
        if not needed:
            return True
        show_plan(ui, plan, to_stderr=True)
        terminal = sys.stdin.isatty()
        if risky and not terminal:
            deploy.refuse_replacements(plan)
        if yes and not risky:
            return True
        if not terminal:
            from awslb.errors import UsageError

            what = "deletes" if mode == "down" else "deletes or replaces something"
            raise UsageError(f"--yes: the plan above {what} and stdin is not a terminal; "
                             "pass --yes to apply it")
        if mode == "down":
            return bool(typer.prompt(f"Type the stack name ({stack}) to delete it", err=True) == stack)
        question = "Replace the balancer (a new DNS name) and apply?" if risky else "Apply these changes?"
        return typer.confirm(question, default=False, err=True)

    return confirm


def ask(yes: bool, question: str) -> bool:
    """One yes/no question for a one-shot operation (`ami delete`): --yes, a terminal, else exit 2."""
    if yes:
        return True
    if not sys.stdin.isatty():
        from awslb.errors import UsageError

        raise UsageError("--yes: stdin is not a terminal; pass --yes to go ahead")
    return typer.confirm(question, default=False, err=True)


def run_step(ctx: typer.Context, command: str, flags: dict[str, Any], *, stack: str, dry_run: bool, yes: bool,
             allow_replace: bool = False, **options: Any) -> tuple[State, Aws, UpResult]:
    """A step command: its flags to the library (checked before any AWS call), converged without asking."""
    from awslb import steps

    st = state(ctx)
    confirm = asker(st.ui, yes=yes, mode="step", allow_replace=allow_replace)
    aws, result = steps.run(command, flags, stack=stack, aws=st.aws, ui=st.ui, confirm=confirm, dry_run=dry_run,
                            opts=st.options(**options), allow_replace=allow_replace)
    return st, aws, result


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
    styles = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red", "noop": "dim"}
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
