"""Pure parts of the Classic flow: target strings, listeners, diffs, flag names."""

from __future__ import annotations

import pytest

from awslb import spec
from awslb.resources.base import Network, Observed
from awslb.resources.certificates import covers
from awslb.resources.classic_lb import ClassicLoadBalancer, classic_port_ok, listeners_for
from awslb.resources.image import Image
from awslb.steps import rename

NET = Network("us-east-1", "vpc-1", ("subnet-a", "subnet-b"), ("us-east-1a", "us-east-1b"),
              facts={"classic_lb.certificate": "arn:cert", "classic_lb.targets": ["i-0000000000000000a"],
                     "classic_lb.subnets": ["subnet-a", "subnet-b"],
                     "image.instance": "i-0000000000000000a", "image.instance_name": "wcs-configured"})


@pytest.mark.parametrize("text, want", [
    ("HTTP:8081/?action=stat", {"protocol": "HTTP", "port": 8081, "path": "/?action=stat"}),
    ("https:8444/?action=stat", {"protocol": "HTTPS", "port": 8444, "path": "/?action=stat"}),
    (" HTTP:80/ ", {"protocol": "HTTP", "port": 80, "path": "/"}),
])
def test_health_targets(text, want) -> None:
    assert spec.parse_health_target(text) == want


@pytest.mark.parametrize("text", ["HTTP:8081", "TCP:8080", "HTTP:0/", "HTTP:70000/x", "HTTP:8081/a b", "8081/x"])
def test_bad_health_targets(text) -> None:
    with pytest.raises(ValueError, match="PROTOCOL:PORT/PATH"):
        spec.parse_health_target(text)


def lb_spec(**lb) -> spec.StackSpec:
    return spec.parse({"stack": {"name": "s"}, "load_balancer": {"type": "classic", **lb}})


def test_listeners_follow_the_guide() -> None:
    lb = lb_spec(http_port=8081, https_port=8444, https={"certificate": "arn:aws:acm:us-east-1:123456789012:"
                                                                        "certificate/x"}).load_balancer
    assert listeners_for(lb, "arn:cert") == [
        ["TCP", 8080, "TCP", 8080, None], ["HTTP", 8081, "HTTP", 8081, None],
        ["SSL", 8443, "TCP", 8080, "arn:cert"], ["HTTPS", 8444, "HTTP", 8081, "arn:cert"]]
    assert listeners_for(lb_spec().load_balancer, None) == [["TCP", 8080, "TCP", 8080, None]]


def test_classic_ports() -> None:
    assert [p for p in (25, 80, 443, 465, 587, 1023, 1024, 8080, 65535, 22) if classic_port_ok(p)] == [
        25, 80, 443, 465, 587, 1024, 8080, 65535]


def test_wildcard_certificates_cover_one_level() -> None:
    assert covers(["*.example.com"], "media.example.com")
    assert not covers(["*.example.com"], "a.media.example.com")
    assert not covers(["*.example.com"], "example.com")
    assert covers(["media.example.com"], "media.example.com")


def test_classic_only_when_asked() -> None:
    kind = ClassicLoadBalancer()
    assert kind.desired(spec.parse({"load_balancer": {"type": "application"}}), NET) == []
    assert kind.desired(spec.parse({}), NET) == []
    [res] = kind.desired(lb_spec(), NET)
    assert res.id == "classic-lb" and res.name == "s-elb"


def observed_from(res) -> Observed:
    p = res.props
    return Observed("classic_lb", res.id, res.name, res.name, {
        "name": res.name, "dns_name": "x", "scheme": p["scheme"], "subnets": p["subnets"],
        "security_groups": ["sg-1"], "listeners": p["listeners"], "listener_policies": p["listener_policies"],
        "sticky_policies": {p["sticky_policy"]: p["cookie_ttl"]}, "other_policies": [],
        "health_check": p["health_check"], "attributes": p["attributes"], "instances": p["targets"],
        "managed_targets": p["targets"],
    })


def test_diff_is_empty_when_equal_and_names_each_change() -> None:
    kind = ClassicLoadBalancer()
    [res] = kind.desired(lb_spec(http_port=8081), NET)
    props = {**res.props, "security_groups": ["sg-1"]}
    obs = observed_from(res)
    assert kind.diff(res, props, obs) == []
    obs.attrs["attributes"] = {**obs.attrs["attributes"], "idle_timeout": 60}
    obs.attrs["listener_policies"] = {**obs.attrs["listener_policies"], "8081": []}
    obs.attrs["instances"] = ["i-0000000000000000a", "i-00000000000000asg"]  # an ASG's instance: not ours
    assert kind.diff(res, props, obs) == ["policies of 8081: [] → [awslb-sticky-86400]", "idle timeout: 60 → 3600"]
    obs.attrs["scheme"] = "internal"
    assert kind.replace_reasons(res, props, obs) == ["scheme: internal → internet-facing"]


def test_dropped_target_is_deregistered_only_if_ours() -> None:
    kind = ClassicLoadBalancer()
    [res] = kind.desired(lb_spec(), NET)
    props = {**res.props, "security_groups": ["sg-1"], "targets": []}
    obs = observed_from(res)
    assert kind.diff(res, props, obs) == ["deregister i-0000000000000000a"]


def test_image_diff_reasons() -> None:
    kind = Image()
    s = spec.parse({"stack": {"name": "s"}, "image": {"from_instance": "wcs-configured", "copy_to": ["eu-west-1"]}})
    [res] = kind.desired(s, NET)
    assert res.props["name"] == "s-image" and res.props["tags"]["awslb:source-instance"] == "i-0000000000000000a"
    obs = Observed("image", "image", "ami-1", "s-image", {"id": "ami-1", "name": "s-image", "state": "available",
                                                         "source_instance": "i-0000000000000000a",
                                                         "copies": {"eu-west-1": "ami-2"}})
    assert kind.diff(res, res.props, obs) == []
    obs.attrs["copies"] = {"eu-west-1": None}
    assert kind.diff(res, res.props, obs) == ["copy to eu-west-1"]
    obs.attrs.update(source_instance="i-0000000000000000b", state="failed")
    assert kind.diff(res, res.props, obs)[:2] == [
        "ami-1 is failed (a new image)",
        "source instance: i-0000000000000000b → i-0000000000000000a (a new image; the current one is kept)"]
    assert kind.desired(spec.parse({"image": {"id": "ami-12345678"}}), NET) == []


@pytest.mark.parametrize("message, want", [
    ("load_balancer.https.certificate: no such certificate", "--certificate: no such certificate"),
    ("stack: load_balancer.ws_port: bad", "--ws-port: bad"),
    ("load_balancer.health_check.timeout: too long", "--health-check (load_balancer.health_check.timeout): too long"),
    ("stack.subnets: none", "stack.subnets: none"),
])
def test_errors_name_the_flag(message, want) -> None:
    flags = {"load_balancer.https.certificate": "--certificate", "load_balancer.https": "--certificate",
             "load_balancer.ws_port": "--ws-port", "load_balancer.health_check": "--health-check"}
    assert rename(message, flags) == want


@pytest.mark.parametrize("data, needle", [
    ({"load_balancer": {"health_check": "HTTP:8081"}}, "load_balancer.health_check: expected PROTOCOL:PORT/PATH"),
    ({"load_balancer": {"name": "a" * 33}}, "load_balancer.name: not a load balancer name"),
    ({"image": {"from_instance": "x", "name": "ab"}}, "image.name: an image name is 3-128"),
    ({"image": {"from_instance": "x", "copy_to": ["eu-west-1", "eu-west-1"]}}, "image.copy_to: a region is listed twice"),
])
def test_new_keys_are_validated(data, needle) -> None:
    with pytest.raises(Exception, match=needle.replace("(", r"\(")):
        spec.parse(data)
