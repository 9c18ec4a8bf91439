"""Whole stacks: `up`, `plan`, `down`, `status`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from awslb.cli.common import AllowReplaceOpt, DryRunOpt, YesOpt, asker, report, show_plan, state

FileOpt = Annotated[Path, typer.Option("--file", "-f", help="Stack file (TOML).")]


def up(
    ctx: typer.Context,
    file: FileOpt,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    rollback_on_failure: Annotated[bool, typer.Option("--rollback-on-failure",
                                                      help="On failure, delete what this run created.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait for each resource.")] = 1800,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not wait for images and balancers.")] = False,
    allow_replace: AllowReplaceOpt = False,
) -> None:
    """Create or update everything in a stack file, then show its status.

    Asks first (after showing the plan) only when the plan deletes or replaces something.
    """
    from awslb import deploy, spec

    st = state(ctx)
    the_spec = spec.load(file)
    aws = st.aws(the_spec.stack.region)
    opts = st.options(timeout=timeout, wait=not no_wait)

    confirm = asker(st.ui, yes=yes, mode="up", allow_replace=allow_replace)
    result = deploy.up(aws, st.ui, the_spec, confirm=None if dry_run else confirm, dry_run=dry_run,
                       rollback=rollback_on_failure, opts=opts, allow_replace=allow_replace)
    report(st.ui, result, dry_run)
    if result.applied and not st.ui.json:
        show_status(st.ui, deploy.status(aws, st.ui, the_spec.name, opts))


def plan(
    ctx: typer.Context,
    file: FileOpt,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 3 when changes are pending.")] = False,
) -> None:
    """Show what `up` would create, change or delete, and why."""
    from awslb import deploy, spec

    st = state(ctx)
    the_spec = spec.load(file)
    result = deploy.up(st.aws(the_spec.stack.region), st.ui, the_spec, dry_run=True, opts=st.options())
    show_plan(st.ui, result.plan)
    if exit_code and result.plan.pending:
        raise typer.Exit(3)


StackArg = Annotated[str | None, typer.Argument(metavar="STACK", show_default=False,
                                                help="The stack (or --stack, AWSLB_STACK).")]
StackNameOpt = Annotated[str | None, typer.Option("--stack", envvar="AWSLB_STACK", show_default=False,
                                                  help="The stack (instead of the STACK argument).")]


def which_stack(positional: str | None, option: str | None, fallback: str | None = None) -> str:
    """STACK as an argument, or --stack / AWSLB_STACK like every other command.

    ``fallback``: the stack a read-only command looks at when none is named (the step
    commands' own default, ``default``); a command that deletes has none.
    """
    from awslb.errors import UsageError
    from awslb.validate import STACK_RULE, stack_name

    if positional and option and positional != option:
        raise UsageError(f"STACK: {positional!r} and --stack {option!r} disagree; give one")
    name = positional if positional is not None else option
    if name is None:  # an empty name given is refused below, not replaced
        name = fallback
    if not name:
        raise UsageError("STACK: name the stack (awslb COMMAND STACK, --stack NAME or AWSLB_STACK)")
    try:
        return stack_name(name)
    except ValueError:
        raise UsageError(f"STACK: {name!r} is not a stack name (it {STACK_RULE})") from None


def down(
    ctx: typer.Context,
    stack: StackArg = None,
    stack_opt: StackNameOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    delete_images: Annotated[bool, typer.Option("--delete-images", help="Also deregister the stack's images.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds to keep retrying in-use resources.")] = 600,
) -> None:
    """Delete everything tagged with the stack (works without the local ledger).

    Looks in the stack's recorded region (its `[stack] region`, else the ledger's), else
    the configured one; always asks first, after showing the plan.
    """
    from awslb import deploy

    stack = which_stack(stack, stack_opt)
    st = state(ctx)
    confirm = asker(st.ui, yes=yes, mode="down", stack=stack)
    opts = st.options(delete_images=delete_images, delete_timeout=timeout)
    aws = st.aws(deploy.recorded_region(stack))
    st.ui.info(f"stack {stack} in {aws.region}")
    result = deploy.down(aws, st.ui, stack, confirm=None if dry_run else confirm, dry_run=dry_run, opts=opts)
    if not dry_run and not result.plan.pending and not st.ui.json:
        st.ui.success(f"stack {stack}: nothing to delete in {aws.region}")
        return
    report(st.ui, result, dry_run)


def status(
    ctx: typer.Context,
    stack: StackArg = None,
    stack_opt: StackNameOpt = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until interrupted.")] = False,
    interval: Annotated[float, typer.Option("--interval", min=1, help="Seconds between refreshes.")] = 5,
    via: Annotated[str, typer.Option(
        "--via", metavar="auto|direct|ssm",
        help="How the servers' stat pages (:8081/?action=stat) are read. direct: a GET from this machine "
             "(the servers' security group admits 8081 from the balancer only, so from elsewhere they show "
             "unreachable); ssm: SSM Run "
             "Command runs curl on each server (needs launch.ssm = true and your ssm:SendCommand); auto: "
             "direct, then SSM for the servers direct cannot reach. Each server's row says which route "
             "(via=direct|ssm|none). SendCommand changes no resource: it executes a read-only command "
             "on the servers, the only call status makes that is not a read.")] = "auto",
    ssm_wait: Annotated[float, typer.Option(
        "--ssm-wait", min=1, max=300, help="Seconds to wait for SSM's answers; a server that has not "
                                           "answered by then shows 'timed out via ssm'.")] = 20,
) -> None:
    """What the stack has now: resources and their live state (reads only; see --via).

    Without STACK: the stack the step commands use when none is named, `default`.
    """
    from awslb import deploy
    from awslb.errors import UsageError

    if via not in ("auto", "direct", "ssm"):
        raise UsageError(f"--via: one of auto, direct, ssm: {via!r}")
    stack = which_stack(stack, stack_opt, fallback="default")
    st = state(ctx)
    if watch and st.ui.json:
        raise UsageError("--watch: refreshes a screen; with --output json, run `awslb status` in a loop")
    aws, opts = st.aws(deploy.recorded_region(stack)), st.options(stats_via=via, stats_wait=ssm_wait)
    if not watch:
        data = deploy.status(aws, st.ui, stack, opts)
        if st.ui.json:
            st.ui.data(data)
        else:
            show_status(st.ui, data)
        return
    watch_status(st.ui, lambda: deploy.status(aws, st.ui, stack, opts), stack, interval)


def watch_status(ui: Any, read: Any, stack: str, interval: float) -> None:
    """Redraw the status in place (rich Live) with the time of each refresh until Ctrl-C;
    not on a terminal, one block per refresh."""
    import time

    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    def screen() -> Group:
        lines = status_lines(read())
        stamp = time.strftime("%H:%M:%S")
        head = Text(f"{stamp}  stack {stack}, every {interval:g} s (Ctrl-C to stop)", style="bold")
        return Group(head, *(Text(line) for line in lines))

    try:
        if not ui.out.is_terminal:
            while True:
                ui.out.print(screen())
                time.sleep(interval)
        with Live(screen(), console=ui.out, auto_refresh=False, transient=False) as live:
            while True:
                time.sleep(interval)
                live.update(screen(), refresh=True)
    except KeyboardInterrupt:
        ui.info(f"stopped watching stack {stack} (nothing was changed)")


def show_status(ui: Any, data: dict[str, Any]) -> None:
    for line in status_lines(data):
        ui.line(line)


def status_lines(data: dict[str, Any]) -> list[str]:
    """The stack's resources, one block each: kind, logical id, name, then its live facts."""
    if not data["resources"]:
        return [f"stack {data['stack']}: nothing found in {data['region']}"]
    out = [f"stack {data['stack']} in {data['region']}"]
    for r in data["resources"]:
        name = r.get("name") or r["physical_id"]
        out.append(f"  {r['kind']} {r['id']}: {name}" + (f" ({r['physical_id']})" if name != r["physical_id"] else ""))
        for key, value in r.items():
            if key not in ("kind", "id", "name", "physical_id"):
                out.extend(f"    {line}" for line in _fact_lines(key, value))
    return out


def _fact_lines(key: str, value: Any) -> list[str]:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [f"{key}:"] + [f"  {_inline(v)}" for v in value]
    if isinstance(value, list) and any(" " in str(v) for v in value):  # sentences (notes): one a line
        return [f"{key}:"] + [f"  {v}" for v in value]
    if isinstance(value, list):
        return [f"{key}: {', '.join(str(v) for v in value) or '-'}"]
    if isinstance(value, dict):
        return [f"{key}: {_inline(value)}"]
    return [f"{key}: {value}"]


def _inline(d: dict[str, Any]) -> str:
    parts = []
    for k, v in d.items():
        parts.append(f"{k}=({_inline(v)})" if isinstance(v, dict) else f"{k}={v}")
    return " ".join(parts)


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(plan)
    app.command()(down)
    app.command()(status)
