"""The Application Load Balancer's listeners (guide 000, "Редактирование порта балансировщика").

``ws-listener``: HTTP on the WebSocket port (8080), forwarding to ``ws-tg``; with
``load_balancer.https`` it is the same listener switched in place (modify, never delete
and create) to HTTPS on 8443 with the certificate and a modern TLS policy, so clients
connect to ``wss://BALANCER:8443``. ``http-listener``: the stat/admin port (8081) to
``http-tg``.

On a Network Load Balancer the same listeners are TCP, and ``load_balancer.https``
switches the WebSocket one in place to TLS (ModifyListener: protocol, certificate,
policy), the target group staying TCP. Each TCP listener gets the long idle timeout of
WebSockets (``tcp.idle_timeout.seconds`` = ``load_balancer.idle_timeout``, 60-6000 s; AWS's
default is 350 s). A TLS listener's idle timeout is fixed at 350 s by AWS and cannot be
set. ``rtmp-listener`` (TCP, RTMP) and ``udp-PORT-listener`` (UDP) when asked.

The certificate is resolved here, in preflight, for every balancer type (one resolver,
awslb/resources/certificates.py); the Classic kind reads the resolved ARN from
``net.facts[CERT_FACT]`` too, so both balancer types use the same certificate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.errors import InputError
from awslb.resources import elbv2
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.resources.certificates import CERT_FACT, resolve_certificate
from awslb.spec import LoadBalancerSection, StackSpec

SECURE = {"HTTPS", "TLS"}
COMPARED = ("protocol", "port", "certificate", "ssl_policy", "target_group")
IDLE_TIMEOUT = "tcp.idle_timeout.seconds"
TLS_IDLE_TIMEOUT = 350  # AWS's, fixed, on an NLB's TLS listeners


# -- the kind ----------------------------------------------------------------------------

def listener_plan(lb: LoadBalancerSection) -> list[tuple[str, int, str, bool]]:
    """(logical id, port, target group id, is HTTPS) for each listener the balancer wants."""
    https = lb.https
    switched = (https.from_port or lb.ws_port) if https else None
    out = []
    for logical_id, port, tg in (("ws-listener", lb.ws_port, "ws-tg"), ("http-listener", lb.http_port, "http-tg")):
        if port is None:
            continue
        is_https = https is not None and port == switched
        out.append((logical_id, https.port if https and is_https else port, tg, is_https))
    return out


def plan(lb: LoadBalancerSection) -> list[tuple[str, str, int, str]]:
    """(logical id, protocol, port, target group id) of each listener of an ALB or an NLB."""
    secure, plain = ("TLS", "TCP") if lb.type == "network" else ("HTTPS", "HTTP")
    out = [(logical_id, secure if is_secure else plain, port, tg)
           for logical_id, port, tg, is_secure in listener_plan(lb)]
    if lb.type == "network":
        if lb.rtmp_port is not None:
            out.append(("rtmp-listener", "TCP", lb.rtmp_port, "rtmp-tg"))
        out += [(f"udp-{port}-listener", "UDP", port, f"udp-{port}-tg") for port in lb.udp_ports]
    return out


def listener_attributes(lb: LoadBalancerSection, protocol: str) -> dict[str, str]:
    """An NLB's TCP listener holds idle WebSockets for ``idle_timeout`` (AWS's default: 350 s)."""
    return {IDLE_TIMEOUT: str(lb.idle_timeout)} if lb.type == "network" and protocol == "TCP" else {}


class Listener(Kind):
    kind = "listener"
    label = "listener"
    rank = 50
    # A new balancer gets new listeners; the old ones go first (a target group serves
    # one balancer only).
    replace_on = ("load_balancer",)
    replace_first = False

    def preflight(self, aws: Any, spec: StackSpec, net: Network) -> dict[str, Any]:
        lb = spec.load_balancer
        if lb is None or lb.https is None:
            return {}
        if lb.type in elbv2.TYPES:
            from_port = lb.https.from_port or lb.ws_port
            if from_port not in (lb.ws_port, lb.http_port):
                raise InputError(f"load_balancer.https.from_port: the balancer has no listener on {from_port} "
                                 f"(WebSocket {lb.ws_port}" + (f", HTTP {lb.http_port})" if lb.http_port else ")"))
            ports = [port for _, port, _, _ in listener_plan(lb)]
            if len(set(ports)) != len(ports):
                raise InputError(f"load_balancer.https.port: {lb.https.port} is also the port of another listener")
        return {CERT_FACT: resolve_certificate(aws, lb.https)}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        lb = elbv2.application(spec)
        if lb is None or not lb.balancer:
            return []
        out = []
        for logical_id, protocol, port, tg in plan(lb):
            https = lb.https if protocol in SECURE else None
            out.append(Resource(self.kind, logical_id, f"{protocol}:{port}", {
                "load_balancer": Ref("alb", "arn"),
                "protocol": protocol,
                "port": port,
                "certificate": (net.facts.get(CERT_FACT) or https.certificate) if https else None,
                "ssl_policy": https.ssl_policy if https else None,
                "target_group": Ref(tg, "arn"),
                "attributes": listener_attributes(lb, protocol),
                "tags": names.tags(spec.name, logical_id, names.physical(spec.name, logical_id),
                                   spec.stack.tags),
            }))
        return out

    def discover(self, ctx: Context) -> list[Observed]:
        out = []
        for lb, _tags in elbv2.stack_albs(ctx.aws, ctx.stack):
            listeners = ctx.aws.paginate("elbv2", "describe_listeners", "Listeners",
                                         LoadBalancerArn=lb["LoadBalancerArn"])
            for ln, tags in elbv2.of_stack(ctx.aws, listeners, "ListenerArn", ctx.stack):
                out.append(self._observed(ctx, ln, tags))
        return out

    def _observed(self, ctx: Context, ln: Mapping[str, Any], tags: Mapping[str, str]) -> Observed:
        secure = ln.get("Protocol") in SECURE
        # Only secure listeners have a policy and certificates (moto reports a policy on all).
        certs = (ln.get("Certificates") or []) if secure else []
        default = next((c for c in certs if c.get("IsDefault")), certs[0] if certs else {})
        attrs = {
            "arn": ln["ListenerArn"],
            "load_balancer": ln["LoadBalancerArn"],
            "protocol": ln.get("Protocol"),
            "port": ln.get("Port"),
            "certificate": default.get("CertificateArn"),
            "ssl_policy": ln.get("SslPolicy") if secure else None,
            "target_group": _forward_target(ln.get("DefaultActions") or []),
            "attributes": {},
        }
        if ln.get("Protocol") == "TCP":  # only TCP listeners (an NLB's) have the idle timeout awslb sets
            found = ctx.aws.find("elbv2", "describe_listener_attributes", ListenerArn=ln["ListenerArn"]) or {}
            attrs["attributes"] = elbv2.attributes(found.get("Attributes", []), {IDLE_TIMEOUT})
        name = f"{attrs['protocol']}:{attrs['port']}"
        return Observed(self.kind, tags.get(names.TAG_ID, name), ln["ListenerArn"], name, attrs)

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out: list[str] = []
        for key in COMPARED:
            out += changed(key, props[key], a.get(key))
        have = a.get("attributes") or {}
        for key, want in (props.get("attributes") or {}).items():
            out += changed(key, want, have.get(key))
        return out

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        ln = ctx.aws.call("elbv2", "create_listener", LoadBalancerArn=props["load_balancer"],
                          **_listener_params(props), Tags=names.tag_list(props["tags"]))["Listeners"][0]
        _set_attributes(ctx, ln["ListenerArn"], props.get("attributes") or {})
        return self._made(res, props, ln["ListenerArn"])

    def _made(self, res: Resource, props: Mapping[str, Any], arn: str) -> Observed:
        attrs = {"arn": arn, "load_balancer": props["load_balancer"], **{k: props[k] for k in COMPARED},
                 "attributes": dict(props.get("attributes") or {})}
        return Observed(self.kind, res.id, arn, res.name, attrs)

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        # In place: the guide's "Edit" on the listener (HTTP 8080 -> HTTPS 8443 and back; an
        # NLB's TCP -> TLS).
        if any(props[k] != obs.attrs.get(k) for k in COMPARED):
            ctx.aws.call("elbv2", "modify_listener", ListenerArn=obs.physical_id, **_listener_params(props))
        have = obs.attrs.get("attributes") or {}
        _set_attributes(ctx, obs.physical_id,
                        {k: v for k, v in (props.get("attributes") or {}).items() if have.get(k) != v})
        return self._made(res, props, obs.physical_id)

    def delete(self, ctx: Context, obs: Observed) -> None:
        ctx.aws.find("elbv2", "delete_listener", ListenerArn=obs.physical_id)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        a = obs.attrs
        found = ctx.aws.find("elbv2", "describe_load_balancers", LoadBalancerArns=[a["load_balancer"]]) or {}
        dns = next((lb.get("DNSName") for lb in found.get("LoadBalancers", [])), None)
        secure = a.get("protocol") in SECURE
        tg = str(a.get("target_group") or "")
        out: dict[str, Any] = {"listener": f"{a.get('protocol')}:{a.get('port')}",
                               # arn:...:targetgroup/NAME/ID
                               "forwards_to": tg.split("/")[1] if tg.count("/") == 2 else tg or None}
        scheme = _scheme(obs.id, secure)
        if dns and scheme:
            out["url"] = f"{scheme}://{dns}:{a.get('port')}"
        if a.get("protocol") == "TLS":
            out["idle_timeout"] = f"{TLS_IDLE_TIMEOUT} (fixed by AWS on TLS listeners)"
        elif (a.get("attributes") or {}).get(IDLE_TIMEOUT):
            out["idle_timeout"] = a["attributes"][IDLE_TIMEOUT]
        if secure:
            out["certificate"] = a.get("certificate")
            out["ssl_policy"] = a.get("ssl_policy")
        return out

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags",
                     "elasticloadbalancing:DescribeListenerAttributes",
                     "elasticloadbalancing:DescribeLoadBalancers", "acm:ListCertificates",
                     "acm:DescribeCertificate", "iam:ListServerCertificates"],
            "write": ["elasticloadbalancing:CreateListener", "elasticloadbalancing:AddTags",
                      "elasticloadbalancing:ModifyListener", "elasticloadbalancing:DeleteListener",
                      "elasticloadbalancing:ModifyListenerAttributes"],
        }


def _scheme(logical_id: str, secure: bool) -> str | None:
    if logical_id == "ws-listener":
        return "wss" if secure else "ws"
    if logical_id == "http-listener":
        return "https" if secure else "http"
    return "rtmp" if logical_id == "rtmp-listener" else None


def _set_attributes(ctx: Context, arn: str, attributes: Mapping[str, str]) -> None:
    if attributes:
        ctx.aws.call("elbv2", "modify_listener_attributes", ListenerArn=arn,
                     Attributes=[{"Key": k, "Value": v} for k, v in sorted(attributes.items())])


def _listener_params(props: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "Protocol": props["protocol"], "Port": props["port"],
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": props["target_group"]}],
    }
    if props["protocol"] in SECURE:
        params["Certificates"] = [{"CertificateArn": props["certificate"]}]
        params["SslPolicy"] = props["ssl_policy"]
    return params


def _forward_target(actions: list[Mapping[str, Any]]) -> str | None:
    for action in actions:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            return str(action["TargetGroupArn"])
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if len(groups) == 1:
            return str(groups[0]["TargetGroupArn"])
    return None
