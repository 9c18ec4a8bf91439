"""The stack's ELBv2 balancer: Application (guide 000, "Создание балансировщика нагрузки")
or Network (seed 004, WebSockets at scale in TCP mode).

Internet-facing (or internal) in the stack's subnets, behind the stack's ``lb-sg`` unless
the stack names security groups. Attributes set for WebSockets on an ALB: an idle timeout
long enough for long-lived sockets (AWS's default of 60 s drops idle ones) and invalid
header fields dropped. On an NLB: cross-zone load balancing on (the NLB's idle timeout is
per TCP listener, see listener.py). A new balancer is waited for until it is active.

An NLB takes its security groups at creation only: one created without any can never get
one, and AWS keeps its subnets and scheme; a change of those (or of the type) is a new
balancer (``replace_reasons``), which the plan shows and ``--allow-replace`` allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.errors import InputError
from awslb.resources import elbv2
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.resources.lookup import find_security_groups, find_subnets
from awslb.spec import LoadBalancerSection, StackSpec

ALB_ATTRIBUTES = frozenset({"idle_timeout.timeout_seconds", "routing.http.drop_invalid_header_fields.enabled"})
NLB_ATTRIBUTES = frozenset({"load_balancing.cross_zone.enabled"})
ATTRIBUTE_KEYS = ALB_ATTRIBUTES | NLB_ATTRIBUTES
IMMUTABLE = ("name", "scheme", "type")
# What AWS cannot change on a Network Load Balancer besides (SetSubnets may only add zones).
NLB_IMMUTABLE = ("subnets",)


def attribute_props(lb: LoadBalancerSection) -> dict[str, str]:
    if lb.type == "network":
        return {"load_balancing.cross_zone.enabled": "true"}
    return {
        "idle_timeout.timeout_seconds": str(lb.idle_timeout),
        "routing.http.drop_invalid_header_fields.enabled": "true",
    }


def _check_name_is_free(aws: Any, spec: StackSpec, lb: LoadBalancerSection) -> None:
    """No balancer of that name outside this stack (AWS would refuse the name at creation)."""
    name = elbv2.alb_name(spec.name, lb)
    # The same reads as discovery (every balancer, the ALBs' tags): made once per planning pass.
    every = aws.paginate("elbv2", "describe_load_balancers", "LoadBalancers")
    albs = [b for b in every if b.get("Type") in elbv2.TYPES]
    named = [b for b in every if b["LoadBalancerName"].lower() == name.lower()]
    tagged = elbv2.tags_of(aws, [b["LoadBalancerArn"] for b in albs]) if named else {}
    for other in named:
        tags = tagged.get(other["LoadBalancerArn"], {})
        if tags.get(names.TAG_STACK) != spec.name:
            key = "load_balancer.name" if lb.name else "stack.name"
            raise InputError(f"{key}: a load balancer named {name} exists outside stack {spec.name}: "
                             "pick another name")


def _check_two_zones(aws: Any, lb: LoadBalancerSection, net: Network) -> None:
    if lb.type == "network":  # one zone is enough for an NLB; its subnets are still checked
        find_subnets(aws, lb.subnets, "load_balancer.subnets", net.vpc_id)
        return
    if lb.subnets:
        found = find_subnets(aws, lb.subnets, "load_balancer.subnets", net.vpc_id)
        zones, key = {s["AvailabilityZone"] for s in found}, "load_balancer.subnets"
    else:
        zones, key = set(net.zones), "stack.subnets"
    if len(zones) < 2:
        raise InputError(f"{key}: an Application Load Balancer needs subnets in at least two zones "
                         f"(got {', '.join(sorted(zones)) or 'none'})")


class LoadBalancer(Kind):
    kind = "load_balancer"
    label = "application/network load balancer"
    rank = 40
    replace_on = IMMUTABLE
    unique_names = True
    client_facing = True

    def preflight(self, aws: Any, spec: StackSpec, net: Network) -> dict[str, Any]:
        lb = elbv2.application(spec)
        if lb is None or not lb.balancer:
            return {}
        _check_name_is_free(aws, spec, lb)
        _check_two_zones(aws, lb, net)
        find_security_groups(aws, lb.security_groups, "load_balancer.security_groups", net.vpc_id)
        return {}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        lb = elbv2.application(spec)
        if lb is None or not lb.balancer:
            return []
        name = elbv2.alb_name(spec.name, lb)
        groups: list[Any] = sorted(lb.security_groups) if lb.security_groups else [Ref("lb-sg", "id")]
        return [Resource(self.kind, "alb", name, {
            "name": name,
            "type": lb.type,
            "scheme": "internal" if lb.internal else "internet-facing",
            "subnets": sorted(lb.subnets or net.subnets),
            "security_groups": groups,
            "attributes": attribute_props(lb),
            "tags": names.tags(spec.name, "alb", name, spec.stack.tags),
        })]

    def discover(self, ctx: Context) -> list[Observed]:
        return [self._observed(ctx, lb, tags) for lb, tags in elbv2.stack_albs(ctx.aws, ctx.stack)]

    def _observed(self, ctx: Context, lb: Mapping[str, Any], tags: Mapping[str, str]) -> Observed:
        arn = lb["LoadBalancerArn"]
        attrs = ctx.aws.find("elbv2", "describe_load_balancer_attributes", LoadBalancerArn=arn) or {}
        return Observed(self.kind, tags.get(names.TAG_ID, lb["LoadBalancerName"]), arn, lb["LoadBalancerName"], {
            "arn": arn,
            "dns_name": lb.get("DNSName"),
            "name": lb["LoadBalancerName"],
            "type": lb.get("Type"),
            "scheme": lb.get("Scheme"),
            "subnets": sorted(z["SubnetId"] for z in lb.get("AvailabilityZones", []) if z.get("SubnetId")),
            "security_groups": sorted(lb.get("SecurityGroups", [])),
            "state": (lb.get("State") or {}).get("Code"),
            "attributes": elbv2.attributes(attrs.get("Attributes", []), ATTRIBUTE_KEYS),
        })

    def replace_reasons(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        # A balancer recorded before NLBs existed in awslb is an ALB.
        if obs.attrs.get("type") is None:
            obs = Observed(obs.kind, obs.id, obs.physical_id, obs.name, {**obs.attrs, "type": "application"})
        out = super().replace_reasons(res, props, obs)
        if props.get("type") != "network" or obs.attrs.get("type") != "network":
            return out
        for key in NLB_IMMUTABLE:
            out += changed(key, sorted(map(str, props[key])), obs.attrs.get(key))
        if props["security_groups"] and not obs.attrs.get("security_groups"):
            out.append("security_groups: an NLB created without security groups can never get any")
        return out

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out: list[str] = []
        out += changed("subnets", sorted(props["subnets"]), a.get("subnets"))
        out += changed("security_groups", sorted(map(str, props["security_groups"])), a.get("security_groups"))
        have = a.get("attributes") or {}
        for key, want in props["attributes"].items():
            out += changed(key, want, have.get(key))
        return out

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        lb = ctx.aws.call(
            "elbv2", "create_load_balancer",
            Name=props["name"], Subnets=list(props["subnets"]), SecurityGroups=list(props["security_groups"]),
            Scheme=props["scheme"], Type=props["type"], IpAddressType="ipv4",
            Tags=names.tag_list(props["tags"]),
        )["LoadBalancers"][0]
        arn = lb["LoadBalancerArn"]
        ctx.aws.call("elbv2", "modify_load_balancer_attributes", LoadBalancerArn=arn,
                     Attributes=[{"Key": k, "Value": v} for k, v in sorted(props["attributes"].items())])
        state = (lb.get("State") or {}).get("Code")
        if ctx.wait:
            ctx.progress("waiting until active")
            ctx.aws.wait("elbv2", "load_balancer_available", delay=ctx.poll,
                         max_attempts=ctx.attempts(ctx.timeout), LoadBalancerArns=[arn])
            state = "active"
        return Observed(self.kind, res.id, arn, props["name"], {
            "arn": arn, "dns_name": lb.get("DNSName"), "name": props["name"], "type": props["type"],
            "scheme": props["scheme"],
            "subnets": sorted(props["subnets"]), "security_groups": sorted(props["security_groups"]),
            "state": state, "attributes": dict(props["attributes"]),
        })

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        arn = obs.physical_id
        a = obs.attrs
        if sorted(props["subnets"]) != a.get("subnets"):
            ctx.aws.call("elbv2", "set_subnets", LoadBalancerArn=arn, Subnets=list(props["subnets"]))
        if sorted(props["security_groups"]) != a.get("security_groups"):
            ctx.aws.call("elbv2", "set_security_groups", LoadBalancerArn=arn,
                         SecurityGroups=list(props["security_groups"]))
        have = a.get("attributes") or {}
        diff_attrs = {k: v for k, v in props["attributes"].items() if have.get(k) != v}
        if diff_attrs:
            ctx.aws.call("elbv2", "modify_load_balancer_attributes", LoadBalancerArn=arn,
                         Attributes=[{"Key": k, "Value": v} for k, v in sorted(diff_attrs.items())])
        return Observed(self.kind, res.id, arn, obs.name, {
            **a, "subnets": sorted(props["subnets"]), "security_groups": sorted(props["security_groups"]),
            "attributes": {**have, **props["attributes"]},
        })

    def delete(self, ctx: Context, obs: Observed) -> None:
        ctx.aws.find("elbv2", "delete_load_balancer", LoadBalancerArn=obs.physical_id)
        if ctx.wait:
            ctx.progress("waiting until deleted")
            ctx.aws.wait("elbv2", "load_balancers_deleted", delay=ctx.poll,
                         max_attempts=ctx.attempts(ctx.timeout), LoadBalancerArns=[obs.physical_id])

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        found = ctx.aws.find("elbv2", "describe_load_balancers", LoadBalancerArns=[obs.physical_id]) or {}
        lbs = found.get("LoadBalancers", [])
        if not lbs:
            return {"state": "gone"}
        lb = lbs[0]
        attrs = obs.attrs.get("attributes") or {}
        out = {
            "type": lb.get("Type"),
            "state": (lb.get("State") or {}).get("Code"),
            "dns_name": lb.get("DNSName"),
            "scheme": lb.get("Scheme"),
            "zones": sorted(z["ZoneName"] for z in lb.get("AvailabilityZones", [])),
        }
        if lb.get("Type") == "network":
            out["cross_zone"] = attrs.get("load_balancing.cross_zone.enabled")
            out["security_groups"] = sorted(lb.get("SecurityGroups", []))
        else:
            out["idle_timeout"] = attrs.get("idle_timeout.timeout_seconds")
        return out

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
                     "elasticloadbalancing:DescribeLoadBalancerAttributes", "ec2:DescribeSubnets",
                     "ec2:DescribeSecurityGroups"],
            "write": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:AddTags",
                      "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetSubnets",
                      "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:DeleteLoadBalancer"],
        }
