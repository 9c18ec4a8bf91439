"""Target groups of the Application Load Balancer flow (guide 000, "Создание целевой группы").

``ws-tg``: instance targets, HTTP on the WebSocket port (8080), protocol version HTTP1,
health check on the stat page (``8081/?action=stat``, 200), LB-cookie stickiness and a
deregistration delay that lets sessions drain. ``http-tg`` (optional): the same servers on
the stat/admin port (8081). The existing servers in ``load_balancer.targets`` are
registered in both; instances an Auto Scaling group put there (tagged
``aws:autoscaling:groupName``) are the group's business and never deregistered here.

Behind a Network Load Balancer (seed 004) the groups are TCP (the balancer passes the
WebSocket bytes through, TLS ends at its TLS listener), with the client's address
preserved (``preserve_client_ip.enabled``, stated although it is the default for instance
targets) and source-IP stickiness; ``rtmp-tg`` (TCP, RTMP) and one ``udp-PORT-tg`` per
UDP listener when asked. Their health check is the same stat page over HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awslb import names, statpages
from awslb.errors import InputError
from awslb.node import stats
from awslb.resources import elbv2
from awslb.resources.base import Context, Kind, Network, Observed, Resource, changed
from awslb.resources.lookup import find_instances
from awslb.spec import LoadBalancerSection, StackSpec

TARGETS_FACT = "target_group.targets"
ASG_TAG = "aws:autoscaling:groupName"
# Properties AWS cannot change on an existing target group.
IMMUTABLE = ("protocol", "port", "protocol_version", "target_type", "vpc_id")
ATTRIBUTE_KEYS = frozenset({
    "stickiness.enabled", "stickiness.type", "stickiness.lb_cookie.duration_seconds",
    "deregistration_delay.timeout_seconds", "preserve_client_ip.enabled",
})
# Accounts of AWS emulators (moto's default, LocalStack's): never a real account.
EMULATOR_ACCOUNTS = {"123456789012", "000000000000"}
# Target states that mean "on its way out": not counted as registered.
LEAVING = {"draining"}


def health_props(lb: LoadBalancerSection) -> dict[str, Any]:
    hc = lb.health_check
    return {
        "protocol": hc.protocol, "port": str(hc.port), "path": hc.path, "interval": hc.interval,
        "timeout": hc.timeout, "healthy": hc.healthy_threshold, "unhealthy": hc.unhealthy_threshold,
        "matcher": hc.matcher,
    }


def attribute_props(lb: LoadBalancerSection) -> dict[str, str]:
    if lb.type == "network":
        return {
            "stickiness.enabled": str(lb.stickiness).lower(),
            "stickiness.type": "source_ip",
            "deregistration_delay.timeout_seconds": str(lb.deregistration_delay),
            "preserve_client_ip.enabled": "true",
        }
    return {
        "stickiness.enabled": str(lb.stickiness).lower(),
        "stickiness.type": "lb_cookie",
        "stickiness.lb_cookie.duration_seconds": str(lb.cookie_ttl),
        "deregistration_delay.timeout_seconds": str(lb.deregistration_delay),
    }


def groups(lb: LoadBalancerSection) -> list[tuple[str, str, int]]:
    """(logical id, protocol, port) of each target group the balancer wants."""
    if lb.type != "network":
        return [("ws-tg", "HTTP", lb.ws_port)] + ([("http-tg", "HTTP", lb.http_port)] if lb.http_port else [])
    out = [("ws-tg", "TCP", lb.ws_port)]
    if lb.http_port is not None:
        out.append(("http-tg", "TCP", lb.http_port))
    if lb.rtmp_port is not None:
        out.append(("rtmp-tg", "TCP", lb.rtmp_port))
    out += [(f"udp-{port}-tg", "UDP", port) for port in lb.udp_ports]
    return out


def serving(lb: LoadBalancerSection) -> list[str]:
    """The groups an Auto Scaling group joins: every traffic group but the stat/admin one."""
    return [logical_id for logical_id, _, _ in groups(lb) if logical_id != "http-tg"]


class TargetGroup(Kind):
    kind = "target_group"
    label = "target group"
    rank = 30
    replace_on = ("name", *IMMUTABLE)
    unique_names = True

    def preflight(self, aws: Any, spec: StackSpec, net: Network) -> dict[str, Any]:
        lb = elbv2.application(spec)
        if lb is None:
            return {}
        found = find_instances(aws, lb.targets, "load_balancer.targets")
        for ref, inst in zip(lb.targets, found, strict=True):
            if inst.get("VpcId") != net.vpc_id:
                raise InputError(
                    f"load_balancer.targets: {ref} ({inst['InstanceId']}) is in {inst.get('VpcId')}, "
                    f"the stack in {net.vpc_id}: set stack.vpc / stack.subnets to its VPC"
                )
        for logical_id in self._ids(lb):
            named = logical_id == "ws-tg" and lb.target_group is not None
            _check_name_free(aws, spec.name, elbv2.tg_name(spec.name, lb, logical_id), logical_id,
                             "load_balancer.target_group" if named else "stack.name")
        return {TARGETS_FACT: sorted({i["InstanceId"] for i in found})}

    @staticmethod
    def _ids(lb: LoadBalancerSection) -> list[str]:
        return [logical_id for logical_id, _, _ in groups(lb)]

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        lb = elbv2.application(spec)
        if lb is None:
            return []
        targets = list(net.facts.get(TARGETS_FACT, []))
        out = []
        for logical_id, protocol, port in groups(lb):
            name = elbv2.tg_name(spec.name, lb, logical_id)
            out.append(Resource(self.kind, logical_id, name, {
                "protocol": protocol, "port": port, "protocol_version": "HTTP1" if protocol == "HTTP" else None,
                "target_type": "instance",
                "vpc_id": net.vpc_id,
                "health": health_props(lb),
                "attributes": attribute_props(lb),
                "targets": targets,
                "tags": names.tags(spec.name, logical_id, name, spec.stack.tags),
            }))
        return out

    # -- observe ---------------------------------------------------------------------

    def discover(self, ctx: Context) -> list[Observed]:
        groups = ctx.aws.paginate("elbv2", "describe_target_groups", "TargetGroups")
        return [self._observed(ctx, g, tags)
                for g, tags in elbv2.of_stack(ctx.aws, groups, "TargetGroupArn", ctx.stack)]

    def _observed(self, ctx: Context, g: Mapping[str, Any], tags: Mapping[str, str]) -> Observed:
        arn = g["TargetGroupArn"]
        attrs = ctx.aws.find("elbv2", "describe_target_group_attributes", TargetGroupArn=arn) or {}
        return Observed(self.kind, tags.get(names.TAG_ID, g["TargetGroupName"]), arn, g["TargetGroupName"], {
            "arn": arn,
            "name": g["TargetGroupName"],
            "protocol": g.get("Protocol"),
            "port": g.get("Port"),
            "protocol_version": g.get("ProtocolVersion"),
            "target_type": g.get("TargetType"),
            "vpc_id": g.get("VpcId"),
            "health": {
                "protocol": g.get("HealthCheckProtocol"), "port": g.get("HealthCheckPort"),
                "path": g.get("HealthCheckPath"), "interval": g.get("HealthCheckIntervalSeconds"),
                "timeout": g.get("HealthCheckTimeoutSeconds"), "healthy": g.get("HealthyThresholdCount"),
                "unhealthy": g.get("UnhealthyThresholdCount"),
                "matcher": (g.get("Matcher") or {}).get("HttpCode"),
            },
            "attributes": elbv2.attributes(attrs.get("Attributes", []), ATTRIBUTE_KEYS),
            "targets": self._registered(ctx, arn),
        })

    def _registered(self, ctx: Context, arn: str) -> list[str]:
        """Instances registered in the group, except leaving ones and Auto Scaling members."""
        health = ctx.aws.find("elbv2", "describe_target_health", TargetGroupArn=arn) or {}
        ids = sorted({d["Target"]["Id"] for d in health.get("TargetHealthDescriptions", [])
                      if d.get("TargetHealth", {}).get("State") not in LEAVING})
        if not ids:
            return []
        scaled = {i["InstanceId"] for i in _instances(ctx.aws, ids)
                  if ASG_TAG in names.tag_dict(i.get("Tags"))}
        return [i for i in ids if i not in scaled]

    # -- compare and change ------------------------------------------------------------

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out: list[str] = []
        for key, want in props["health"].items():
            out += changed(f"health_check.{key}", want, (a.get("health") or {}).get(key))
        have_attrs = a.get("attributes") or {}
        for key, want in props["attributes"].items():
            out += changed(key, want, have_attrs.get(key))
        add, remove = _target_changes(props, obs)
        if add:
            out.append("register " + ", ".join(add))
        if remove:
            out.append("deregister " + ", ".join(remove))
        return out

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        h = props["health"]
        version = {"ProtocolVersion": props["protocol_version"]} if props["protocol_version"] else {}
        out = ctx.aws.call(
            "elbv2", "create_target_group",
            Name=res.name, Protocol=props["protocol"], Port=props["port"], **version,
            TargetType=props["target_type"], VpcId=props["vpc_id"],
            HealthCheckEnabled=True, **_health_params(h),
            Tags=names.tag_list(props["tags"]),
        )["TargetGroups"][0]
        arn = out["TargetGroupArn"]
        ctx.aws.call("elbv2", "modify_target_group_attributes", TargetGroupArn=arn,
                     Attributes=[{"Key": k, "Value": v} for k, v in sorted(props["attributes"].items())])
        if props["targets"]:
            ctx.aws.call("elbv2", "register_targets", TargetGroupArn=arn,
                         Targets=[{"Id": t} for t in props["targets"]])
        return Observed(self.kind, res.id, arn, res.name, {
            "arn": arn, "name": res.name,
            **{k: props[k] for k in IMMUTABLE},
            "health": dict(h), "attributes": dict(props["attributes"]), "targets": list(props["targets"]),
        })

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        arn = obs.physical_id
        a = obs.attrs
        if props["health"] != a.get("health"):
            ctx.aws.call("elbv2", "modify_target_group", TargetGroupArn=arn, HealthCheckEnabled=True,
                         **_health_params(props["health"]))
        have_attrs = a.get("attributes") or {}
        diff_attrs = {k: v for k, v in props["attributes"].items() if have_attrs.get(k) != v}
        if diff_attrs:
            ctx.aws.call("elbv2", "modify_target_group_attributes", TargetGroupArn=arn,
                         Attributes=[{"Key": k, "Value": v} for k, v in sorted(diff_attrs.items())])
        add, remove = _target_changes(props, obs)
        if add:
            ctx.aws.call("elbv2", "register_targets", TargetGroupArn=arn, Targets=[{"Id": t} for t in add])
        if remove:
            ctx.aws.call("elbv2", "deregister_targets", TargetGroupArn=arn, Targets=[{"Id": t} for t in remove])
        return Observed(self.kind, res.id, arn, obs.name, {
            **a, "health": dict(props["health"]), "attributes": {**have_attrs, **props["attributes"]},
            "targets": list(props["targets"]),
        })

    def delete(self, ctx: Context, obs: Observed) -> None:
        ctx.aws.find("elbv2", "delete_target_group", TargetGroupArn=obs.physical_id)

    # -- live facts ----------------------------------------------------------------------

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        a = obs.attrs
        h = a.get("health") or {}
        port = a.get("port") if h.get("port") in (None, "traffic-port") else h.get("port")
        health = ctx.aws.find("elbv2", "describe_target_health", TargetGroupArn=obs.physical_id) or {}
        descs = health.get("TargetHealthDescriptions", [])
        ids = [d["Target"]["Id"] for d in descs]
        addresses = {i["InstanceId"]: i.get("PublicIpAddress") or i.get("PrivateIpAddress")
                     for i in _instances(ctx.aws, ids)} if ids else {}
        readings: dict[str, statpages.Reading] = {}
        notes: list[str] = []
        if obs.id == "ws-tg" and ids:
            protocol, path = str(h.get("protocol") or "HTTP"), str(h.get("path") or "/")
            readings, notes = statpages.read(
                ctx.aws, ids, ctx.stats_via, page=statpages.Page(protocol, port, path), wait=ctx.stats_wait,
                comment=f"awslb status {ctx.stack}: read the stat page",
                direct=lambda todo: _stat_figures(ctx, obs.physical_id, todo, addresses, protocol, port, path))
        targets = []
        for d in descs:
            tid = d["Target"]["Id"]
            th = d.get("TargetHealth", {})
            entry: dict[str, Any] = {"id": tid, "health": th.get("State")}
            if th.get("Reason"):
                entry["reason"] = th["Reason"]
            if addresses.get(tid):
                entry["address"] = addresses[tid]
            if tid in readings:
                entry["via"], entry["stats"] = readings[tid].via, readings[tid].stats
            targets.append(entry)
        out: dict[str, Any] = {
            "listens": f"{a.get('protocol')}:{a.get('port')}"
                       + (f" ({a['protocol_version']})" if a.get("protocol_version") else ""),
            "health_check": f"{h.get('protocol')}:{port}{h.get('path')}",
            "targets": targets,
        }
        if notes:
            out["stats_notes"] = notes
        return out

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags",
                     "elasticloadbalancing:DescribeTargetGroupAttributes",
                     "elasticloadbalancing:DescribeTargetHealth", "ec2:DescribeInstances"],
            "write": ["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:AddTags",
                      "elasticloadbalancing:ModifyTargetGroup",
                      "elasticloadbalancing:ModifyTargetGroupAttributes",
                      "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
                      "elasticloadbalancing:DeleteTargetGroup"],
        }


def _health_params(h: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "HealthCheckProtocol": h["protocol"], "HealthCheckPort": h["port"], "HealthCheckPath": h["path"],
        "HealthCheckIntervalSeconds": h["interval"], "HealthCheckTimeoutSeconds": h["timeout"],
        "HealthyThresholdCount": h["healthy"], "UnhealthyThresholdCount": h["unhealthy"],
        "Matcher": {"HttpCode": h["matcher"]},
    }


def _target_changes(props: Mapping[str, Any], obs: Observed) -> tuple[list[str], list[str]]:
    want = set(props["targets"])
    have = set(obs.attrs.get("targets") or [])
    return sorted(want - have), sorted(have - want)


def _instances(aws: Any, ids: list[str]) -> list[dict[str, Any]]:
    # A filter (not InstanceIds) so that a terminated or unknown id is simply absent.
    return [i for r in aws.paginate("ec2", "describe_instances", "Reservations",
                                    Filters=[{"Name": "instance-id", "Values": ids}])
            for i in r["Instances"]]


def _stat_figures(ctx: Context, arn: str, ids: list[str], addresses: Mapping[str, str | None],
                  protocol: str, port: Any, path: str) -> dict[str, Any]:
    """Each target's stat page figures (the health check's port and path)."""
    if not stats.enabled():
        return dict.fromkeys(ids, "not fetched (AWSLB_STATS=off)")
    if ctx.aws.endpoint_url or _account(arn) in EMULATOR_ACCOUNTS:
        # An emulator (the sandbox, LocalStack, moto): its instance addresses are made up
        # (public ones included), so no request may go to them.
        return dict.fromkeys(ids, "not fetched (emulated AWS)")
    urls = {i: f"{protocol.lower()}://{addresses[i]}:{port}{path}" for i in ids if addresses.get(i)}
    out: dict[str, Any] = dict.fromkeys(ids, stats.UNREACHABLE)
    out.update(stats.fetch_all(urls))
    return out


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _check_name_free(aws: Any, stack: str, name: str, logical_id: str, key: str) -> None:
    """A group of that name outside the stack would be adopted by AWS's idempotent create."""
    # The same reads as discovery (every group, then their tags): a planning pass makes them once.
    groups = aws.paginate("elbv2", "describe_target_groups", "TargetGroups")
    named = [g for g in groups if g["TargetGroupName"].lower() == name.lower()]
    if not named:
        return
    every = elbv2.tags_of(aws, [g["TargetGroupArn"] for g in groups])
    for g in named:
        tags = every.get(g["TargetGroupArn"], {})
        if tags.get(names.TAG_STACK) != stack or tags.get(names.TAG_ID) != logical_id:
            raise InputError(f"{key}: a target group named {name} exists outside stack {stack}: pick another name")
