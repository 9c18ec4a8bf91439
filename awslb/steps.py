"""Step commands: flags -> stack sections (pure, one function per command), then converge.

Every step command follows one merge rule over the stack's recorded spec:

- a flag not given (``None``) keeps the recorded value (or the spec model's default);
- a flag given replaces it;
- an optional part turned off (``--http-port 0``, ``--warm-pool-state none``) is removed
  from the section, and converging the section deletes what it made.

``SECTIONS[command](recorded, flags)`` is pure: ``recorded`` is the stack's recorded
spec as a dict (``StackSpec.model_dump``), ``flags`` the command's flags by name; it
returns ``{section: dict}``. Every flag problem it finds is a UsageError naming the flag,
and all missing values are reported at once, before anything talks to AWS.
:func:`run` validates the sections, then converges them (and only them) with ``deploy``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from awslb.errors import InputError, UsageError

if TYPE_CHECKING:
    from awslb.aws import Aws
    from awslb.deploy import Confirm, Options, UpResult
    from awslb.ui import UI


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()  # a flag that turns an optional part off


def off(value: Any, none_word: str = "") -> Any:
    """A port 0 (or the word ``none``) means "turn it off"; None means "not given"."""
    if value == 0 or (none_word and value == none_word):
        return DELETE
    return value


def overlay(base: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The merge rule. Dotted keys ("health_check.port") reach into sub-sections."""
    out = copy.deepcopy(dict(base))
    for key, value in given.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return out


def _list(items: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(items)) if items else None


def _missing(missing: list[str]) -> None:
    if missing:
        raise UsageError(f"{missing[0].split(' ')[0]}: missing: {'; '.join(missing)}")


# -- balancers -------------------------------------------------------------------------------

def create_alb(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    base = recorded.get("load_balancer") or {}
    if base.get("type") == "classic":
        raise UsageError("--stack: the stack has a Classic Load Balancer; use another --stack for the ALB")
    given = {
        "type": "application", "balancer": True, "name": f.get("name"), "ws_port": f.get("ws_port"),
        "http_port": off(f.get("http_port")), "health_check.port": f.get("health_port"),
        "health_check.path": f.get("health_path"), "stickiness": f.get("sticky"),
        "cookie_ttl": f.get("cookie_ttl"), "idle_timeout": f.get("idle_timeout"),
        "deregistration_delay": f.get("deregistration_delay"), "internal": f.get("internal"),
        "targets": _list(f.get("target")), "subnets": _list(f.get("subnet")),
        "security_groups": _list(f.get("security_group")),
    }
    return {"load_balancer": overlay(base, given)}


TLS_IDLE = ("--idle-timeout: an NLB's TLS listener keeps idle connections 350 s, fixed by AWS; "
            "--idle-timeout sets the TCP listeners' (here: none)")


def create_nlb(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    """A Network Load Balancer (seed 004): TCP for WebSocket, TLS for WSS with --certificate."""
    base = recorded.get("load_balancer") or {}
    if base.get("type") == "classic":
        raise UsageError("--stack: the stack has a Classic Load Balancer; use another --stack for the NLB")
    values = overlay(base, {
        "type": "network", "balancer": True, "name": f.get("name"), "ws_port": f.get("ws_port"),
        "http_port": off(f.get("http_port")), "health_check.port": f.get("health_port"),
        "health_check.path": f.get("health_path"), "stickiness": f.get("sticky"),
        "idle_timeout": f.get("idle_timeout"), "deregistration_delay": f.get("deregistration_delay"),
        "internal": f.get("internal"), "rtmp_port": off(f.get("rtmp_port")),
        "udp_ports": _udp_ports(f.get("udp_port")), "targets": _list(f.get("target")),
        "subnets": _list(f.get("subnet")), "security_groups": _list(f.get("security_group")),
    })
    if base.get("type", "application") != "network":
        # ALB-only keys do not carry over to an NLB (cookie stickiness; an ALB's idle timeout)
        values.pop("cookie_ttl", None)
        if f.get("idle_timeout") is None:
            values.pop("idle_timeout", None)
    https = _elb_https(values, f)
    if https:
        values["https"] = https
    tcp_left = values.get("http_port") or values.get("rtmp_port") or not https
    if f.get("idle_timeout") is not None and not tcp_left:
        raise UsageError(TLS_IDLE)
    return {"load_balancer": values}


def _udp_ports(ports: list[int] | None) -> Any:
    """--udp-port 0 removes every UDP listener; repeated, the ports in the order given."""
    if ports is None or not ports:
        return None
    if 0 in ports:
        if len(ports) > 1:
            raise UsageError("--udp-port: 0 removes the UDP listeners; give it alone")
        return DELETE
    return list(dict.fromkeys(ports))


def target_group(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    base = recorded.get("load_balancer") or {}
    if base.get("type") == "classic":
        raise UsageError("--stack: the stack has a Classic Load Balancer, which takes no target groups")
    given = {
        # An NLB's stack keeps its type (its groups are TCP); otherwise the groups are an ALB's.
        "type": "network" if base.get("type") == "network" else "application",
        "balancer": base.get("balancer", False), "target_group": f.get("name"),
        "ws_port": f.get("port"), "health_check.port": f.get("health_port"),
        "health_check.path": f.get("health_path"), "stickiness": f.get("sticky"),
        "cookie_ttl": f.get("cookie_ttl"), "deregistration_delay": f.get("deregistration_delay"),
        "targets": _list(f.get("target")),
    }
    return {"load_balancer": overlay(base, given)}


def _certificate(https: dict[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    """--certificate and --domain: one given alone replaces the recorded pair."""
    cert, domain = f.get("certificate"), f.get("domain")
    if cert is not None or domain is not None:
        https = {k: v for k, v in https.items() if k not in ("certificate", "domain")}
    return overlay(https, {"certificate": cert, "domain": domain})


def listener_https(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    base = recorded.get("load_balancer") or {}
    if not base or not base.get("balancer", True):
        stack = (recorded.get("stack") or {}).get("name")
        outside = ("a balancer made outside awslb is out of scope for this step: make it with "
                   "`awslb create-alb` or `awslb create-elb`")
        if f.get("lb"):
            raise InputError(f"--lb: no balancer {f['lb']} in stack {stack} ({outside})")
        raise InputError(f"--stack: stack {stack} has no load balancer ({outside})")
    https = _certificate(dict(base.get("https") or {}), f)
    https = overlay(https, {"port": f.get("port"), "ssl_policy": f.get("ssl_policy"),
                            "from_port": f.get("from_port")})
    if not https.get("certificate") and not https.get("domain"):
        raise UsageError("--certificate: give --certificate ARN, or --domain D to use the issued ACM "
                         "certificate for D")
    return {"load_balancer": {**base, "https": https}}


def _elb_https(values: dict[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    https = _certificate(dict(values.get("https") or {}), f)
    has_cert = bool(https.get("certificate") or https.get("domain"))
    needs = {"wss_port": "--wss-port: WSS needs a certificate", "https_port": "--https-port: the HTTPS listener "
             "needs a certificate", "ssl_policy": "--ssl-policy: applies to the SSL/HTTPS listeners"}
    for flag, message in needs.items():
        if f.get(flag) and not has_cert:
            raise UsageError(f"{message}: add --certificate ARN")
    https = overlay(https, {"port": f.get("wss_port"), "ssl_policy": f.get("ssl_policy")})
    return https


def create_elb(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    from awslb.spec import parse_health_target

    base = recorded.get("load_balancer") or {}
    if base and base.get("type", "application") != "classic":
        kind = "a Network" if base.get("type") == "network" else "an Application"
        raise UsageError(f"--stack: the stack has {kind} Load Balancer; use another --stack for the Classic one")
    values = dict(base)
    given = {
        "type": "classic", "name": f.get("name"), "ws_port": f.get("ws_port"),
        "http_port": off(f.get("http_port")), "https_port": off(f.get("https_port")),
        "stickiness": f.get("sticky"), "cookie_ttl": f.get("cookie_ttl"), "idle_timeout": f.get("idle_timeout"),
        "deregistration_delay": f.get("draining_timeout"), "internal": f.get("internal"),
        "targets": _list(f.get("instance")), "subnets": _list(f.get("subnet")),
        "security_groups": _list(f.get("security_group")),
    }
    values = overlay(values, given)
    if f.get("health_check") is not None:
        try:
            target = parse_health_target(f["health_check"])
        except ValueError as exc:
            raise UsageError(f"--health-check: {exc}") from None
        values["health_check"] = {**values.get("health_check", {}), **target}
    https = _elb_https(values, f)
    if https:
        values["https"] = https
    return {"load_balancer": values}


# -- images, launch templates and configurations, groups ---------------------------------------

def ami_create(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    base = recorded.get("image") or {}
    values = dict(base) if base.get("from_instance") else {}
    copies = sorted(set(values.get("copy_to", [])) | set(f.get("copy_to") or [])) if f.get("copy_to") else None
    values = overlay(values, {"from_instance": f.get("instance_id"), "name": f.get("name"),
                              "reboot": f.get("reboot"), "copy_to": copies})
    if "from_instance" not in values:
        raise UsageError("--instance-id: which server? give its instance id (i-...) or Name tag")
    return {"image": values}


def _vars(base: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    from awslb.userdata import load_vars_file, parse_sets

    given: dict[str, Any] = load_vars_file(f["vars_file"]) if f.get("vars_file") else {}
    given.update(parse_sets(f.get("set") or []))
    return {**dict(base.get("vars") or {}), **given}


def missing_vars(template: str, given: Mapping[str, Any]) -> list[str]:
    """The user-data template's required variables not given (unknown names are errors)."""
    from awslb.userdata import get

    tpl = get(template, "--template")
    unknown = sorted(set(given) - set(tpl.variables))
    if unknown:
        raise InputError(f"--set: template {template!r} has no variable {unknown[0]!r} "
                         f"(known: {', '.join(sorted(tpl.variables))})")
    return [f"--set {v.name}=... ({v.description})" for v in tpl.variables.values()
            if v.required and v.name not in given]


def _launch(recorded: Mapping[str, Any], f: Mapping[str, Any], kind: str) -> tuple[dict[str, Any], list[str]]:
    """The [launch] section from the launch flags, and what is still missing."""
    from awslb.userdata import render_userdata

    old = recorded.get("launch") or {}
    base = dict(old) if old.get("kind", "template") == kind else {}
    values = overlay(base, {
        "kind": kind, "name": f.get("name"), "userdata": f.get("template"), "ami": f.get("ami"),
        "instance_type": f.get("instance_type"), "key_name": f.get("key_name"),
        "security_groups": _list(f.get("security_group")), "volume_size": f.get("volume_size"),
        "detailed_monitoring": f.get("detailed_monitoring"),
    })
    values["vars"] = _vars(base, f)
    if values.get("userdata") is None:
        values["userdata"] = "edge" if kind == "template" else "none"
    missing: list[str] = []
    if values["userdata"] == "none":
        if values["vars"]:
            raise UsageError("--set: user-data variables need --template")
    else:
        missing += missing_vars(values["userdata"], values["vars"])
        if not missing:  # the values' types and the 16 KB limit, still before any AWS call
            render_userdata(values["userdata"], values["vars"], key="--set", template_key="--template")
    if not values.get("ami") and not recorded.get("image"):
        missing.append("--ami ami-... (the stack has no image: `awslb ami create` makes one)")
    return values, missing


def launch_template(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    values, missing = _launch(recorded, f, "template")
    _missing(missing)
    return {"launch": values}


def launch_config(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    values, missing = _launch(recorded, f, "config")
    _missing(missing)
    return {"launch": values}


def _one_of(f: Mapping[str, Any], flags: tuple[str, ...]) -> str | None:
    chosen = [k for k in flags if f.get(k)]
    if len(chosen) > 1:
        names = ", ".join("--" + k.replace("_", "-") for k in flags[:-1]) + f" and --{flags[-1].replace('_', '-')}"
        raise UsageError(f"--{chosen[1].replace('_', '-')}: give one of {names}")
    return chosen[0] if chosen else None


def _asg_launch(base: dict[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    """--template / --launch-template / --launch-config: one given replaces the others."""
    source = _one_of(f, ("template", "launch_template", "launch_config"))
    if source is None:
        return base
    out = {k: v for k, v in base.items() if k not in ("launch_template", "launch_config")}
    if source != "template":
        out[source] = f[source]
    return out


def _asg_balancer(base: dict[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    """--alb / --nlb / --target-group / --elb: one given replaces the others."""
    source = _one_of(f, ("alb", "nlb", "target_group", "elb"))
    if source is None:
        return base
    out = {k: v for k, v in base.items() if k not in ("alb", "nlb", "target_groups", "elb")}
    out["target_groups" if source == "target_group" else source] = \
        _list(f[source]) if source == "target_group" else f[source]
    return out


def _warm_pool(base: dict[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    state, lo, hi = f.get("warm_pool_state"), f.get("warm_pool_min"), f.get("warm_pool_max")
    if state == "none":
        return {k: v for k, v in base.items() if k != "warm_pool"}
    if (lo is not None or hi is not None) and state is None and "warm_pool" not in base:
        raise UsageError("--warm-pool-state: give the warm pool's state (stopped, hibernated or running)")
    return overlay(base, {"warm_pool.state": state, "warm_pool.min": lo, "warm_pool.max": hi})


def _asg_values(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    base = dict(recorded.get("autoscaling") or {})
    policy = "none" if f.get("no_scaling_policy") else ("cpu" if f.get("cpu_target") is not None else None)
    values = overlay(base, {
        "name": f.get("name"), "min": f.get("min"), "max": f.get("max"), "desired": f.get("desired"),
        "policy": policy, "cpu_target": f.get("cpu_target"), "warmup": f.get("warmup"),
        "health_check_grace": f.get("health_check_grace"), "on_demand_percent": f.get("on_demand_percent"),
        "on_demand_base": f.get("on_demand_base"), "instance_types": _list(f.get("instance_type")),
        "subnets": _list(f.get("subnet")),
    })
    return _warm_pool(_asg_balancer(_asg_launch(values, f), f), f)


LAUNCH_FLAGS = ("ami", "key_name", "security_group", "volume_size", "set", "vars_file")


def asg_create(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    values = _asg_values(recorded, f)
    out: dict[str, Any] = {"autoscaling": values}
    missing: list[str] = []
    has_launch = recorded.get("launch") or values.get("launch_template") or values.get("launch_config")
    if f.get("template") is not None:
        types = values.get("instance_types") or []
        launch, missing = _launch(recorded, {**f, "name": None, "instance_type": types[0] if types else None},
                                  "template")
        out["launch"] = launch
    elif not has_launch:
        missing.append("--template edge (or --launch-template NAME or --launch-config NAME: the stack has "
                       "no launch template or configuration yet)")
    else:
        given = [k for k in LAUNCH_FLAGS if f.get(k)]
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')}: only with --template (it sets the launch "
                             "template asg create makes)")
    _missing(missing)
    return out


# -- the HAProxy tier on AWS -------------------------------------------------------------------

HAPROXY_UP_FLAGS = ("ami", "instance_type", "secondary_addresses", "pem_secret", "key_name", "tls",
                    "websdk_url", "websdk_sha256")


def haproxy_up(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:
    """`awslb haproxy up`: [haproxy] with deploy = true; flags over the recorded section."""
    from awslb.haproxy import parse_server

    base = dict(recorded.get("haproxy") or {})
    given: dict[str, Any] = {k: f.get(k) for k in HAPROXY_UP_FLAGS}
    given["clients"] = _list(f.get("client"))
    if f.get("server"):
        given["servers"] = [parse_server(x).model_dump() for x in f["server"]]
    values = overlay(base, {**given, "deploy": True})
    missing = []
    if not values.get("ami"):
        missing.append("--ami AMI (the host's image: Amazon Linux 2023)")
    if values.get("tls", True) and not values.get("pem_secret"):
        missing.append("--pem-secret NAME (the Secrets Manager secret holding the PEM)")
    _missing(missing)
    return {"haproxy": values}


def haproxy_down(recorded: Mapping[str, Any], f: Mapping[str, Any]) -> dict[str, Any]:  # noqa: ARG001
    """`awslb haproxy down`: the [haproxy] section goes, and with it everything it made."""
    return {"haproxy": None}


SECTIONS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]] = {
    "haproxy up": haproxy_up,
    "haproxy down": haproxy_down,
    "create-alb": create_alb,
    "create-nlb": create_nlb,
    "create-elb": create_elb,
    "target-group create": target_group,
    "listener https": listener_https,
    "ami create": ami_create,
    "launch-template create": launch_template,
    "launch-config create": launch_config,
    "asg create": asg_create,
}

# Stack keys and the flags that set them, per command (for error messages).
FLAGS: dict[str, dict[str, str]] = {
    "create-alb": {
        "load_balancer.name": "--name", "load_balancer.ws_port": "--ws-port",
        "load_balancer.http_port": "--http-port", "load_balancer.health_check.port": "--health-port",
        "load_balancer.health_check.path": "--health-path", "load_balancer.health_check": "--health-port",
        "load_balancer.cookie_ttl": "--cookie-ttl", "load_balancer.idle_timeout": "--idle-timeout",
        "load_balancer.deregistration_delay": "--deregistration-delay", "load_balancer.targets": "--target",
        "load_balancer.subnets": "--subnet", "load_balancer.security_groups": "--security-group",
        "load_balancer.target_group": "--name", "stack.name": "--stack",
    },
    "create-nlb": {
        "load_balancer.name": "--name", "load_balancer.ws_port": "--ws-port",
        "load_balancer.https.port": "--wss-port", "load_balancer.https.certificate": "--certificate",
        "load_balancer.https.domain": "--domain", "load_balancer.https.ssl_policy": "--ssl-policy",
        "load_balancer.https": "--certificate", "load_balancer.http_port": "--http-port",
        "load_balancer.health_check.port": "--health-port", "load_balancer.health_check.path": "--health-path",
        "load_balancer.health_check": "--health-port", "load_balancer.idle_timeout": "--idle-timeout",
        "load_balancer.deregistration_delay": "--deregistration-delay", "load_balancer.targets": "--target",
        "load_balancer.rtmp_port": "--rtmp-port", "load_balancer.udp_ports": "--udp-port",
        "load_balancer.subnets": "--subnet", "load_balancer.security_groups": "--security-group",
        "stack.name": "--stack",
    },
    "create-elb": {
        "load_balancer.name": "--name", "load_balancer.ws_port": "--ws-port",
        "load_balancer.https.port": "--wss-port", "load_balancer.https.certificate": "--certificate",
        "load_balancer.https.domain": "--certificate", "load_balancer.https.ssl_policy": "--ssl-policy",
        "load_balancer.https": "--certificate", "load_balancer.http_port": "--http-port",
        "load_balancer.https_port": "--https-port", "load_balancer.health_check": "--health-check",
        "load_balancer.cookie_ttl": "--cookie-ttl", "load_balancer.idle_timeout": "--idle-timeout",
        "load_balancer.deregistration_delay": "--draining-timeout", "load_balancer.targets": "--instance",
        "load_balancer.subnets": "--subnet", "load_balancer.security_groups": "--security-group",
    },
    "target-group create": {
        "load_balancer.target_group": "--name", "load_balancer.ws_port": "--port",
        "load_balancer.health_check.port": "--health-port", "load_balancer.health_check.path": "--health-path",
        "load_balancer.cookie_ttl": "--cookie-ttl", "load_balancer.deregistration_delay": "--deregistration-delay",
        "load_balancer.targets": "--target", "stack.name": "--stack",
    },
    "listener https": {
        "load_balancer.https.port": "--port", "load_balancer.https.certificate": "--certificate",
        "load_balancer.https.domain": "--domain", "load_balancer.https.ssl_policy": "--ssl-policy",
        "load_balancer.https.from_port": "--from-port", "load_balancer.https": "--certificate",
    },
    "ami create": {"image.from_instance": "--instance-id", "image.name": "--name", "image.copy_to": "--copy-to"},
}
_LAUNCH = {"launch.name": "--name", "launch.userdata": "--template", "launch.ami": "--ami",
           "launch.instance_type": "--instance-type", "launch.key_name": "--key-name",
           "launch.security_groups": "--security-group", "launch.volume_size": "--volume-size",
           "launch.vars": "--set", "image": "--ami"}
FLAGS["launch-template create"] = FLAGS["launch-config create"] = _LAUNCH
FLAGS["haproxy up"] = {
    "haproxy.ami": "--ami", "haproxy.instance_type": "--instance-type",
    "haproxy.secondary_addresses": "--secondary-addresses", "haproxy.pem_secret": "--pem-secret",
    "haproxy.key_name": "--key-name", "haproxy.clients": "--client", "haproxy.servers": "--server",
    "haproxy.tls": "--tls", "haproxy.websdk_url": "--websdk-url", "haproxy.websdk_sha256": "--websdk-sha256",
}
FLAGS["haproxy down"] = {}
FLAGS["asg create"] = {
    **_LAUNCH, "launch.name": "--launch-template", "autoscaling.name": "--name", "autoscaling.min": "--min",
    "autoscaling.max": "--max", "autoscaling.desired": "--desired", "autoscaling.cpu_target": "--cpu-target",
    "autoscaling.warmup": "--warmup", "autoscaling.health_check_grace": "--health-check-grace",
    "autoscaling.instance_types": "--instance-type", "autoscaling.on_demand_percent": "--on-demand-percent",
    "autoscaling.on_demand_base": "--on-demand-base", "autoscaling.warm_pool": "--warm-pool-state",
    "autoscaling.subnets": "--subnet", "autoscaling.launch_template": "--launch-template",
    "autoscaling.launch_config": "--launch-config", "autoscaling.target_groups": "--target-group",
    "autoscaling.alb": "--alb", "autoscaling.nlb": "--nlb", "autoscaling.elb": "--elb", "autoscaling": "--name",
}


def rename(message: str, flags: Mapping[str, str]) -> str:
    """'stack: load_balancer.ws_port: ...' in the words of the command: '--ws-port: ...'."""
    body = message
    for prefix in ("stack: ", "ledger: "):
        body = body.removeprefix(prefix)
    for key in sorted(flags, key=len, reverse=True):
        if body.startswith(f"{key}: "):
            return f"{flags[key]}: {body[len(key) + 2:]}"
        if body.startswith(f"{key}."):
            full, _, rest = body.partition(": ")
            return f"{flags[key]} ({full}): {rest}"
    return message


@contextmanager
def named_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Inside, an InputError about a stack key names the flag that set it (see :func:`rename`)."""
    try:
        yield
    except InputError as exc:
        raise type(exc)(rename(exc.message, flags), exc.hint) from None


def sections_for(command: str, stack: str, flags: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The recorded spec and the command's sections, validated: every flag error, no AWS call."""
    from awslb import deploy, spec

    recorded = deploy.stack_spec(stack)
    names = FLAGS[command]
    try:
        raw = SECTIONS[command](recorded.model_dump(mode="json", exclude_none=True), flags)
        models: dict[str, type[spec.Model]] = {"load_balancer": spec.LoadBalancerSection, "image": spec.ImageSection,
                  "launch": spec.LaunchSection, "autoscaling": spec.AutoscalingSection,
                  "haproxy": spec.HaproxySection}
        # None: the command removes the section (and converging it deletes what it made).
        sections = {k: None if v is None else spec.section(models[k], v, k) for k, v in raw.items()}
        spec.merge(recorded, **sections)  # the whole stack must hold together too
    except InputError as exc:
        raise type(exc)(rename(exc.message, names), exc.hint) from None
    return recorded, sections


def run(command: str, flags: Mapping[str, Any], *, stack: str, aws: Callable[[str | None], Aws], ui: UI,
        confirm: Confirm | None = None, dry_run: bool = False, opts: Options | None = None,
        allow_replace: bool = False) -> tuple[Aws, UpResult]:
    """One step command: its sections from the flags (checked first), then converge them."""
    from awslb import deploy

    recorded, sections = sections_for(command, stack, flags)
    if command == "listener https":
        _check_balancer(stack, recorded, flags.get("lb"))
    door = aws(recorded.stack.region or deploy.recorded_region(stack))
    try:
        result = deploy.apply_sections(door, ui, stack, sections, confirm=confirm, dry_run=dry_run, opts=opts,
                                       allow_replace=allow_replace)
    except InputError as exc:
        raise InputError(rename(exc.message, FLAGS[command]), exc.hint) from None
    return door, result


def _check_balancer(stack: str, recorded: Any, lb: str | None) -> None:
    """--lb: the stack's balancer by a name it answers to (its set name, or what was made)."""
    if lb is None:
        return
    from awslb import names
    from awslb.ledger import Ledger

    base = recorded.load_balancer
    known = set()
    if base is not None and base.name:
        known.add(base.name)
    elif base is not None and base.type in ("application", "network"):
        known.add(names.elbv2(stack, "nlb" if base.type == "network" else "alb"))
    known |= {o.name for o in Ledger.load(stack).resources.values()
              if o.kind in ("load_balancer", "classic_lb") and o.name}
    if lb not in known:
        raise InputError(f"--lb: no balancer {lb} in stack {stack} (it has {', '.join(sorted(known)) or 'none'}; "
                         "a balancer made outside awslb is out of scope for this step)")


# -- after a run: what the balancer commands print -------------------------------------------

def balancer_outcome(aws: Aws, result: UpResult) -> dict[str, Any]:
    """The balancer's facts after a run: DNS name, ARNs, URL, each target's health (read-only)."""
    out = result.outputs
    data: dict[str, Any] = {"stack": result.plan.stack, "changes": len(result.plan.changes)}
    alb = out.get("alb")
    if alb is not None:
        data.update(name=alb.name, dns_name=alb.attrs.get("dns_name"), alb_arn=alb.attrs.get("arn"),
                    state=alb.attrs.get("state"), type=alb.attrs.get("type"))
    groups = {i: o for i, o in sorted(out.items()) if o.kind == "target_group"}
    data["target_group_arns"] = {i: o.attrs.get("arn") for i, o in groups.items()}
    listeners = {i: o for i, o in sorted(out.items()) if o.kind == "listener"}
    data["listener_arns"] = {i: o.attrs.get("arn") for i, o in listeners.items()}
    ws = listeners.get("ws-listener")
    if ws is not None and data.get("dns_name"):
        scheme = "wss" if ws.attrs.get("protocol") in ("HTTPS", "TLS") else "ws"
        data["ws_url"] = f"{scheme}://{data['dns_name']}:{ws.attrs.get('port')}"
    data["targets"] = [t for gid, g in groups.items() for t in _health(aws, gid, g.physical_id)]
    return data


def _health(aws: Aws, gid: str, arn: str) -> list[dict[str, Any]]:
    health = aws.find("elbv2", "describe_target_health", TargetGroupArn=arn) or {}
    out = []
    for d in health.get("TargetHealthDescriptions", []):
        th = d.get("TargetHealth", {})
        out.append({"target_group": gid, "id": d["Target"]["Id"], "port": d["Target"].get("Port"),
                    "health": th.get("State"), "reason": th.get("Description") or th.get("Reason")})
    return out
