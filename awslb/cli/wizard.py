"""`awslb wizard [-o stack.toml]`: ask the questions, write a stack file, offer to run `up`.

The questions and their checks live in awslb/wizard.py; this module only connects them to
the terminal (prompts on stderr, so stdout stays clean) and to `awslb up -f`.
"""

from __future__ import annotations

import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Annotated

import typer

from awslb.cli.common import state

EXAMPLE = "alb-existing-servers"


class TerminalPrompter:
    """Typer's prompts, all on stderr.

    ``err=True`` puts the question on stderr, but Click then reads the answer with
    ``input(" ")``, which writes that space to stdout: stdout is pointed at stderr meanwhile.
    """

    def ask(self, text: str, default: str | None) -> str:
        with redirect_stdout(sys.stderr):
            return str(typer.prompt(text, default=default, show_default=bool(default), err=True))

    def confirm(self, text: str, default: bool) -> bool:
        with redirect_stdout(sys.stderr):
            return bool(typer.confirm(text, default=default, err=True))

    def say(self, text: str) -> None:
        typer.echo(text, err=True)


def interactive() -> bool:
    return sys.stdin.isatty()


def wizard(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("-o", "--out", metavar="FILE",
                                      help="Stack file to write.")] = Path("stack.toml"),
) -> None:
    """Ask the questions (with defaults), write a stack file, offer to run `up`."""
    from awslb.errors import UsageError

    if not interactive():
        raise UsageError(f"wizard: stdin is not a terminal; start from an example (`awslb examples init {EXAMPLE} -o stack.toml`) and run "
                         "`awslb up -f stack.toml`")
    from awslb import wizard as questions

    st = state(ctx)
    io = TerminalPrompter()
    if out.exists() and not io.confirm(f"{out} exists: overwrite it?", False):
        raise UsageError(f"-o: {out} exists and was kept; choose another file with -o FILE")
    data = questions.questions(io)
    questions.write(out, data, sandbox=st.sandbox_wanted)
    st.ui.success(f"wrote {out}")
    command = f"awslb {'--sandbox ' if st.sandbox_wanted else ''}up -f {out}"
    if not io.confirm(f"Run `{command}` now?", False):
        st.ui.info(f"apply it later with: {command}")
        return
    from awslb.cli.stack import up

    up(ctx, file=out, dry_run=False, yes=False, rollback_on_failure=False, timeout=1800, no_wait=False)


def register(app: typer.Typer) -> None:
    app.command()(wizard)
