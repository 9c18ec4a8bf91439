"""HAProxy in front of the media servers: the config model and its rendering.

The config follows seed 001 (HAProxy + an agent for WCS): a TLS frontend that sends
WebSocket upgrades to the WCS backend and everything else to the local nginx with the Web
SDK examples, ``X-Client-IP`` with the client's address and port, agent checks on port
9707, optional cookie stickiness.

Two ways to name the servers:

- static (``servers``): one ``server`` line per media server; a new server needs a new
  config and a reload.
- server-template (``discover``): HAProxy resolves a DNS name that holds one A record per
  in-service server (``resolvers awslb``, the VPC's Amazon DNS 169.254.169.253 by default)
  and fills ``slots`` server slots from the answer; a scale event changes the record, never
  the config. Stickiness uses dynamic cookies (a hash of the server's address, port and
  ``cookie_key``), since the slots have no names of their own.

Seed 004's way past 64K connections: several private addresses on the HAProxy host, and
for every media server one line per source address (each (source, server) pair has its own
port range). Static mode: ``server NAME_sK ... source ADDR_K`` lines in the one backend, each
with its own cookie. Server-template mode: one backend per source address
(``wcs_back_s1`` ...), each with one ``server-template ... source ADDR_K``, and the frontend
picks one at random (``rand``): two templates resolving the same name in ONE backend do not
work, since HAProxy keeps an address on one server of a backend (without
``resolve-opts allow-dup-ip`` the second template gets no address; with it, slots take the
same address twice). The dynamic cookie is the same in every such backend, so a sticky
client reaches its server whichever backend the frontend picked.

Connection limits (the formula)::

    K          = number of source addresses, at least 1
    per_line   = ceil(maxconn / K)                 # each line's `maxconn`
    lines      = servers * K    (static)
               | slots * K      (server-template)
    ws_total   = lines * per_line                  # >= servers (or slots) * maxconn
    global maxconn = frontend maxconn = ws_total + WEB_MAXCONN

``maxconn`` stays the limit of one media server (seed 001's ``maxconn 100``), split over
its K lines; the web backend (nginx) takes at most ``WEB_MAXCONN``. HAProxy's global
``maxconn`` counts client-side connections, one per WebSocket, so this is what the servers
can take plus the web pages; HAProxy sizes its file-descriptor limit from it.

Pure except :func:`servers_from_stack`, a read-only look-up of the stack's instances.
"""

from __future__ import annotations

import ipaddress
import math
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
# The server-template slots' name prefix: ws1, ws2 ... (ws_s1_1 ... with several sources).
SLOT_PREFIX = "ws"
RESOLVERS = "awslb"


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


def line_maxconn(maxconn: int, sources: int) -> int:
    """Each line's share of one server's ``maxconn`` when it has ``sources`` lines."""
    return math.ceil(maxconn / max(1, sources))


def global_maxconn(section: HaproxySection) -> int:
    """The module docstring's formula: every WebSocket line's maxconn, plus the web backend."""
    k = max(1, len(section.source_addresses))
    count = section.slots if section.discover is not None else len(section.servers)
    return count * k * line_maxconn(section.maxconn, k) + WEB_MAXCONN


def server_lines(section: HaproxySection) -> list[dict[str, Any]]:
    """Static mode: one line per (server, source address) pair, in server order.

    With one source address or none, a line keeps the server's name (and cookie); with
    K > 1, the lines are NAME_s1 ... NAME_sK, each with its own cookie.
    """
    sources: list[str | None] = list(section.source_addresses) or [None]
    lines = []
    for s in section.servers:
        for k, src in enumerate(sources, 1):
            name = s.name if len(sources) == 1 else f"{s.name}_s{k}"
            lines.append({"name": name, "address": address(s.host, s.port), "source": _bracket(src)})
    return lines


def template_backends(section: HaproxySection) -> list[dict[str, Any]]:
    """Server-template mode: one backend per source address (one in all without any)."""
    assert section.discover is not None
    sources: list[str | None] = list(section.source_addresses) or [None]
    one = len(sources) == 1
    return [{"backend": "wcs_back" if one else f"wcs_back_s{k}",
             "prefix": SLOT_PREFIX if one else f"{SLOT_PREFIX}_s{k}_",
             "source": _bracket(src)} for k, src in enumerate(sources, 1)]


def config_vars(section: HaproxySection, media_ports: str = "30000-33000") -> dict[str, Any]:
    """The template's variables; checks what the schema cannot (servers present)."""
    template = section.discover is not None
    if not template and not section.servers:
        raise UsageError("--server or --stack: no servers to balance (give --server NAME=HOST:PORT, "
                         "or --discover NAME for server-template mode)")
    k = max(1, len(section.source_addresses))
    note = None
    if section.source_addresses:
        per = "backend" if template else "line"
        note = (f"{len(section.source_addresses)} source address(es): one {per} per source, so each "
                "(source, server) pair has its own port range; widen it with "
                "sysctl net.ipv4.ip_local_port_range='1024 65535'")
    web_host, web_port = host_port(section.web_backend)
    return {
        **section.model_dump(),
        "version": __version__,
        "template": template,
        "servers": [] if template else server_lines(section),
        "backends": template_backends(section) if template else [],
        "line_maxconn": line_maxconn(section.maxconn, k),
        "discover_address": address(section.discover, section.discover_port) if section.discover else None,
        "cookie_key": section.cookie_key or section.discover,
        "resolvers": RESOLVERS,
        "web_backend": address(web_host, web_port),
        "web_maxconn": WEB_MAXCONN,
        "global_maxconn": global_maxconn(section),
        "client_ip_header": CLIENT_IP_HEADER,
        "source_note": note,
        "media_ports": media_ports,
    }


def render_config(section: HaproxySection, media_ports: str = "30000-33000") -> str:
    """haproxy.cfg for ``section`` (static or server-template mode, see the module docstring)."""
    return render(TEMPLATE, **config_vars(section, media_ports))


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
