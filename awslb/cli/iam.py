"""`awslb iam-policy -f stack.toml`: the least-privilege IAM policy for `up` and `down` of a stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awslb.cli.common import state


def iam_policy(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("--file", "-f", help="Stack file (TOML).")],
) -> None:
    """Print the IAM policy document `up` and `down` of this stack need (JSON on stdout).

    Derived from the operations of the resource kinds the stack's plan uses; no AWS call
    and no credentials are needed. Writes are limited to resources tagged with the stack
    where AWS supports it.
    """
    from awslb import iam, spec

    st = state(ctx)
    the_spec = spec.load(file)
    st.ui.data(iam.policy(the_spec, region=st.region))


def register(app: typer.Typer) -> None:
    app.command("iam-policy")(iam_policy)
