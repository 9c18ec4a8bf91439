"""`awslb userdata list` and `awslb userdata render NAME [--set k=v]... [--vars-file F]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awslb.cli.common import state

userdata_app = typer.Typer(help="User-data templates: list them, render one to stdout.", no_args_is_help=True)


@userdata_app.command("list")
def list_(ctx: typer.Context) -> None:
    """The templates, their variables, defaults and what each one sets."""
    from awslb.userdata import catalogue

    st = state(ctx)
    templates = list(catalogue().values())
    if st.ui.json:
        st.ui.data({"templates": [t.to_dict() for t in templates]})
        return
    for i, t in enumerate(templates):
        rows = []
        for v in t.variables.values():
            default = "(required)" if v.required else _show(v.default)
            extra = f" (one of {', '.join(map(str, v.choices))})" if v.choices else ""
            rows.append([v.name, v.type, default, v.description + extra])
        if i:
            st.ui.line("")
        st.ui.table(f"{t.name}: {t.description}", ["variable", "type", "default", "description"], rows)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return '""' if value == "" else str(value)


@userdata_app.command("render")
def render(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Template name (see `awslb userdata list`).")],
    sets: Annotated[list[str] | None, typer.Option("--set", metavar="KEY=VALUE",
                                                    help="A variable; repeat for more.")] = None,
    vars_file: Annotated[Path | None, typer.Option("--vars-file", metavar="FILE",
                                                   help="Variables from a TOML file; --set wins.")] = None,
) -> None:
    """Print the rendered user-data script on stdout (nothing else goes there)."""
    from awslb.userdata import load_vars_file, parse_sets, render_userdata

    st = state(ctx)
    given = parse_sets(sets or [])
    values = load_vars_file(vars_file) if vars_file is not None else {}
    sources = dict.fromkeys(values, "--vars-file") | dict.fromkeys(given, "--set")
    values.update(given)
    st.ui.text(render_userdata(name, values, key="--set", template_key="NAME", sources=sources))


def register(app: typer.Typer) -> None:
    app.add_typer(userdata_app, name="userdata")
