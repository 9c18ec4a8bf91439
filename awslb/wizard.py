"""The questions of `awslb wizard`, their checks, and the stack file they write.

Kept apart from the terminal: the questions go through a :class:`Prompter` (the CLI's asks
on stderr with Typer; tests script the answers), so the whole flow is testable without a
terminal. Every answer is checked at once with the stack file's own pydantic models
(``spec.section``), so an answer the wizard accepts is one a stack file may hold, and a bad
one is asked again after the same one-line error `awslb up -f` would print.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from awslb import spec, userdata
from awslb.errors import InputError
from awslb.spec import AutoscalingSection, ImageSection, LaunchSection, LoadBalancerSection, StackSection

T = TypeVar("T")

CLASSIC, ALB_EXISTING, ALB_AUTOSCALING = "1", "2", "3"
NO_USERDATA = "none"  # launch.userdata: the image is configured already
FLOWS = {
    CLASSIC: "Classic Load Balancer on your own image, with autoscaling",
    ALB_EXISTING: "Application Load Balancer in front of servers that already run",
    ALB_AUTOSCALING: "Application Load Balancer with autoscaling, on a Marketplace or your own image",
}


class Prompter(Protocol):
    """How the wizard talks: ``ask`` returns the answer (``default`` on Enter; a ``None``
    default means an answer is required), ``confirm`` a yes/no, ``say`` a line of text."""

    def ask(self, text: str, default: str | None) -> str: ...

    def confirm(self, text: str, default: bool) -> bool: ...

    def say(self, text: str) -> None: ...


def ask(io: Prompter, text: str, default: str | None, check: Callable[[str], T]) -> T:
    """Ask until ``check`` accepts the answer; a rejected one shows the error line."""
    while True:
        answer = io.ask(text, default).strip()
        try:
            return check(answer)
        except InputError as exc:
            io.say(f"error: {exc}")


def confirm(io: Prompter, text: str, default: bool, check: Callable[[bool], T]) -> T:
    while True:
        answer = io.confirm(text, default)
        try:
            return check(answer)
        except InputError as exc:
            io.say(f"error: {exc}")


# -- answer parsers (errors name the stack-file key) ------------------------------------------

def whole(key: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise InputError(f"{key}: not a whole number: {raw!r}") from None


def number(key: str, raw: str) -> int | float:
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{key}: not a number: {raw!r}") from None
    return int(value) if value.is_integer() else value


def words(raw: str) -> list[str]:
    """'a, b c' -> ['a', 'b', 'c']."""
    return [w for w in re.split(r"[,\s]+", raw) if w]


# -- the questions -------------------------------------------------------------------------

def questions(io: Prompter) -> dict[str, Any]:
    """Ask everything; the answers as stack-file data (validated as a whole)."""
    data: dict[str, Any] = {}
    st: dict[str, Any] = {}

    def check_stack(values: dict[str, Any]) -> StackSection:
        return spec.section(StackSection, values, "stack")

    st["name"] = ask(io, "Stack name", "wcs", lambda v: check_stack({**st, "name": v}).name)

    io.say("Which setup?")
    for key, text in FLOWS.items():
        io.say(f"  {key}. {text}")

    def check_flow(v: str) -> str:
        if v not in FLOWS:
            raise InputError(f"flow: answer {', '.join(FLOWS)}, not {v!r}")
        return v

    flow = ask(io, "Setup", ALB_AUTOSCALING, check_flow)

    region = ask(io, "AWS region (blank: your profile's)", "",
                 lambda v: check_stack({**st, "region": v or None}).region)
    if region:
        st["region"] = region

    if flow in (CLASSIC, ALB_AUTOSCALING):
        data["image"] = ask(io, "Image: a configured server (instance id or Name tag) or an existing AMI id",
                            None, image_section)

    data["load_balancer"] = balancer(io, flow)

    if flow in (CLASSIC, ALB_AUTOSCALING):
        launch, types = launch_section(io)
        data["launch"] = launch
        data["autoscaling"] = autoscaling(io, types)

    ssh = ask(io, "Open SSH (22) from this CIDR block (blank: SSH closed)", "",
              lambda v: check_stack({**st, "ssh_cidr": v or None}).ssh_cidr)
    if ssh:
        st["ssh_cidr"] = ssh

    data = {"stack": st, **data}
    spec.parse(data, "wizard")  # the whole stack, as `up -f` will read it
    return data


def image_section(raw: str) -> dict[str, Any]:
    values = {"id": raw} if raw.startswith("ami-") else {"from_instance": raw}
    return spec.section(ImageSection, values, "image").model_dump(exclude_defaults=True)


def balancer(io: Prompter, flow: str) -> dict[str, Any]:
    lb: dict[str, Any] = {"type": "classic" if flow == CLASSIC else "application"}
    lb["ws_port"] = _port(io, lb, "ws_port", "WebSocket port", "8080")
    http = _port(io, lb, "http_port", "HTTP port of the stat page (blank: none)", "8081", optional=True)
    if http is not None:
        lb["http_port"] = http
    lb["health_check"] = _health_check(io, lb, http)
    lb["stickiness"] = io.confirm("Sticky sessions (balancer cookie)?", True)
    if io.confirm("WebSocket over TLS (wss://) on 8443? Needs an ACM certificate", False):
        lb["https"] = _tls(io, lb)
        if flow == CLASSIC:
            stat = _port(io, lb, "https_port", "HTTPS port of the stat page (blank: none)", "8444", optional=True)
            if stat is not None:
                lb["https_port"] = stat
    if flow == ALB_EXISTING:
        lb["targets"] = _targets(io, lb)
    return lb


def _check_balancer(values: dict[str, Any]) -> LoadBalancerSection:
    return spec.section(LoadBalancerSection, values, "load_balancer")


def _port(io: Prompter, lb: dict[str, Any], key: str, text: str, default: str, optional: bool = False) -> int | None:
    def parse(v: str) -> int | None:
        if optional and not v:
            return None
        value = whole(f"load_balancer.{key}", v)
        _check_balancer({**lb, key: value})
        return value

    return ask(io, text, default, parse)


def _health_check(io: Prompter, lb: dict[str, Any], http: int | None) -> dict[str, Any]:
    hc: dict[str, Any] = {}

    def hc_port(v: str) -> int:
        value = whole("load_balancer.health_check.port", v)
        _check_balancer({**lb, "health_check": {**hc, "port": value}})
        return value

    hc["port"] = ask(io, "Health check port", str(http or 8081), hc_port)
    hc["path"] = ask(io, "Health check path", "/?action=stat",
                     lambda v: _check_balancer({**lb, "health_check": {**hc, "path": v}}).health_check.path)
    return hc


def _tls(io: Prompter, lb: dict[str, Any]) -> dict[str, Any]:
    """The [load_balancer.https] table: its port and a certificate ARN or domain."""
    https: dict[str, Any] = {}

    def https_port(v: str) -> int:
        value = whole("load_balancer.https.port", v)
        _check_balancer({**lb, "https": {**https, "port": value, "domain": "example.com"}})
        return value

    https["port"] = ask(io, "TLS port", "8443", https_port)

    def cert(v: str) -> dict[str, Any]:
        if not v:
            raise InputError("load_balancer.https.certificate: give a certificate ARN or a domain")
        values = {**https, ("certificate" if v.startswith("arn:") else "domain"): v}
        _check_balancer({**lb, "https": values})
        return values

    return ask(io, "Certificate: its ARN, or a domain to find an issued ACM certificate for", None, cert)


def _targets(io: Prompter, lb: dict[str, Any]) -> list[str]:
    def targets(v: str) -> list[str]:
        found = words(v)
        if not found:
            raise InputError("load_balancer.targets: give at least one server")
        return list(_check_balancer({**lb, "targets": found}).targets)

    return ask(io, "Existing servers: instance ids or Name tags (comma-separated)", None, targets)


def _coerce(var: userdata.Variable, answer: str) -> Any:
    return var.coerce(answer, f"launch.vars.{var.name}")


def launch_section(io: Prompter) -> tuple[dict[str, Any], list[str]]:
    """The [launch] section, and the instance types for the group."""
    catalogue = userdata.catalogue()
    io.say("User-data templates (what each new server runs on first boot):")
    for t in catalogue.values():
        io.say(f"  {t.name}: {t.description}")
    io.say(f"  {NO_USERDATA}: no user-data (the image is configured already, as in examples/classic-elb.toml)")
    default = "edge" if "edge" in catalogue else next(iter(catalogue), None)

    def template(v: str) -> userdata.Template | None:
        spec.section(LaunchSection, {"userdata": v}, "launch")
        return None if v == NO_USERDATA else userdata.get(v, "launch.userdata")

    tpl = ask(io, "User-data template", default, template)
    values: dict[str, Any] = {}
    if tpl is not None:
        for var in tpl.variables.values():
            if not var.required:
                continue
            values[var.name] = ask(io, f"{var.name}: {var.description}", None,
                                   functools.partial(_coerce, var))
        # The whole script, rendered as `up` will: unknown or missing variables, the 16 KB limit.
        userdata.render_userdata(tpl.name, values, key="launch.vars", template_key="launch.userdata")

    launch: dict[str, Any] = {"kind": "template", "userdata": tpl.name if tpl is not None else NO_USERDATA}

    def instance_types(v: str) -> list[str]:
        found = words(v)
        if not found:
            raise InputError("launch.instance_type: give at least one instance type")
        spec.section(LaunchSection, {**launch, "instance_type": found[0]}, "launch")
        spec.section(AutoscalingSection, {"instance_types": found if len(found) > 1 else []}, "autoscaling")
        return found

    types = ask(io, "Instance type(s), comma-separated (several: a mixed-instances group)", "c5.large",
                instance_types)
    launch["instance_type"] = types[0]
    if values:
        launch["vars"] = values
    spec.section(LaunchSection, launch, "launch")
    return launch, types


def _check_autoscaling(values: dict[str, Any]) -> AutoscalingSection:
    return spec.section(AutoscalingSection, values, "autoscaling")


def _warm_pool(io: Prompter, asg: dict[str, Any]) -> dict[str, Any]:
    wp: dict[str, Any] = {}

    def state(v: str) -> str:
        return str(_check_autoscaling({**asg, "warm_pool": {"state": v}}).warm_pool.state)  # type: ignore[union-attr]

    wp["state"] = ask(io, "Warm pool state (stopped, hibernated, running)", "stopped", state)

    def pool_min(v: str) -> int:
        value = whole("autoscaling.warm_pool.min", v)
        _check_autoscaling({**asg, "warm_pool": {**wp, "min": value}})
        return value

    wp["min"] = ask(io, "Servers kept warm (min)", "1", pool_min)
    return wp


def autoscaling(io: Prompter, types: list[str]) -> dict[str, Any]:
    asg: dict[str, Any] = {}
    if len(types) > 1:
        asg["instance_types"] = types

    def check(values: dict[str, Any]) -> AutoscalingSection:
        return spec.section(AutoscalingSection, values, "autoscaling")

    def size(key: str, v: str) -> int:
        value = whole(f"autoscaling.{key}", v)
        probe = {**asg, key: value}
        if key == "min":
            probe["max"] = max(value, 1)  # max is asked next; check min on its own here
        check(probe)
        return value

    asg["min"] = ask(io, "Smallest number of servers (min)", "1", lambda v: size("min", v))
    asg["max"] = ask(io, "Largest number of servers (max)", str(max(10, asg["min"])), lambda v: size("max", v))

    def desired(v: str) -> int | None:
        return None if not v else size("desired", v)

    wanted = ask(io, "Servers to start with (desired; blank: min)", "", desired)
    if wanted is not None:
        asg["desired"] = wanted

    def cpu(v: str) -> int | float:
        value = number("autoscaling.cpu_target", v)
        check({**asg, "cpu_target": value})
        return value

    asg["cpu_target"] = ask(io, "Scale out above this average CPU (%)", "70", cpu)

    def pool(yes: bool) -> bool:
        if yes:
            check({**asg, "warm_pool": {}})  # refused with several instance types, as in a stack file
        return yes

    if confirm(io, "Keep a warm pool of stopped, pre-initialized servers?", False, pool):
        asg["warm_pool"] = _warm_pool(io, asg)
    check(asg)
    return asg


# -- the stack file ------------------------------------------------------------------------

HEADER = """\
# Written by `awslb wizard`. Apply:  awslb {sandbox}up -f {path}
# Every key and its meaning: the example stack files, one per flow in the guides:
#   awslb examples list  /  awslb examples show NAME
"""


def to_toml(data: Mapping[str, Any]) -> str:
    """TOML for the stack data: strings, numbers, booleans, lists of them, nested tables."""
    out: list[str] = []
    _table(out, [], data)
    return "\n".join(out).lstrip("\n") + "\n"


def _table(out: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    plain = {k: v for k, v in table.items() if not isinstance(v, Mapping) and v is not None}
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if path and (plain or not nested):
        out.append("")
        out.append("[" + ".".join(_key(p) for p in path) + "]")
    for k, v in plain.items():
        out.append(f"{_key(k)} = {_value(v)}")
    for k, v in nested.items():
        _table(out, [*path, k], v)


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(k: str) -> str:
    return k if _BARE.fullmatch(k) else _string(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return json.dumps(v)  # repr-exact; nan/inf never reach here (the models refuse them)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"no TOML for {type(v).__name__}: {v!r}")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(s: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    chars = []
    for c in s:
        if c in _ESCAPES:
            chars.append(_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            chars.append(f"\\u{ord(c):04X}")
        else:
            chars.append(c)
    return '"' + "".join(chars) + '"'


def write(path: Path, data: Mapping[str, Any], sandbox: bool = False) -> str:
    """Write the stack file; it must read back to the same data and load as a stack."""
    text = HEADER.format(path=path, sandbox="--sandbox " if sandbox else "") + to_toml(data)
    if tomllib.loads(text) != data:  # a writer bug, never a user error
        raise AssertionError("the TOML written does not read back to the answers")
    path.write_text(text, encoding="utf-8")
    spec.load(path)
    return text
