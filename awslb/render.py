"""The one Jinja environment: user-data scripts and config files.

Templates live at the top of the source tree (`userdata/`, `templates/`) and inside the
wheel (`awslb/_data/`); both are found. StrictUndefined turns a missing variable into an
error, the final newline is kept (haproxy -c needs it), nothing is HTML-escaped, and
``shquote`` quotes a value for the shell.
"""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from awslb.errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent


def template_root() -> Path:
    """The folder holding `userdata/` and `templates/`: the wheel's, else the checkout's."""
    shipped = PACKAGE_DIR / "_data"
    if (shipped / "userdata").is_dir():
        return shipped
    return PACKAGE_DIR.parent


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_root())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shquote"] = lambda v: shlex.quote(str(v))
    env.filters["shbool"] = lambda v: "true" if v in (True, "true", "1", 1, "yes") else "false"
    return env


def render(name: str, **variables: Any) -> str:
    """Render ``name`` (e.g. 'userdata/edge.sh.j2'); a missing variable is an InputError."""
    try:
        template = environment().get_template(name)
    except jinja2.TemplateNotFound:
        raise InputError(f"no such template: {name}") from None
    try:
        return template.render(**variables)
    except jinja2.UndefinedError as exc:
        raise InputError(f"{name}: {exc.message}") from None


def list_templates(folder: str) -> list[str]:
    """Template names under ``folder`` ('userdata', 'templates/haproxy')."""
    return sorted(n for n in environment().list_templates() if n.startswith(folder.rstrip("/") + "/"))
