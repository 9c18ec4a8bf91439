"""Security groups from the guides: one for the balancer, one for the media servers.

The balancer group opens the listener ports to clients. A stack with nothing in front of
its servers (seed 003: the application sends each client to a server) opens WebSocket 8080
and WSS 8443 on the servers to the world instead. The instance group follows the
port set of the WCS guide (seed 001): the WebSocket/stat ports (8080-8084, 8443-8445) and
the HAProxy agent port (9707) only from the balancer's group; 80, 443, 8888, 9091, RTMP
(1935/tcp) and the WebRTC media range (30000-33000/udp) from anywhere, because media goes
straight to the instances, never through the balancer; SSH only from ``ssh_cidr``. The
guide's table lists 1935/udp: that is RTMFP, opened only with ``[stack] rtmfp = true``.

WCS CDN nodes talk to each other over WebSocket (``cdn_port``, 8084; seeds 000, 003): the
instance group also admits 8080-8084 and 8443-8445 from itself (a rule whose source is the
group, shown as "self"), so an edge joins an origin that shares the group (``[origin]``).

With a ``[redirector]`` section, ``redirector-sg`` opens the redirect API (8088) to its
clients and the report port (1934/udp) only to the media servers' group.

With a ``[haproxy]`` section there is a third group, ``haproxy-sg``, for the HAProxy host:
its frontend (443) and HTTP redirect (80) open to clients, and the instance group opens the
WebSocket/stat ports and the agent port to it as well (seed 001).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource
from awslb.spec import LoadBalancerSection, StackSpec, port_range

ANYWHERE = ("0.0.0.0/0", "::/0")
# (protocol, from port, to port) open to the world on the media servers (seed 001).
PUBLIC_INSTANCE_PORTS = [("tcp", 80, 80), ("tcp", 443, 443), ("tcp", 8888, 8888), ("tcp", 9091, 9091),
                         ("tcp", 1935, 1935)]  # RTMP is TCP
RTMFP = ("udp", 1935, 1935)  # the guide's 1935/udp: RTMFP, only when asked ([stack] rtmfp)
# Open on the media servers only from the balancer's group, and from the group itself (CDN).
BALANCER_ONLY_PORTS = [("tcp", 8080, 8084), ("tcp", 8443, 8445)]
# The source of a rule naming the group it is in (resolved to the group's own id at write time).
SELF = "self"
# With nothing in front (seed 003: clients reach each server directly), WS and WSS are public.
DIRECT_PORTS = [("tcp", 8080, 8080), ("tcp", 8443, 8443)]
AGENT_PORT = 9707

Rule = tuple[str, int, int, str]  # (protocol, from, to, source: CIDR or sg-id)


def _covered(port: int, ranges: list[tuple[str, int, int]]) -> bool:
    return any(proto == "tcp" and lo <= port <= hi for proto, lo, hi in ranges)


def balancer_ports(spec: StackSpec) -> list[int]:
    lb = spec.load_balancer or LoadBalancerSection()
    # An ALB's (or NLB's) WebSocket listener is switched to HTTPS (TLS) in place: the plain
    # port closes. A Classic balancer keeps TCP for WebSocket beside SSL for WSS.
    switched = lb.type in ("application", "network") and lb.https is not None
    ports = [] if switched else [lb.ws_port]
    for p in (lb.http_port, lb.https_port, lb.https.port if lb.https else None, lb.rtmp_port):
        if p is not None and p not in ports:
            ports.append(p)
    return ports


def haproxy_ports(spec: StackSpec) -> list[int]:
    """What the HAProxy host opens to clients: its frontend (443) and the HTTP redirect (80)."""
    hp = spec.haproxy
    if hp is None:
        return []
    return [p for p in (hp.port, hp.http_port) if p is not None]


def haproxy_rules(spec: StackSpec) -> list[Any]:
    """The HAProxy host's group: the frontend from ``haproxy.clients`` (the world by default);
    on AWS (``deploy = true``) SSH too, only from ``stack.ssh_cidr``."""
    hp = spec.haproxy
    assert hp is not None
    rules: list[Any] = [["tcp", p, p, cidr] for p in haproxy_ports(spec) for cidr in hp.clients]
    if hp.deploy and spec.stack.ssh_cidr:
        rules.append(["tcp", 22, 22, spec.stack.ssh_cidr])
    return rules


def instance_rules(spec: StackSpec, lb_group: Any, haproxy_group: Any = None) -> list[Any]:
    lb = spec.load_balancer or LoadBalancerSection()
    from_lb = list(BALANCER_ONLY_PORTS)
    agent_port = spec.haproxy.agent_port if spec.haproxy is not None else AGENT_PORT
    for p in (lb.ws_port, lb.http_port, lb.health_check.port, AGENT_PORT, agent_port, lb.rtmp_port):
        if p is not None and not _covered(p, from_lb):
            from_lb.append(("tcp", p, p))
    from_lb += [("udp", p, p) for p in lb.udp_ports]  # an NLB's UDP listeners
    rules: list[Any] = [[proto, lo, hi, lb_group] for proto, lo, hi in from_lb]
    if haproxy_group is not None:
        # The HAProxy host reaches the WebSocket/stat ports and asks the agent (seed 001).
        rules += [[proto, lo, hi, haproxy_group] for proto, lo, hi in from_lb]
    # CDN nodes (an edge and its origin) reach each other's WebSocket ports (cdn_port 8084).
    rules += [[proto, lo, hi, SELF] for proto, lo, hi in BALANCER_ONLY_PORTS]
    media_lo, media_hi = port_range(spec.stack.media_ports)
    direct = DIRECT_PORTS if spec.load_balancer is None and spec.haproxy is None else []
    rtmfp = [RTMFP] if spec.stack.rtmfp else []
    for proto, lo, hi in [*direct, *PUBLIC_INSTANCE_PORTS, *rtmfp, ("udp", media_lo, media_hi)]:
        for cidr in ANYWHERE:
            rules.append([proto, lo, hi, cidr])
    if spec.stack.ssh_cidr:
        rules.append(["tcp", 22, 22, spec.stack.ssh_cidr])
    return rules


def redirector_group(spec: StackSpec, net: Network) -> Resource:
    """The redirectors' group: clients ask on the HTTP port; the edges' reports (UDP) come only
    from the media servers' group (seed 002: the balancer's UDP port, open to the edges)."""
    red = spec.redirector
    assert red is not None
    name = names.physical(spec.name, "redirector")
    rules: list[Any] = [["tcp", red.http_port, red.http_port, cidr] for cidr in red.clients]
    rules.append(["udp", red.report_port, red.report_port, Ref("instance-sg", "id")])
    if spec.stack.ssh_cidr:
        rules.append(["tcp", 22, 22, spec.stack.ssh_cidr])
    return Resource("security_group", "redirector-sg", name, {
        "vpc_id": net.vpc_id,
        "description": f"awslb {spec.name}: least-loaded redirect (reports from the media servers only)",
        "ingress": rules,
        "tags": names.tags(spec.name, "redirector-sg", name, spec.stack.tags),
    })


class SecurityGroup(Kind):
    kind = "security_group"
    label = "security group"
    rank = 10
    replace_on = ("vpc_id",)
    opens_first = True

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        stack = spec.name
        tags = spec.stack.tags
        lb_name = names.physical(stack, "balancer")
        lb_rules = [["tcp", p, p, cidr] for p in balancer_ports(spec) for cidr in ANYWHERE]
        lb_rules += [["udp", p, p, cidr] for p in (spec.load_balancer or LoadBalancerSection()).udp_ports
                     for cidr in ANYWHERE]
        inst_name = names.physical(stack, "instances")
        out = []
        if spec.haproxy is not None:
            hp_name = names.physical(stack, "haproxy")
            out.append(Resource(self.kind, "haproxy-sg", hp_name, {
                "vpc_id": net.vpc_id,
                "description": f"awslb {stack}: HAProxy host in front of the media servers",
                "ingress": haproxy_rules(spec),
                "tags": names.tags(stack, "haproxy-sg", hp_name, tags),
            }))
        haproxy_group = Ref("haproxy-sg", "id") if spec.haproxy is not None else None
        if spec.redirector is not None:
            out.append(redirector_group(spec, net))
        return out + [
            Resource(self.kind, "lb-sg", lb_name, {
                "vpc_id": net.vpc_id,
                "description": f"awslb {stack}: load balancer listeners",
                "ingress": lb_rules,
                "tags": names.tags(stack, "lb-sg", lb_name, tags),
            }),
            Resource(self.kind, "instance-sg", inst_name, {
                "vpc_id": net.vpc_id,
                "description": f"awslb {stack}: media servers behind the balancer",
                "ingress": instance_rules(spec, Ref("lb-sg", "id"), haproxy_group),
                "tags": names.tags(stack, "instance-sg", inst_name, tags),
            }),
        ]

    def opening(self, res: Resource, obs: Observed) -> Resource | None:
        """The group with its new rules added and none removed, when the update removes some."""
        want = [tuple(r) for r in res.props["ingress"]]
        # A rule naming another group of the stack holds a Ref here: the group it names now
        # counts as wanted (else every update would seem to close it, and run twice).
        by_ref = {r[:3] for r in want if isinstance(r[3], Ref)}
        have = [tuple(r) for r in obs.attrs.get("ingress", [])]
        kept = [list(r) for r in have if r not in want and not (str(r[3]).startswith("sg-") and r[:3] in by_ref)]
        if not kept:
            return None
        return Resource(res.kind, res.id, res.name, {**res.props, "ingress": [*res.props["ingress"], *kept]},
                        res.deps)

    def discover(self, ctx: Context) -> list[Observed]:
        groups = ctx.aws.paginate(
            "ec2", "describe_security_groups", "SecurityGroups",
            Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [ctx.stack]}],
        )
        return [self._observed(g) for g in groups]

    def _observed(self, g: Mapping[str, Any]) -> Observed:
        tags = names.tag_dict(g.get("Tags"))
        return Observed(self.kind, tags.get(names.TAG_ID, g["GroupId"]), g["GroupId"], g["GroupName"], {
            "id": g["GroupId"],
            "vpc_id": g.get("VpcId"),
            "ingress": sorted(_rules_from_permissions(g.get("IpPermissions", []), g["GroupId"])),
        })

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        changes = []
        want = {tuple(r) for r in props["ingress"]}
        have = {tuple(r) for r in obs.attrs.get("ingress", [])}
        add, remove = want - have, have - want
        if add:
            changes.append("open " + ", ".join(_show_rule(r) for r in sorted(add, key=str)))
        if remove:
            changes.append("close " + ", ".join(_show_rule(r) for r in sorted(remove, key=str)))
        return changes

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        out = ctx.aws.call(
            "ec2", "create_security_group",
            GroupName=res.name,
            Description=props["description"],
            VpcId=props["vpc_id"],
            TagSpecifications=[{"ResourceType": "security-group", "Tags": names.tag_list(props["tags"])}],
        )
        gid = out["GroupId"]
        rules = [tuple(r) for r in props["ingress"]]
        if rules:
            ctx.aws.call("ec2", "authorize_security_group_ingress", GroupId=gid,
                         IpPermissions=_permissions(rules, gid))
        return Observed(self.kind, res.id, gid, res.name,
                        {"id": gid, "vpc_id": props["vpc_id"], "ingress": sorted(rules)})

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        gid = obs.physical_id
        want = {tuple(r) for r in props["ingress"]}
        have = {tuple(r) for r in obs.attrs.get("ingress", [])}
        if want - have:
            ctx.aws.call("ec2", "authorize_security_group_ingress", GroupId=gid,
                         IpPermissions=_permissions(sorted(want - have), gid))
        if have - want:
            ctx.aws.call("ec2", "revoke_security_group_ingress", GroupId=gid,
                         IpPermissions=_permissions(sorted(have - want), gid))
        return Observed(self.kind, res.id, gid, obs.name, {**obs.attrs, "ingress": sorted(want)})

    def delete(self, ctx: Context, obs: Observed) -> None:
        # Rules that name another group would keep that group alive: drop them first (and the
        # group's rule naming itself with them: no extra call).
        refs = [tuple(r) for r in obs.attrs.get("ingress", []) if str(r[3]).startswith("sg-") or r[3] == SELF]
        if refs:
            ctx.aws.find("ec2", "revoke_security_group_ingress", GroupId=obs.physical_id,
                         IpPermissions=_permissions(refs, obs.physical_id))
        ctx.aws.find("ec2", "delete_security_group", GroupId=obs.physical_id)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        return {"rules": len(obs.attrs.get("ingress", []))}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["ec2:DescribeSecurityGroups", "ec2:DescribeVpcs", "ec2:DescribeSubnets"],
            "write": ["ec2:CreateSecurityGroup", "ec2:CreateTags", "ec2:AuthorizeSecurityGroupIngress",
                      "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
        }


def _rules_from_permissions(perms: list[Mapping[str, Any]], own: str = "") -> list[Rule]:
    """Rules as (protocol, from, to, source); a source naming the group itself (``own``) is "self"."""
    rules: list[Rule] = []
    for p in perms:
        proto = str(p.get("IpProtocol", "-1"))
        lo = int(p.get("FromPort", -1))
        hi = int(p.get("ToPort", -1))
        for r in p.get("IpRanges", []):
            rules.append((proto, lo, hi, r["CidrIp"]))
        for r in p.get("Ipv6Ranges", []):
            rules.append((proto, lo, hi, r["CidrIpv6"]))
        for r in p.get("UserIdGroupPairs", []):
            rules.append((proto, lo, hi, SELF if r["GroupId"] == own else r["GroupId"]))
    return rules


def _permissions(rules: list[Any], own: str) -> list[dict[str, Any]]:
    perms = []
    for proto, lo, hi, src in rules:
        perm: dict[str, Any] = {"IpProtocol": proto, "FromPort": lo, "ToPort": hi}
        src = own if src == SELF else src
        if str(src).startswith("sg-"):
            perm["UserIdGroupPairs"] = [{"GroupId": src}]
        elif ":" in str(src):
            perm["Ipv6Ranges"] = [{"CidrIpv6": src}]
        else:
            perm["IpRanges"] = [{"CidrIp": src}]
        perms.append(perm)
    return perms


def _show_rule(r: tuple[Any, ...]) -> str:
    proto, lo, hi, src = r
    ports = str(lo) if lo == hi else f"{lo}-{hi}"
    return f"{ports}/{proto} from {'the group itself' if src == SELF else src}"
