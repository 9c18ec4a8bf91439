"""HAProxy in front of the media servers: the config model and its rendering.

The config follows seed 001 (HAProxy + an agent for WCS): a TLS frontend that sends
WebSocket upgrades to the WCS backend and everything else to the local nginx with the Web
SDK examples, ``X-Client-IP`` with the client's address and port, agent checks on port
9707, optional cookie stickiness. Seed 004 adds the way past 64K connections: several
private addresses on the HAProxy host, one ``source`` per server.

Pure except :func:`servers_from_stack`, a read-only look-up of the stack's instances.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from awslb import __version__
from awslb.errors import InputError, UsageError
from awslb.render import render
from awslb.spec import HaproxySection, HaproxyServer, describe_error, host_port

if TYPE_CHECKING:
    from awslb.aws import Aws
    from awslb.spec import StackSpec

TEMPLATE = "templates/haproxy/haproxy.cfg.j2"
CLIENT_IP_HEADER = "X-Client-IP"
# Connections the web backend (nginx with the SDK examples) may take, as in the guide.
WEB_MAXCONN = 100
# Below this, HAProxy's own default (from ulimit) would do; the frontend needs room for
# the WebSocket connections of every server plus the web pages.
MIN_GLOBAL_MAXCONN = 4096


def parse_server(text: str) -> HaproxyServer:
    """``--server NAME=HOST:PORT`` -> HaproxyServer; a bad one is a usage error naming the flag."""
    name, sep, target = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--server: expected NAME=HOST:PORT, got {text!r}")
    try:
        host, port = host_port(target)
    except ValueError as exc:
        raise UsageError(f"--server: {exc}") from None
    try:
        return HaproxyServer(name=name, host=host, port=port)
    except ValidationError as exc:
        raise UsageError(f"--server: {describe_error(exc)}") from None


def address(host: str, port: int) -> str:
    """An HAProxy address: IPv6 in brackets."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


def _bracket(ip: str | None) -> str | None:
    """A source address for HAProxy: IPv6 in brackets (`source fd00::10` is read as host:port)."""
    if ip is not None and ":" in ip:
        return f"[{ip}]"
    return ip


def assign_sources(servers: list[HaproxyServer], sources: list[str]) -> list[str | None]:
    """One source address per server, in turn (seed 004: server N uses address N).

    Each (source address, server) pair has its own ~64K ports, so N addresses across the
    servers lift the limit of one address. More addresses than servers leaves some unused.
    """
    if not sources:
        return [None] * len(servers)
    return [sources[i % len(sources)] for i in range(len(servers))]


def config_vars(section: HaproxySection, media_ports: str = "30000-33000") -> dict[str, Any]:
    """The template's variables; checks what the schema cannot (servers present)."""
    if not section.servers:
        raise UsageError("--server or --stack: no servers to balance (give --server NAME=HOST:PORT)")
    sources = assign_sources(section.servers, section.source_addresses)
    servers = [{"name": s.name, "address": address(s.host, s.port), "source": _bracket(src)}
               for s, src in zip(section.servers, sources, strict=True)]
    note = None
    if section.source_addresses:
        note = (f"{len(section.source_addresses)} source address(es) for {len(servers)} server(s): each "
                "(source, server) pair has its own port range; widen it with "
                "sysctl net.ipv4.ip_local_port_range='1024 65535'")
    web_host, web_port = host_port(section.web_backend)
    total = section.maxconn * len(servers) + WEB_MAXCONN
    return {
        **section.model_dump(),
        "version": __version__,
        "servers": servers,
        "web_backend": address(web_host, web_port),
        "global_maxconn": max(MIN_GLOBAL_MAXCONN, total),
        "client_ip_header": CLIENT_IP_HEADER,
        "source_note": note,
        "media_ports": media_ports,
    }


def render_config(section: HaproxySection, media_ports: str = "30000-33000") -> str:
    return render(TEMPLATE, **config_vars(section, media_ports))


def unused_sources(section: HaproxySection) -> list[str]:
    """Source addresses no server uses (more addresses than servers)."""
    return section.source_addresses[len(section.servers):]


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.:-]")


def servers_from_stack(aws: Aws, spec: StackSpec) -> list[HaproxyServer]:
    """The stack's running instances, by private address (read-only).

    Instances tagged ``awslb:stack=<stack>`` (the Auto Scaling group's) and the stack's
    ``load_balancer.targets`` (existing servers), on the stack's WebSocket port. Each is
    named by its instance id, which is stable and unique (cookies stay valid).
    """
    from awslb import names
    from awslb.resources.lookup import find_instances

    lb = spec.load_balancer
    port = lb.ws_port if lb is not None else 8080
    found: dict[str, dict[str, Any]] = {}
    for res in aws.paginate("ec2", "describe_instances", "Reservations",
                            Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [spec.name]},
                                     {"Name": "instance-state-name", "Values": ["running"]}]):
        for inst in res["Instances"]:
            if names.tag_dict(inst.get("Tags")).get(names.TAG_ID, "").startswith(("redirector-", "haproxy-")):
                continue  # the stack's redirectors and HAProxy host are not media servers
            found[inst["InstanceId"]] = inst
    if lb is not None and lb.targets:
        for inst in find_instances(aws, lb.targets, "load_balancer.targets"):
            if inst.get("State", {}).get("Name") == "running":
                found.setdefault(inst["InstanceId"], inst)
    servers = []
    for iid in sorted(found):
        ip = found[iid].get("PrivateIpAddress")
        if ip:
            servers.append(HaproxyServer(name=_NAME_CHARS.sub("_", iid), host=ip, port=port))
    if not servers:
        raise InputError(f"--stack {spec.name}: no running instances in {aws.region} "
                         f"(tagged {names.TAG_STACK}={spec.name} or in load_balancer.targets)")
    return servers
