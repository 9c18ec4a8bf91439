"""The Network Load Balancer, pure: spec keys, flags -> section, what the kinds want, replacement."""

from typing import Any

import pytest

from awslb import spec, steps
from awslb.errors import InputError, UsageError
from awslb.resources.base import Network, Observed, Ref
from awslb.resources.certificates import CERT_FACT
from awslb.resources.listener import Listener
from awslb.resources.load_balancer import LoadBalancer
from awslb.resources.security_group import SecurityGroup
from awslb.resources.target_group import TARGETS_FACT, TargetGroup

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/x"
NET = Network("us-east-1", "vpc-1", ("subnet-a", "subnet-b"), ("us-east-1a", "us-east-1b"),
              {TARGETS_FACT: [], CERT_FACT: CERT})
KINDS = (TargetGroup(), LoadBalancer(), Listener())


def stack(**lb: Any) -> spec.StackSpec:
    return spec.parse({"stack": {"name": "s"}, "load_balancer": {"type": "network", **lb}})


def wanted(s: spec.StackSpec) -> dict[str, Any]:
    return {r.id: r for k in KINDS for r in k.desired(s, NET)}


# -- spec keys ------------------------------------------------------------------------------

@pytest.mark.parametrize(("lb", "message"), [
    ({"type": "network", "idle_timeout": 59}, "load_balancer.idle_timeout: a Network Load Balancer's TCP idle "
                                              "timeout is 60-6000 s: 59"),
    ({"type": "network", "idle_timeout": 6001}, "load_balancer.idle_timeout:"),
    ({"type": "application", "idle_timeout": 4001}, "load_balancer.idle_timeout: at most 4000 s on an "
                                                    "Application Load Balancer"),
    ({"type": "application", "rtmp_port": 1935}, "load_balancer.rtmp_port: only a Network Load Balancer"),
    ({"type": "classic", "udp_ports": [5000]}, "load_balancer.udp_ports: only a Network Load Balancer"),
    ({"type": "network", "rtmp_port": 8080}, "load_balancer.rtmp_port: 8080 is also the port of another listener"),
    ({"type": "network", "udp_ports": [5000, 5000]}, "load_balancer.udp_ports: a port is given twice"),
    ({"type": "network", "udp_ports": [0]}, "load_balancer.udp_ports.0:"),
    ({"type": "network", "udp_ports": ["5000"]}, "load_balancer.udp_ports.0:"),
    ({"type": "network", "https": {"certificate": CERT, "port": 1935}, "rtmp_port": 1935},
     "load_balancer.https.port: 1935 is also the port of another listener"),
    ({"type": "network", "https": {"certificate": CERT, "ssl_policy": "ELBSecurityPolicy-2011-08"}},
     "load_balancer.https.ssl_policy: not a Network Load Balancer security policy"),
    ({"type": "network", "name": "internal-x"}, "load_balancer.name: a Network Load Balancer's name may not"),
    ({"type": "network", "name": "bad name"}, "load_balancer.name: not a load balancer name"),
    ({"type": "gateway"}, "load_balancer.type:"),
])
def test_bad_network_keys_name_the_key(lb: dict, message: str) -> None:
    with pytest.raises(InputError) as err:
        spec.parse({"stack": {"name": "s"}, "load_balancer": lb})
    assert err.value.message.startswith(f"stack file: {message}"), err.value.message
    assert "\n" not in err.value.message


def test_autoscaling_nlb_key() -> None:
    with pytest.raises(InputError, match=r"autoscaling\.nlb: not a load balancer name"):
        spec.section(spec.AutoscalingSection, {"nlb": "a b"}, "autoscaling")
    with pytest.raises(InputError, match=r"autoscaling\.nlb: give one of"):
        spec.section(spec.AutoscalingSection, {"nlb": "a", "alb": "b"}, "autoscaling")


# -- flags -> section -----------------------------------------------------------------------

NOTHING: dict[str, Any] = {"stack": {"name": "edge"}}
NLB = {"type": "network", "balancer": True, "ws_port": 8080, "rtmp_port": 1935, "udp_ports": [5000],
       "https": {"port": 8443, "certificate": CERT}}
EDGE = {"stack": {"name": "edge"}, "load_balancer": NLB}


@pytest.mark.parametrize(("recorded", "flags", "expected"), [
    (NOTHING, {"ws_port": 8080}, {"type": "network", "balancer": True, "ws_port": 8080}),
    (NOTHING, {"wss_port": 9443, "certificate": CERT},
     {"type": "network", "balancer": True, "https": {"port": 9443, "certificate": CERT}}),
    (NOTHING, {"udp_port": [5000, 5001, 5000], "rtmp_port": 1935},
     {"type": "network", "balancer": True, "udp_ports": [5000, 5001], "rtmp_port": 1935}),
    # A bare create-nlb keeps what the stack has (`listener https` included).
    (EDGE, {}, NLB),
    # 0 turns the optional listeners off.
    (EDGE, {"rtmp_port": 0, "udp_port": [0]}, {k: v for k, v in NLB.items() if k not in ("rtmp_port", "udp_ports")}),
    (EDGE, {"idle_timeout": 900, "sticky": False}, {**NLB, "idle_timeout": 900, "stickiness": False}),
    # An ALB's cookie settings do not carry over to the NLB that replaces it.
    ({"stack": {"name": "e"}, "load_balancer": {"type": "application", "cookie_ttl": 60, "idle_timeout": 4000}},
     {}, {"type": "network", "balancer": True}),
])
def test_create_nlb_flags_to_section(recorded: dict, flags: dict, expected: dict) -> None:
    got = steps.SECTIONS["create-nlb"](recorded, flags)
    assert got == {"load_balancer": expected}
    spec.section(spec.LoadBalancerSection, got["load_balancer"], "load_balancer")


@pytest.mark.parametrize(("recorded", "flags", "message"), [
    ({"stack": {"name": "e"}, "load_balancer": {"type": "classic"}}, {}, "--stack: the stack has a Classic"),
    (NOTHING, {"udp_port": [0, 5000]}, "--udp-port: 0 removes the UDP listeners; give it alone"),
    (NOTHING, {"ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}, "--ssl-policy: applies to the SSL"),
    (EDGE, {"idle_timeout": 900, "rtmp_port": 0}, "--idle-timeout: an NLB's TLS listener"),
])
def test_create_nlb_flag_errors(recorded: dict, flags: dict, message: str) -> None:
    with pytest.raises(UsageError) as err:
        steps.SECTIONS["create-nlb"](recorded, flags)
    assert err.value.message.startswith(message)


def test_asg_nlb_flag_replaces_the_other_balancer_flags() -> None:
    recorded = {"stack": {"name": "e"}, "launch": {"ami": "ami-12345678"},
                "autoscaling": {"alb": "old", "target_groups": ["tg"]}}
    got = steps.SECTIONS["asg create"](recorded, {"nlb": "edge-nlb"})["autoscaling"]
    assert got["nlb"] == "edge-nlb" and "alb" not in got and "target_groups" not in got
    with pytest.raises(UsageError, match="--nlb: give one of --alb, --nlb"):
        steps.SECTIONS["asg create"](recorded, {"alb": "a", "nlb": "b"})
    assert steps.rename("stack: autoscaling.nlb: x", steps.FLAGS["asg create"]) == "--nlb: x"
    assert steps.rename("stack: load_balancer.udp_ports: x", steps.FLAGS["create-nlb"]) == "--udp-port: x"


# -- what the kinds want ----------------------------------------------------------------------

def test_the_nlb_the_kinds_want() -> None:
    by_id = wanted(stack(rtmp_port=1935, udp_ports=[5000], http_port=8081))
    assert set(by_id) == {"alb", "ws-tg", "http-tg", "rtmp-tg", "udp-5000-tg", "ws-listener", "http-listener",
                          "rtmp-listener", "udp-5000-listener"}
    lb = by_id["alb"]
    assert (lb.name, lb.props["type"]) == ("s-nlb", "network")
    assert lb.props["security_groups"] == [Ref("lb-sg", "id")]
    assert lb.props["attributes"] == {"load_balancing.cross_zone.enabled": "true"}
    ws = by_id["ws-tg"].props
    assert (ws["protocol"], ws["port"], ws["protocol_version"]) == ("TCP", 8080, None)
    assert ws["attributes"] == {"stickiness.enabled": "true", "stickiness.type": "source_ip",
                                "deregistration_delay.timeout_seconds": "300", "preserve_client_ip.enabled": "true"}
    assert (ws["health"]["protocol"], ws["health"]["port"], ws["health"]["path"]) == ("HTTP", "8081", "/?action=stat")
    assert (by_id["udp-5000-tg"].props["protocol"], by_id["rtmp-tg"].props["port"]) == ("UDP", 1935)
    listeners = {i: (r.props["protocol"], r.props["port"], r.props["attributes"]) for i, r in by_id.items()
                 if r.kind == "listener"}
    idle = {"tcp.idle_timeout.seconds": "3600"}
    assert listeners == {"ws-listener": ("TCP", 8080, idle), "http-listener": ("TCP", 8081, idle),
                         "rtmp-listener": ("TCP", 1935, idle), "udp-5000-listener": ("UDP", 5000, {})}


def test_https_makes_the_websocket_listener_tls_without_an_idle_timeout() -> None:
    by_id = wanted(stack(https={"certificate": CERT}))
    ws = by_id["ws-listener"].props
    assert (ws["protocol"], ws["port"], ws["certificate"], ws["ssl_policy"], ws["attributes"]) == \
        ("TLS", 8443, CERT, "ELBSecurityPolicy-TLS13-1-2-2021-06", {})
    assert by_id["ws-tg"].props["protocol"] == "TCP"  # TLS ends at the balancer


def test_the_balancer_group_opens_tls_rtmp_and_udp() -> None:
    s = stack(https={"certificate": CERT}, rtmp_port=1935, udp_ports=[5000])
    groups = {r.id: r.props["ingress"] for r in SecurityGroup().desired(s, NET)}
    lb_rules = {(p, lo) for p, lo, _, _ in groups["lb-sg"]}
    assert lb_rules == {("tcp", 8443), ("tcp", 1935), ("udp", 5000)}  # 8080 became TLS 8443
    from_lb = {(p, lo) for p, lo, _, src in groups["instance-sg"] if src == Ref("lb-sg", "id")}
    assert {("tcp", 1935), ("udp", 5000)} <= from_lb


# -- replacement ---------------------------------------------------------------------------------

def observed(**attrs: Any) -> Observed:
    base = {"name": "s-nlb", "type": "network", "scheme": "internet-facing", "subnets": ["subnet-a", "subnet-b"],
            "security_groups": ["sg-1"]}
    return Observed("load_balancer", "alb", "arn:lb", "s-nlb", {**base, **attrs})


@pytest.mark.parametrize(("attrs", "reason"), [
    ({}, None),
    ({"subnets": ["subnet-a"]}, "subnets: [subnet-a] → [subnet-a, subnet-b]"),
    ({"scheme": "internal"}, "scheme: internal → internet-facing"),
    ({"security_groups": []}, "security_groups: an NLB created without security groups can never get any"),
    ({"type": "application", "name": "s-alb"}, "type: application → network"),
])
def test_what_replaces_an_nlb(attrs: dict, reason: str | None) -> None:
    [res] = LoadBalancer().desired(stack(), NET)
    props = {**res.props, "security_groups": ["sg-1"]}
    got = LoadBalancer().replace_reasons(res, props, observed(**attrs))
    if reason is None:
        assert got == []
    else:
        assert reason in got, got


def test_an_alb_recorded_before_nlbs_is_not_replaced() -> None:
    s = spec.parse({"stack": {"name": "s"}, "load_balancer": {"type": "application"}})
    [res] = LoadBalancer().desired(s, NET)
    obs = observed(type=None, name="s-alb")
    del obs.attrs["type"]
    obs.name = "s-alb"
    assert LoadBalancer().replace_reasons(res, {**res.props, "security_groups": ["sg-1"]}, obs) == []


def test_other_balancer_steps_on_an_nlb_stack() -> None:
    # `target-group create` keeps the NLB (TCP groups); `create-elb` names what the stack has.
    got = steps.SECTIONS["target-group create"](EDGE, {"port": 9090})["load_balancer"]
    assert (got["type"], got["ws_port"]) == ("network", 9090)
    with pytest.raises(UsageError, match="--stack: the stack has a Network Load Balancer"):
        steps.SECTIONS["create-elb"](EDGE, {})
