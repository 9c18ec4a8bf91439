"""`awslb examples list|show|init`: the example stack files, shipped inside the wheel.

They live at `examples/` in a checkout and at `awslb/_data/examples/` in the wheel
(pyproject's force-include); both are found, like the templates (render.template_root).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awslb.cli.common import state

group = typer.Typer(help="The example stack files: list them, print one, or copy one to start from.",
                    no_args_is_help=True)

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def examples_dir() -> Path:
    shipped = PACKAGE_DIR / "_data" / "examples"
    return shipped if shipped.is_dir() else PACKAGE_DIR.parent / "examples"


def catalogue() -> dict[str, Path]:
    """NAME -> file, NAME being the file name without `.toml`."""
    return {p.stem: p for p in sorted(examples_dir().glob("*.toml"))}


def summary(path: Path, width: int = 100) -> str:
    """The example's opening comment paragraph, shortened to ``width`` characters."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.lstrip("#").strip()
        if not line.startswith("#") or not text:
            break
        words.extend(text.split())
    text = " ".join(words)
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def find(name: str) -> Path:
    from awslb.errors import UsageError

    known = catalogue()
    key = name[:-5] if name.endswith(".toml") else name
    if key not in known:
        raise UsageError(f"NAME: no example {name!r}; one of: {', '.join(known) or '(none shipped)'}")
    return known[key]


@group.command("list")
def list_(ctx: typer.Context) -> None:
    """The examples, one per flow in the guides."""
    st = state(ctx)
    rows = [[name, summary(path)] for name, path in catalogue().items()]
    if st.ui.json:
        st.ui.data([{"name": n, "summary": s} for n, s in rows])
        return
    st.ui.table(None, ["name", "what it builds"], rows)
    st.ui.info("print one: awslb examples show NAME; copy one: awslb examples init NAME [-o FILE]")


@group.command("show")
def show(ctx: typer.Context,
         name: Annotated[str, typer.Argument(help="The example (see `awslb examples list`).")]) -> None:
    """Print an example stack file on stdout (text only: --output json is refused)."""
    st = state(ctx)
    st.ui.text(find(name).read_text(encoding="utf-8"))


@group.command("init")
def init(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The example (see `awslb examples list`).")],
    out: Annotated[Path | None, typer.Option("-o", "--out", metavar="FILE",
                                             help="File to write (default: NAME.toml here).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Copy an example to a stack file of your own, to edit and apply with `awslb up -f FILE`."""
    from awslb.errors import UsageError

    st = state(ctx)
    source = find(name)
    target = out or Path(source.name)
    if target.exists() and not force:
        raise UsageError(f"-o: {target} exists and was kept; pass --force or choose another file with -o FILE")
    target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    if st.ui.json:
        st.ui.data({"example": source.stem, "written": str(target)})
        return
    st.ui.success(f"wrote {target}; try it: awslb --sandbox up -f {target} --yes")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="examples")
