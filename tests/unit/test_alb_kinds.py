"""The ALB kinds, pure: what a stack wants, certificate names, listener switching."""

import pytest

from awslb import spec
from awslb.resources.base import Network, Observed, Ref
from awslb.resources.certificates import CERT_FACT, covers
from awslb.resources.listener import Listener, listener_plan
from awslb.resources.load_balancer import LoadBalancer
from awslb.resources.target_group import TARGETS_FACT, TargetGroup

NET = Network("us-east-1", "vpc-1", ("subnet-a", "subnet-b"), ("us-east-1a", "us-east-1b"),
              {TARGETS_FACT: ["i-0123456789abcdef0"], CERT_FACT: "arn:aws:acm:us-east-1:123456789012:certificate/x"})
KINDS = (TargetGroup(), LoadBalancer(), Listener())


def stack(**lb) -> spec.StackSpec:
    return spec.parse({"stack": {"name": "s"}, "load_balancer": lb})


@pytest.mark.parametrize("data", [{"stack": {"name": "s"}}, {"stack": {"name": "s"}, "load_balancer": {"type": "classic"}}])
def test_nothing_without_an_application_balancer(data) -> None:
    s = spec.parse(data)
    assert [r for k in KINDS for r in k.desired(s, NET)] == []


def test_the_guide_defaults() -> None:
    s = stack(http_port=8081)
    by_id = {r.id: r for k in KINDS for r in k.desired(s, NET)}
    assert set(by_id) == {"ws-tg", "http-tg", "alb", "ws-listener", "http-listener"}
    ws = by_id["ws-tg"].props
    assert (ws["protocol"], ws["port"], ws["protocol_version"], ws["target_type"]) == ("HTTP", 8080, "HTTP1", "instance")
    assert (ws["health"]["port"], ws["health"]["path"], ws["health"]["matcher"]) == ("8081", "/?action=stat", "200")
    assert ws["attributes"] == {"stickiness.enabled": "true", "stickiness.type": "lb_cookie",
                                "stickiness.lb_cookie.duration_seconds": "86400",
                                "deregistration_delay.timeout_seconds": "300"}
    assert ws["targets"] == ["i-0123456789abcdef0"]
    alb = by_id["alb"].props
    assert alb["scheme"] == "internet-facing" and alb["security_groups"] == [Ref("lb-sg", "id")]
    assert alb["attributes"]["idle_timeout.timeout_seconds"] == "3600"
    assert alb["attributes"]["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert by_id["ws-listener"].props["protocol"] == "HTTP" and by_id["ws-listener"].props["port"] == 8080
    assert by_id["ws-listener"].props["target_group"] == Ref("ws-tg", "arn")
    assert by_id["http-listener"].props["target_group"] == Ref("http-tg", "arn")


def test_target_groups_alone() -> None:
    s = stack(balancer=False, target_group="my-ws")
    ids = {(r.id, r.name) for k in KINDS for r in k.desired(s, NET)}
    assert ids == {("ws-tg", "my-ws")}


def test_https_switches_the_websocket_listener() -> None:
    s = stack(http_port=8081, https={"domain": "media.example.com"})
    by_id = {r.id: r for r in Listener().desired(s, NET)}
    ws = by_id["ws-listener"].props
    assert (ws["protocol"], ws["port"], ws["certificate"]) == ("HTTPS", 8443, NET.facts[CERT_FACT])
    assert ws["ssl_policy"] == spec.DEFAULT_SSL_POLICY
    assert by_id["http-listener"].props["protocol"] == "HTTP"
    lb = stack(http_port=8081, https={"certificate": "arn:aws:acm:us-east-1:123456789012:certificate/y",
                                      "from_port": 8081, "port": 8444}).load_balancer
    assert listener_plan(lb) == [("ws-listener", 8080, "ws-tg", False), ("http-listener", 8444, "http-tg", True)]


def test_listener_diff_is_in_place() -> None:
    s = stack(https={"domain": "media.example.com"})
    res = Listener().desired(s, NET)[0]
    obs = Observed("listener", "ws-listener", "arn:l", "HTTP:8080", {
        "arn": "arn:l", "load_balancer": "arn:lb", "protocol": "HTTP", "port": 8080, "certificate": None,
        "ssl_policy": None, "target_group": "arn:tg"})
    props = {**res.props, "load_balancer": "arn:lb", "target_group": "arn:tg"}
    changes = Listener().diff(res, props, obs)
    assert changes and not any("replace" in c for c in changes)
    assert any(c.startswith("protocol: HTTP → HTTPS") for c in changes)


@pytest.mark.parametrize("names, domain, ok", [
    (["media.example.com"], "media.example.com", True),
    (["MEDIA.example.com"], "media.example.com.", True),
    (["*.example.com"], "media.example.com", True),
    (["*.example.com"], "a.media.example.com", False),
    (["*.example.com"], "example.com", False),
    (["media.example.com"], "other.example.com", False),
    (["example.com", "*.media.example.com"], "wcs.media.example.com", True),
])
def test_certificate_covers(names, domain, ok) -> None:
    assert covers(names, domain) is ok


@pytest.mark.parametrize("lb, needle", [
    ({"name": "-bad"}, "load_balancer.name"),
    ({"name": "x" * 33}, "load_balancer.name"),
    ({"name": "internal-wcs"}, "load_balancer.name"),
    ({"target_group": "a_b"}, "load_balancer.target_group"),
    ({"health_check": {"path": "stat"}}, "load_balancer.health_check.path"),
    ({"ws_port": 70000}, "load_balancer.ws_port"),
    ({"targets": ["i-xyz"]}, "load_balancer.targets"),
])
def test_bad_sections(lb, needle) -> None:
    with pytest.raises(Exception) as exc:
        stack(**lb)
    assert needle in str(exc.value)
