"""User-data templates: the catalogue, their variables, and rendering with checks.

Each `userdata/<name>.sh.j2` opens with a Jinja comment holding TOML that describes it:

    {#- awslb:
    description = "WCS CDN edge node"
    uses = ["wcs"]                  # also the variables of userdata/partials/wcs.vars.toml
    [vars.cdn_role]
    default = "edge"                # its type (bool, int, string) is the default's
    choices = ["edge", "transcoder", "origin"]
    description = "cdn_role of this node"
    -#}

A `type = "switch"` variable is tri-state: true, false, or "" (the default: leave the
server's setting as it is). Every variable has a one-line description; `pattern` (a regular expression a string value
must match) and `choices` narrow the values. A variable without a default is required
(`type = "int"` when it is not a string). Values come from `--set k=v`, a vars file or a
stack file's `launch.vars`; an unknown or missing variable is an error naming it. The
rendered script must fit EC2's 16 KB user-data limit.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from awslb import validate
from awslb.errors import InputError, UsageError
from awslb.render import environment, render, template_root

USERDATA_LIMIT = 16 * 1024  # bytes, before base64
_HEADER = re.compile(r"\A\{#-?\s*awslb:\s*\n(.*?)\n\s*-?#\}", re.S)


_VAR_KEYS = {"default", "description", "choices", "pattern", "type"}
# Each type: the Python type of its values, and the check of a value (ValueError names the rule).
_TYPES: dict[str, type] = {"bool": bool, "int": int, "port": int, "percent": int, "string": str,
                           "address": str, "host": str, "size": str, "url": str, "https-url": str,
                           "cidrs": str, "header": str, "package": str, "switch": str}
# A switch (tri-state): "" leaves a setting as the server has it, else true or false.
_SWITCH = {"true": "true", "yes": "true", "1": "true", "on": "true",
           "false": "false", "no": "false", "0": "false", "off": "false"}
INT_MAX = 10**9  # a count or a rate: anything larger is a typo


def _is_ip_or_host(kind: str, value: str) -> bool:
    try:
        (validate.ip if kind == "address" else validate.host)(value)
    except ValueError:
        return False
    return True


def _is_cidrs(value: str) -> bool:
    try:
        for block in value.split(" "):
            if "%" in block:
                return False
            ipaddress.ip_network(block, strict=False)
    except ValueError:
        return False
    return True


_URL = r"://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/?#@!$&()*+,;=%:-]*)?"

# Each type's rule: (is the value valid?, what a valid value is).
_RULES: dict[str, tuple[Any, str]] = {
    "int": (lambda v: 0 <= v <= INT_MAX, f"a whole number 0-{INT_MAX}"),
    "port": (lambda v: 1 <= v <= 65535, "a port 1-65535"),
    "percent": (lambda v: 0 <= v <= 100, "a percentage 0-100"),
    "address": (lambda v: _is_ip_or_host("address", v), "an IP address (no scope id)"),
    "host": (lambda v: _is_ip_or_host("host", v), "an IP address or host name (no scope id)"),
    "size": (lambda v: re.fullmatch(r"[1-9][0-9]{0,5}[kKmMgG]", v), "a size such as 512m or 2g"),
    "url": (lambda v: re.fullmatch("https?" + _URL, v), "a URL (https?://HOST[:PORT]/PATH)"),
    "https-url": (lambda v: re.fullmatch("https" + _URL, v), "a URL (https://HOST[:PORT]/PATH)"),
    "cidrs": (_is_cidrs, "CIDR blocks separated by single spaces"),
    "header": (lambda v: re.fullmatch(r"[A-Za-z0-9-]{1,64}", v), "an HTTP header name (letters, digits, hyphens)"),
    "switch": (lambda v: v in ("true", "false"), 'true, false, or "" (leave the setting as it is)'),
    "package": (lambda v: re.fullmatch(r"[A-Za-z0-9._\-\[\],=<>~!:/@+]{1,512}", v),
                "a pip requirement (awslb, awslb==0.1.0) or a wheel URL"),
}


def _check_typed(kind: str, value: Any) -> None:
    """The rule of type ``kind`` (``value`` is already of its Python type)."""
    if isinstance(value, str) and validate.control_char(value) is not None:
        raise ValueError(f"free of control characters ({validate.control_char(value)})")
    rule = _RULES.get(kind)
    if rule is not None and not rule[0](value):
        raise ValueError(rule[1])


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    default: Any = None
    required: bool = False
    type: str = "string"  # bool | int | string: from the default, or `type = ...` when required
    choices: tuple[Any, ...] = ()
    pattern: str | None = None  # a string value must match it (re.fullmatch)

    def coerce(self, value: Any, key: str) -> Any:
        """Turn a `--set` string (or a TOML value) into the variable's type; errors name the key."""
        value = self._typed(value, key)
        if self.required and value == "":
            raise InputError(f"{key}: {self.name} needs a value ({self.description})")
        if value != "" or self.required:  # an optional string may be empty ("none")
            try:
                _check_typed(self.type, value)
            except ValueError as exc:
                raise InputError(f"{key}: {self.name} must be {exc} ({self.type}), not {value!r}") from None
        if self.choices and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise InputError(f"{key}: {self.name} must be one of {allowed}, not {value!r}")
        if self.pattern and isinstance(value, str) and not re.fullmatch(self.pattern, value):
            raise InputError(f"{key}: {self.name}={value!r} does not match {self.pattern} ({self.description})")
        return value

    def _typed(self, value: Any, key: str) -> Any:
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise InputError(f"{key}: {self.name} must be true or false, not {value!r}")
        if _TYPES[self.type] is int:
            if isinstance(value, bool):
                raise InputError(f"{key}: {self.name} must be a whole number, not {value!r}")
            try:
                if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,10}", value.strip()):
                    raise ValueError(value)
                return int(value)
            except (TypeError, ValueError):
                raise InputError(f"{key}: {self.name} must be a whole number, not {value!r}") from None
        if isinstance(value, bool):
            return "true" if value else "false"
        if self.type == "switch" and isinstance(value, str) and value.strip().lower() in _SWITCH:
            return _SWITCH[value.strip().lower()]
        if isinstance(value, (dict, list)):
            raise InputError(f"{key}: {self.name} must be a single value, not {value!r}")
        return str(value)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required,
                               "default": self.default, "description": self.description}
        if self.choices:
            out["choices"] = list(self.choices)
        if self.pattern:
            out["pattern"] = self.pattern
        return out


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    path: str  # name for the Jinja loader, e.g. "userdata/edge.sh.j2"
    variables: Mapping[str, Variable]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "variables": [v.to_dict() for v in self.variables.values()]}


def _variable(where: str, name: str, info: Any) -> Variable:
    """One `[vars.NAME]` table, checked: a typo in a header is an error, not a silent default."""
    if not isinstance(info, dict):
        raise InputError(f"{where}: vars.{name} must be a table")
    unknown = sorted(set(info) - _VAR_KEYS)
    if unknown:
        raise InputError(f"{where}: vars.{name}: unknown key {unknown[0]!r}")
    description = str(info.get("description", "")).strip()
    if not description:
        raise InputError(f"{where}: vars.{name} has no description")
    required = "default" not in info
    default = info.get("default")
    if "type" in info:
        kind = str(info["type"])
        if kind not in _TYPES:
            raise InputError(f"{where}: vars.{name}.type must be one of {', '.join(sorted(_TYPES))}")
    else:
        kind = "bool" if isinstance(default, bool) else "int" if isinstance(default, int) else "string"
    if kind == "string" and not info.get("choices") and not info.get("pattern"):
        # Every value reaches a shell script and a properties file: a string says what it holds.
        raise InputError(f"{where}: vars.{name} needs a type (address, host, size, url, ...), "
                         "choices or a pattern")
    wrong_type = not isinstance(default, _TYPES[kind]) or (kind == "int" and isinstance(default, bool))
    if not required and wrong_type:
        raise InputError(f"{where}: vars.{name}: the default {default!r} is not a {kind}")
    var = Variable(name, description, default, required, kind, tuple(info.get("choices", ())),
                   info.get("pattern"))
    if not required and default != "":
        var.coerce(default, f"{where}: vars.{name}")  # the default itself must be valid
    return var


def _source(rel: str) -> str:
    source, _, _ = environment().loader.get_source(environment(), rel)  # type: ignore[union-attr]
    return source


def _parse(name: str, path: str, source: str) -> Template:
    m = _HEADER.match(source)
    if not m:
        raise InputError(f"{path}: the template has no `{{#- awslb: ... -#}}` header")
    try:
        meta = tomllib.loads(m.group(1))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: bad header: {exc}") from None
    variables: dict[str, Variable] = {}
    tables = [(path, meta.get("vars") or {})]
    for shared in meta.get("uses") or []:
        # `uses = ["wcs"]`: the variables of userdata/partials/wcs.vars.toml, shared by templates
        rel = f"userdata/partials/{shared}.vars.toml"
        try:
            shared_meta = tomllib.loads(_source(rel))
        except jinja2.TemplateNotFound:
            raise InputError(f"{path}: uses {shared!r}, but there is no {rel}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{rel}: bad TOML: {exc}") from None
        tables.append((rel, shared_meta.get("vars") or {}))
    for where, table in tables:
        for var, info in table.items():
            if var in variables:
                raise InputError(f"{where}: vars.{var} is declared twice")
            variables[var] = _variable(where, var, info)
    return Template(name, str(meta.get("description", "")), path, variables)


@cache
def catalogue() -> dict[str, Template]:
    """Every user-data template shipped with awslb, by name."""
    out = {}
    root = template_root()
    for path in sorted((root / "userdata").glob("*.sh.j2")):
        name = path.name.removesuffix(".sh.j2")
        rel = f"userdata/{path.name}"
        out[name] = _parse(name, rel, _source(rel))
    return out


def get(name: str, key: str = "--template") -> Template:
    cat = catalogue()
    if name not in cat:
        known = ", ".join(sorted(cat)) or "none"
        raise InputError(f"{key}: no such user-data template {name!r} (known: {known})")
    return cat[name]


def resolve(template: Template, given: Mapping[str, Any], key: str = "--set",
            sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults overlaid with ``given``, typed and checked; unknown or missing variables are errors.

    Errors name ``key``, or ``sources[var]`` when the caller knows where a value came from
    (`--vars-file` or `--set`).
    """
    sources = sources or {}
    unknown = sorted(set(given) - set(template.variables))
    if unknown:
        known = ", ".join(sorted(template.variables))
        where = sources.get(unknown[0], key)
        raise InputError(f"{where}: template {template.name!r} has no variable {unknown[0]!r} (known: {known})")
    missing = [v for v in template.variables.values() if v.required and v.name not in given]
    if missing:
        needs = "; ".join(f"{v.name} ({v.description})" for v in missing)
        raise InputError(f"{key}: template {template.name!r} needs {needs}")
    values: dict[str, Any] = {}
    for var in template.variables.values():
        if var.name in given:
            values[var.name] = var.coerce(given[var.name], sources.get(var.name, key))
        else:
            values[var.name] = var.default
    return values


def render_userdata(name: str, given: Mapping[str, Any] | None = None, key: str = "--set",
                    template_key: str = "--template", sources: Mapping[str, str] | None = None) -> str:
    """The rendered script for template ``name``; it must fit the 16 KB user-data limit."""
    template = get(name, template_key)
    text = render(template.path, template=template.name, **resolve(template, given or {}, key, sources))
    size = len(text.encode())
    if size > USERDATA_LIMIT:
        raise InputError(f"{template_key}: {name} renders to {size} bytes; "
                         f"EC2 user-data is limited to {USERDATA_LIMIT} bytes")
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
    except OSError as exc:
        raise InputError(f"{flag}: cannot read {p}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{flag}: {p} is not valid TOML: {exc}") from None
