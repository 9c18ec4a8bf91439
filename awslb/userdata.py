"""User-data templates: the catalogue, their variables, and rendering with checks.

Each `userdata/<name>.sh.j2` opens with a Jinja comment holding TOML that describes it:

    {#- awslb:
    description = "WCS CDN edge node"
    [vars.heap_size]
    default = "512m"
    description = "Java heap size (-Xmx)"
    -#}

A variable without a default is required. Values come from `--set k=v`, a vars file or a
stack file's `launch.vars`; an unknown or missing variable is an error naming it. The
rendered script must fit EC2's 16 KB user-data limit.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from awslb.errors import InputError, UsageError
from awslb.render import environment, render, template_root

USERDATA_LIMIT = 16 * 1024  # bytes, before base64
_HEADER = re.compile(r"\A\{#-?\s*awslb:\s*\n(.*?)\n\s*-?#\}", re.S)


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    default: Any = None
    required: bool = False

    @property
    def type(self) -> str:
        if isinstance(self.default, bool):
            return "bool"
        if isinstance(self.default, int):
            return "int"
        return "string"

    def coerce(self, value: Any, key: str) -> Any:
        """Turn a `--set` string into the variable's type; a bad value names the key."""
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise InputError(f"{key}: {self.name} must be true or false, not {value!r}")
        if self.type == "int":
            if isinstance(value, bool):
                raise InputError(f"{key}: {self.name} must be a whole number, not {value!r}")
            try:
                return int(value)
            except (TypeError, ValueError):
                raise InputError(f"{key}: {self.name} must be a whole number, not {value!r}") from None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    path: str  # name for the Jinja loader, e.g. "userdata/edge.sh.j2"
    variables: Mapping[str, Variable]


def _parse(name: str, path: str, source: str) -> Template:
    m = _HEADER.match(source)
    if not m:
        raise InputError(f"{path}: the template has no `{{#- awslb: ... -#}}` header")
    try:
        meta = tomllib.loads(m.group(1))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: bad header: {exc}") from None
    variables = {}
    for var, info in (meta.get("vars") or {}).items():
        variables[var] = Variable(var, str(info.get("description", "")), info.get("default"),
                                  "default" not in info)
    return Template(name, str(meta.get("description", "")), path, variables)


@cache
def catalogue() -> dict[str, Template]:
    """Every user-data template shipped with awslb, by name."""
    out = {}
    root = template_root()
    for path in sorted((root / "userdata").glob("*.sh.j2")):
        name = path.name.removesuffix(".sh.j2")
        rel = f"userdata/{path.name}"
        source, _, _ = environment().loader.get_source(environment(), rel)  # type: ignore[union-attr]
        out[name] = _parse(name, rel, source)
    return out


def get(name: str, key: str = "--template") -> Template:
    cat = catalogue()
    if name not in cat:
        known = ", ".join(sorted(cat)) or "none"
        raise InputError(f"{key}: no such user-data template {name!r} (known: {known})")
    return cat[name]


def resolve(template: Template, given: Mapping[str, Any], key: str = "--set") -> dict[str, Any]:
    """Defaults overlaid with ``given``, typed; unknown or missing variables are errors."""
    unknown = sorted(set(given) - set(template.variables))
    if unknown:
        known = ", ".join(sorted(template.variables))
        raise InputError(f"{key}: template {template.name!r} has no variable {unknown[0]!r} (known: {known})")
    values: dict[str, Any] = {}
    for var in template.variables.values():
        if var.name in given:
            values[var.name] = var.coerce(given[var.name], key)
        elif var.required:
            raise InputError(f"{key}: template {template.name!r} needs {var.name} ({var.description})")
        else:
            values[var.name] = var.default
    return values


def render_userdata(name: str, given: Mapping[str, Any] | None = None, key: str = "--set",
                    template_key: str = "--template") -> str:
    """The rendered script for template ``name``; it must fit the 16 KB user-data limit."""
    template = get(name, template_key)
    text = render(template.path, template=template.name, **resolve(template, given or {}, key))
    size = len(text.encode())
    if size > USERDATA_LIMIT:
        raise InputError(f"{template_key}: {name} renders to {size} bytes; EC2 user-data is limited to 16384")
    return text


def parse_sets(pairs: Sequence[str], flag: str = "--set") -> dict[str, str]:
    """['a=1', 'b=x=y'] -> {'a': '1', 'b': 'x=y'}; a pair without '=' is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        k, sep, v = pair.partition("=")
        if not sep or not k.strip():
            raise UsageError(f"{flag}: expected KEY=VALUE, got {pair!r}")
        out[k.strip()] = v
    return out


def load_vars_file(path: str | Path, flag: str = "--vars-file") -> dict[str, Any]:
    """Variables from a TOML file (`heap_size = "1g"`)."""
    p = Path(path)
    try:
        return dict(tomllib.loads(p.read_text()))
    except FileNotFoundError:
        raise InputError(f"{flag}: no such file: {p}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{flag}: {p} is not valid TOML: {exc}") from None
