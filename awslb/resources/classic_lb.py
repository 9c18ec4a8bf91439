"""The Classic Load Balancer of guide 000 (step 2), converged in place.

Listeners (the guide: "TCP, port 8080 for WebSocket"; stickiness "for the HTTP/HTTPS ports"):

- ``TCP ws_port → TCP ws_port``: WebSocket. A Classic HTTP listener cannot carry the
  WebSocket upgrade, so the WebSocket port is plain TCP.
- ``SSL https.port → TCP ws_port`` (when ``https`` is set): WSS. TLS ends at the balancer
  with the ACM certificate; the balancer talks plain WebSocket to WCS's 8080, so the
  servers need no certificate of their own.
- ``HTTP http_port → HTTP http_port``: the stat page / REST port (8081).
- ``HTTPS https_port → HTTP http_port`` (8444 → 8081): the guide's HTTPS stat port. TLS ends
  at the balancer for the same reason as WSS (one certificate, on the balancer; the stat
  page is the same page on 8081), which also lets the balancer set its stickiness cookie.
  The guide's ``https://WCS:8444/?action=stat`` remains available as a health check
  (``health_check = "HTTPS:8444/?action=stat"``), which talks to the server directly.

LB-cookie stickiness (``awslb-sticky-<ttl>``) goes on the HTTP/HTTPS listeners (AWS allows
it only there), a TLS negotiation policy (``awslb-tls-<policy>``) on the SSL/HTTPS ones;
cross-zone balancing, connection draining (``deregistration_delay``) and an idle timeout
long enough for WebSockets are set as attributes.

Registered instances: the ``targets`` are registered; the ones awslb registered are kept
in the ``awslb:targets`` tag, so dropping a target deregisters it while instances an Auto
Scaling group registered are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.errors import InputError
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.resources.certificates import CERT_FACT
from awslb.resources.lookup import find_instances, find_security_groups, find_subnets
from awslb.spec import DEFAULT_SSL_POLICY, LoadBalancerSection, StackSpec

LOGICAL_ID = "classic-lb"
TAG_TARGETS = "awslb:targets"
WCS_HTTP_PORT = 8081  # WCS's HTTP port: the HTTPS stat listener's instance port without http_port
MAX_TARGETS = 12  # what fits in the awslb:targets tag (256 characters)
# The predefined TLS policies a Classic balancer accepts; the newest is the default.
CLASSIC_SSL_POLICIES = (
    "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-1-2017-01", "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-2015-05", "ELBSecurityPolicy-2015-03", "ELBSecurityPolicy-2015-02",
    "ELBSecurityPolicy-2014-10", "ELBSecurityPolicy-2014-01", "ELBSecurityPolicy-2011-08",
    "ELBSample-ELBDefaultCipherPolicy", "ELBSample-OpenSSLDefaultCipherPolicy",
)
CLASSIC_DEFAULT_SSL_POLICY = CLASSIC_SSL_POLICIES[0]
STICKY_PREFIX = "awslb-sticky-"
TLS_PREFIX = "awslb-tls-"

Listener = list[Any]  # [protocol, lb port, instance protocol, instance port, certificate or None]


def classic_port_ok(port: int) -> bool:
    """Classic listeners take 25, 80, 443, 465, 587 and 1024-65535."""
    return port in (25, 80, 443, 465, 587) or 1024 <= port <= 65535


def ssl_reference(lb: LoadBalancerSection) -> str:
    policy = lb.https.ssl_policy if lb.https else DEFAULT_SSL_POLICY
    # The stack default is an ELBv2 (TLS 1.3) policy, which Classic balancers do not have.
    return CLASSIC_DEFAULT_SSL_POLICY if policy == DEFAULT_SSL_POLICY else policy


def listeners_for(lb: LoadBalancerSection, certificate: str | None) -> list[Listener]:
    out: list[Listener] = [["TCP", lb.ws_port, "TCP", lb.ws_port, None]]
    if lb.https is not None:
        out.append(["SSL", lb.https.port, "TCP", lb.ws_port, certificate])
    if lb.http_port is not None:
        out.append(["HTTP", lb.http_port, "HTTP", lb.http_port, None])
    if lb.https_port is not None:
        out.append(["HTTPS", lb.https_port, "HTTP", lb.http_port or WCS_HTTP_PORT, certificate])
    return sorted(out, key=lambda x: x[1])


def _check_listener_ports(lb: LoadBalancerSection) -> None:
    ports = {"ws_port": lb.ws_port, "https.port": lb.https.port if lb.https else None,
             "http_port": lb.http_port, "https_port": lb.https_port}
    seen: dict[int, str] = {}
    for key, port in ports.items():
        if port is None:
            continue
        if not classic_port_ok(port):
            raise InputError(f"load_balancer.{key}: a Classic listener takes 25, 80, 443, 465, 587 "
                             f"or 1024-65535, not {port}")
        if port in seen:
            raise InputError(f"load_balancer.{key}: port {port} is already load_balancer.{seen[port]}")
        seen[port] = key
    if lb.https_port is not None and lb.https is None:
        raise InputError("load_balancer.https_port: the HTTPS listener needs a certificate "
                         "(load_balancer.https.certificate)")


def _check_settings(lb: LoadBalancerSection) -> None:
    if lb.health_check.timeout > 60:
        raise InputError("load_balancer.health_check.timeout: a Classic health check times out "
                         "after at most 60 seconds")
    if lb.https is not None and ssl_reference(lb) not in CLASSIC_SSL_POLICIES:
        raise InputError(f"load_balancer.https.ssl_policy: a Classic balancer takes one of "
                         f"{', '.join(CLASSIC_SSL_POLICIES[:3])}, ..., not {lb.https.ssl_policy}")
    if len(lb.targets) > MAX_TARGETS:
        raise InputError(f"load_balancer.targets: at most {MAX_TARGETS} servers; let an Auto Scaling "
                         "group register more")


def _one_subnet_per_zone(aws: Aws, subnets: list[str], net: Network) -> list[str]:
    zones: dict[str, str] = {}
    for s in find_subnets(aws, subnets, "load_balancer.subnets", net.vpc_id):
        sid, zone = s["SubnetId"], s["AvailabilityZone"]
        if zone in zones:
            raise InputError(f"load_balancer.subnets: {zones[zone]} and {sid} are both in {zone}; "
                             "a Classic balancer takes one subnet per zone")
        zones[zone] = sid
    return sorted(subnets)


class ClassicLoadBalancer(Kind):
    kind = "classic_lb"
    label = "classic load balancer"
    rank = 40
    replace_on = ("name", "scheme")
    unique_names = True
    client_facing = True

    # -- before planning ---------------------------------------------------------------

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        """Checks AWS would only make at the first write; the subnets and targets to use.

        The certificate is resolved by the one resolver (Listener.preflight, CERT_FACT).
        """
        lb = spec.load_balancer
        if lb is None or lb.type != "classic":
            return {}
        _check_listener_ports(lb)
        _check_settings(lb)
        find_security_groups(aws, lb.security_groups, "load_balancer.security_groups", net.vpc_id)
        targets = find_instances(aws, lb.targets, "load_balancer.targets")
        subnets = _one_subnet_per_zone(aws, lb.subnets, net) if lb.subnets else list(net.subnets)
        return {"classic_lb.subnets": subnets, "classic_lb.targets": sorted(i["InstanceId"] for i in targets)}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        lb = spec.load_balancer
        if lb is None or lb.type != "classic":
            return []
        name = lb.name or names.elbv2(spec.name, "elb")
        cert = net.facts.get(CERT_FACT) if lb.https is not None else None
        listeners = listeners_for(lb, cert)
        sticky = f"{STICKY_PREFIX}{lb.cookie_ttl}" if lb.stickiness else None
        tls = f"{TLS_PREFIX}{ssl_reference(lb)}" if lb.https is not None else None
        policies: dict[str, list[str]] = {}
        for proto, port, *_ in listeners:
            want = ([sticky] if sticky and proto in ("HTTP", "HTTPS") else []) + \
                   ([tls] if tls and proto in ("SSL", "HTTPS") else [])
            policies[str(port)] = sorted(want)
        hc = lb.health_check
        targets = sorted(net.facts.get("classic_lb.targets", []))
        tags = names.tags(spec.name, LOGICAL_ID, name, spec.stack.tags)
        tags[TAG_TARGETS] = " ".join(targets)
        return [Resource(self.kind, LOGICAL_ID, name, {
            "scheme": "internal" if lb.internal else "internet-facing",
            "subnets": sorted(net.facts.get("classic_lb.subnets", net.subnets)),
            "security_groups": list(lb.security_groups) or [Ref("lb-sg", "id")],
            "listeners": listeners,
            "health_check": {"Target": f"{hc.protocol}:{hc.port}{hc.path}", "Interval": hc.interval,
                             "Timeout": hc.timeout, "HealthyThreshold": hc.healthy_threshold,
                             "UnhealthyThreshold": hc.unhealthy_threshold},
            "sticky_policy": sticky,
            "cookie_ttl": lb.cookie_ttl,
            "tls_policy": tls,
            "tls_reference": ssl_reference(lb),
            "listener_policies": policies,
            "attributes": {"cross_zone": True, "draining": lb.deregistration_delay,
                           "idle_timeout": lb.idle_timeout},
            "targets": targets,
            "tags": tags,
        })]

    # -- what exists -------------------------------------------------------------------

    def discover(self, ctx: Context) -> list[Observed]:
        lbs = ctx.aws.paginate("elb", "describe_load_balancers", "LoadBalancerDescriptions")
        by_name = {lb["LoadBalancerName"]: lb for lb in lbs}
        out = []
        for name, tags in _tags(ctx.aws, list(by_name)).items():
            if tags.get(names.TAG_STACK) == ctx.stack:
                out.append(self._observed(ctx.aws, by_name[name], tags))
        return out

    def _read(self, aws: Aws, name: str) -> Observed:
        lb = aws.call("elb", "describe_load_balancers", LoadBalancerNames=[name])["LoadBalancerDescriptions"][0]
        return self._observed(aws, lb, _tags(aws, [name]).get(name, {}))

    def _observed(self, aws: Aws, lb: Mapping[str, Any], tags: Mapping[str, str]) -> Observed:
        name = lb["LoadBalancerName"]
        attrs = aws.call("elb", "describe_load_balancer_attributes",
                         LoadBalancerName=name)["LoadBalancerAttributes"]
        draining = attrs.get("ConnectionDraining", {})
        listeners = sorted(
            ([d["Listener"]["Protocol"].upper(), d["Listener"]["LoadBalancerPort"],
              d["Listener"]["InstanceProtocol"].upper(), d["Listener"]["InstancePort"],
              d["Listener"].get("SSLCertificateId")] for d in lb.get("ListenerDescriptions", [])),
            key=lambda x: x[1])
        pol = lb.get("Policies", {})
        hc = lb.get("HealthCheck") or None
        return Observed(self.kind, tags.get(names.TAG_ID, LOGICAL_ID), name, name, {
            "name": name,
            "dns_name": lb.get("DNSName", ""),
            "scheme": lb.get("Scheme", "internet-facing"),
            "subnets": sorted(lb.get("Subnets", [])),
            "security_groups": sorted(lb.get("SecurityGroups", [])),
            "listeners": listeners,
            "listener_policies": {str(d["Listener"]["LoadBalancerPort"]): sorted(d.get("PolicyNames", []))
                                  for d in lb.get("ListenerDescriptions", [])},
            "sticky_policies": {p["PolicyName"]: p.get("CookieExpirationPeriod")
                                for p in pol.get("LBCookieStickinessPolicies", [])},
            "other_policies": sorted(pol.get("OtherPolicies", [])),
            "health_check": {k: hc[k] for k in ("Target", "Interval", "Timeout", "HealthyThreshold",
                                                 "UnhealthyThreshold")} if hc else None,
            "attributes": {
                "cross_zone": bool(attrs.get("CrossZoneLoadBalancing", {}).get("Enabled")),
                "draining": int(draining.get("Timeout", 0)) if draining.get("Enabled") else 0,
                "idle_timeout": int(attrs.get("ConnectionSettings", {}).get("IdleTimeout", 60)),
            },
            "instances": sorted(i["InstanceId"] for i in lb.get("Instances", [])),
            "managed_targets": sorted(t for t in tags.get(TAG_TARGETS, "").split() if t),
        })

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out: list[str] = []
        want = {x[1]: x for x in props["listeners"]}
        have = {x[1]: x for x in a.get("listeners", [])}
        for port in sorted(set(want) | set(have)):
            w, h = want.get(port), have.get(port)
            if w is None:
                out.append(f"remove listener {_show(h)}")
            elif h is None:
                out.append(f"add listener {_show(w)}")
            elif list(w) != list(h):
                out.append(f"listener {port}: {_show(h)} → {_show(w)}")
        for port, pols in sorted(props["listener_policies"].items()):
            if list(pols) != a.get("listener_policies", {}).get(port, []):
                out.append(f"policies of {port}: [{', '.join(a.get('listener_policies', {}).get(port, []))}]"
                           f" → [{', '.join(pols)}]")
        out += changed("health check", props["health_check"], a.get("health_check"))
        want_attrs, have_attrs = props["attributes"], a.get("attributes") or {}
        out += changed("cross-zone", want_attrs["cross_zone"], have_attrs.get("cross_zone"))
        out += changed("connection draining", want_attrs["draining"], have_attrs.get("draining"))
        out += changed("idle timeout", want_attrs["idle_timeout"], have_attrs.get("idle_timeout"))
        out += changed("security groups", sorted(props["security_groups"]), a.get("security_groups"))
        out += changed("subnets", props["subnets"], a.get("subnets"))
        registered = set(a.get("instances", []))
        add = [t for t in props["targets"] if t not in registered]
        drop = [t for t in a.get("managed_targets", []) if t not in props["targets"] and t in registered]
        if add:
            out.append("register " + ", ".join(add))
        if drop:
            out.append("deregister " + ", ".join(drop))
        if not add and not drop and props["targets"] != a.get("managed_targets", []):
            out += changed("targets", props["targets"], a.get("managed_targets"))
        return out

    # -- writes ------------------------------------------------------------------------

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        params: dict[str, Any] = {}
        if props["scheme"] == "internal":
            params["Scheme"] = "internal"
        ctx.aws.call(
            "elb", "create_load_balancer",
            LoadBalancerName=res.name,
            Listeners=[_listener(x) for x in props["listeners"]],
            Subnets=list(props["subnets"]),
            SecurityGroups=list(props["security_groups"]),
            Tags=names.tag_list(props["tags"]),
            **params,
        )
        fresh = {
            "listeners": [list(x) for x in props["listeners"]], "listener_policies": {},
            "sticky_policies": {}, "other_policies": [], "health_check": None, "attributes": None,
            "instances": [], "managed_targets": list(props["targets"]),  # tagged at creation
            "security_groups": sorted(props["security_groups"]), "subnets": props["subnets"],
        }
        self._converge(ctx, res.name, props, fresh)
        return self._read(ctx.aws, res.name)

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        self._converge(ctx, obs.name, props, obs.attrs)
        return self._read(ctx.aws, obs.name)

    def _converge(self, ctx: Context, name: str, props: Mapping[str, Any], have: Mapping[str, Any]) -> None:
        """One attribute group after another, each writing only what differs."""
        _converge_network(ctx.aws, name, props, have)
        policies_now = _converge_listeners(ctx, name, props, have)
        _converge_policies(ctx.aws, name, props, have, policies_now)
        _converge_health_check(ctx.aws, name, props, have)
        _converge_attributes(ctx.aws, name, props, have)
        _converge_targets(ctx.aws, name, props, have)

    def delete(self, ctx: Context, obs: Observed) -> None:
        ctx.aws.find("elb", "delete_load_balancer", LoadBalancerName=obs.physical_id)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        health = ctx.aws.find("elb", "describe_instance_health", LoadBalancerName=obs.physical_id)
        states = [s.get("State", "") for s in (health or {}).get("InstanceStates", [])]
        return {
            "dns_name": obs.attrs.get("dns_name"),
            "listeners": [_show(x) for x in obs.attrs.get("listeners", [])],
            "instances": f"{states.count('InService')}/{len(states)} in service",
        }

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
                     "elasticloadbalancing:DescribeLoadBalancerAttributes",
                     "elasticloadbalancing:DescribeInstanceHealth", "acm:DescribeCertificate",
                     "acm:ListCertificates", "iam:ListServerCertificates", "ec2:DescribeInstances",
                     "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
            "write": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:AddTags",
                      "elasticloadbalancing:CreateLoadBalancerListeners",
                      "elasticloadbalancing:DeleteLoadBalancerListeners",
                      "elasticloadbalancing:SetLoadBalancerListenerSSLCertificate",
                      "elasticloadbalancing:CreateLBCookieStickinessPolicy",
                      "elasticloadbalancing:CreateLoadBalancerPolicy",
                      "elasticloadbalancing:SetLoadBalancerPoliciesOfListener",
                      "elasticloadbalancing:DeleteLoadBalancerPolicy",
                      "elasticloadbalancing:ConfigureHealthCheck",
                      "elasticloadbalancing:ModifyLoadBalancerAttributes",
                      "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
                      "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
                      "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer",
                      "elasticloadbalancing:AttachLoadBalancerToSubnets",
                      "elasticloadbalancing:DetachLoadBalancerFromSubnets",
                      "elasticloadbalancing:DeleteLoadBalancer"],
        }


# -- converging one attribute group each (ClassicLoadBalancer._converge) -------------------------

def _converge_network(aws: Aws, name: str, props: Mapping[str, Any], have: Mapping[str, Any]) -> None:
    if sorted(props["security_groups"]) != have.get("security_groups"):
        aws.call("elb", "apply_security_groups_to_load_balancer", LoadBalancerName=name,
                 SecurityGroups=list(props["security_groups"]))
    want_sn, have_sn = set(props["subnets"]), set(have.get("subnets", []))
    if want_sn - have_sn:  # attach first: a balancer cannot be left without subnets
        aws.call("elb", "attach_load_balancer_to_subnets", LoadBalancerName=name,
                 Subnets=sorted(want_sn - have_sn))
    if have_sn - want_sn:
        aws.call("elb", "detach_load_balancer_from_subnets", LoadBalancerName=name,
                 Subnets=sorted(have_sn - want_sn))


def _converge_listeners(ctx: Context, name: str, props: Mapping[str, Any],
                        have: Mapping[str, Any]) -> dict[str, list[str]]:
    """A new certificate is set in place; any other change replaces the listener.

    Returns the policies each listener has afterwards (a replaced listener has none).
    """
    aws = ctx.aws
    want = {x[1]: list(x) for x in props["listeners"]}
    cur = {x[1]: list(x) for x in have.get("listeners", [])}
    policies_now: dict[str, list[str]] = dict(have.get("listener_policies", {}))
    gone = [p for p in cur if p not in want or cur[p][:4] != want[p][:4]]
    if gone:
        aws.call("elb", "delete_load_balancer_listeners", LoadBalancerName=name, LoadBalancerPorts=gone)
        for p in gone:
            policies_now.pop(str(p), None)
    added = [want[p] for p in want if p not in cur or p in gone]
    if added:
        ctx.progress(f"adding listeners {', '.join(str(x[1]) for x in added)}")
        aws.call("elb", "create_load_balancer_listeners", LoadBalancerName=name,
                 Listeners=[_listener(x) for x in added])
    for p, x in want.items():
        if p in cur and p not in gone and cur[p][4] != x[4]:
            aws.call("elb", "set_load_balancer_listener_ssl_certificate", LoadBalancerName=name,
                     LoadBalancerPort=p, SSLCertificateId=x[4])
    return policies_now


def _converge_policies(aws: Aws, name: str, props: Mapping[str, Any], have: Mapping[str, Any],
                       policies_now: Mapping[str, list[str]]) -> None:
    """Policies are named after their settings, so a change is a new policy; old ones go after."""
    sticky, tls = props["sticky_policy"], props["tls_policy"]
    if sticky and sticky not in have.get("sticky_policies", {}):
        aws.call("elb", "create_lb_cookie_stickiness_policy", LoadBalancerName=name,
                 PolicyName=sticky, CookieExpirationPeriod=props["cookie_ttl"])
    if tls and tls not in have.get("other_policies", []):
        aws.call("elb", "create_load_balancer_policy", LoadBalancerName=name, PolicyName=tls,
                 PolicyTypeName="SSLNegotiationPolicyType",
                 PolicyAttributes=[{"AttributeName": "Reference-Security-Policy",
                                    "AttributeValue": props["tls_reference"]}])
    for port, pols in sorted(props["listener_policies"].items()):
        if sorted(pols) != sorted(policies_now.get(port, [])):
            aws.call("elb", "set_load_balancer_policies_of_listener", LoadBalancerName=name,
                     LoadBalancerPort=int(port), PolicyNames=list(pols))
    stale = [p for p in [*have.get("sticky_policies", {}), *have.get("other_policies", [])]
             if p.startswith((STICKY_PREFIX, TLS_PREFIX)) and p not in (sticky, tls)]
    for p in stale:
        aws.find("elb", "delete_load_balancer_policy", LoadBalancerName=name, PolicyName=p)


def _converge_health_check(aws: Aws, name: str, props: Mapping[str, Any], have: Mapping[str, Any]) -> None:
    if props["health_check"] != have.get("health_check"):
        aws.call("elb", "configure_health_check", LoadBalancerName=name, HealthCheck=dict(props["health_check"]))


def _converge_attributes(aws: Aws, name: str, props: Mapping[str, Any], have: Mapping[str, Any]) -> None:
    if props["attributes"] == have.get("attributes"):
        return
    at = props["attributes"]
    draining: dict[str, Any] = {"Enabled": at["draining"] > 0}
    if at["draining"] > 0:
        draining["Timeout"] = at["draining"]
    aws.call("elb", "modify_load_balancer_attributes", LoadBalancerName=name, LoadBalancerAttributes={
        "CrossZoneLoadBalancing": {"Enabled": at["cross_zone"]},
        "ConnectionDraining": draining,
        "ConnectionSettings": {"IdleTimeout": at["idle_timeout"]},
    })


def _converge_targets(aws: Aws, name: str, props: Mapping[str, Any], have: Mapping[str, Any]) -> None:
    """Register what the stack names; deregister only what awslb registered (the awslb:targets tag)."""
    registered = set(have.get("instances", []))
    add = [t for t in props["targets"] if t not in registered]
    drop = [t for t in have.get("managed_targets", []) if t not in props["targets"] and t in registered]
    if add:
        aws.call("elb", "register_instances_with_load_balancer", LoadBalancerName=name,
                 Instances=[{"InstanceId": t} for t in add])
    if drop:
        aws.call("elb", "deregister_instances_from_load_balancer", LoadBalancerName=name,
                 Instances=[{"InstanceId": t} for t in drop])
    if props["targets"] != have.get("managed_targets", []):
        aws.call("elb", "add_tags", LoadBalancerNames=[name],
                 Tags=[{"Key": TAG_TARGETS, "Value": " ".join(props["targets"])}])


def _tags(aws: Aws, lb_names: list[str]) -> dict[str, dict[str, str]]:
    """{balancer name: tags}; DescribeTags takes at most 20 names a call."""
    out: dict[str, dict[str, str]] = {}
    for i in range(0, len(lb_names), 20):
        found = aws.find("elb", "describe_tags", LoadBalancerNames=lb_names[i:i + 20]) or {}
        for d in found.get("TagDescriptions", []):
            out[d["LoadBalancerName"]] = names.tag_dict(d.get("Tags"))
    return out


def _listener(x: Listener) -> dict[str, Any]:
    proto, port, iproto, iport, cert = x
    out: dict[str, Any] = {"Protocol": proto, "LoadBalancerPort": port, "InstanceProtocol": iproto,
                           "InstancePort": iport}
    if cert:
        out["SSLCertificateId"] = cert
    return out


def _show(x: Listener | None) -> str:
    if x is None:
        return "-"
    proto, port, iproto, iport, cert = x
    return f"{proto} {port} → {iproto} {iport}" + (" (certificate)" if cert else "")
