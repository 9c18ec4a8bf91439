"""Replacement and no-gap ordering in the plan, as data (no AWS).

A property a kind cannot change in place makes three steps: create the new resource,
re-point what depends on it, delete the old one. A security group that both opens and
closes ports opens first and closes after the listener changed.
"""

from typing import Any

from awslb import resources
from awslb.plan import Plan, make_plan
from awslb.resources.base import Kind, Observed, Ref, Resource, alt_name


class Fake(Kind):
    label = "fake"

    def __init__(self, kind: str, rank: int, replace_on: tuple[str, ...] = (), **flags: Any):
        self.kind = kind  # type: ignore[misc]
        self.rank = rank  # type: ignore[misc]
        self.replace_on = replace_on  # type: ignore[misc]
        for k, v in flags.items():
            setattr(self, k, v)

    def diff(self, res: Resource, props: Any, obs: Observed) -> list[str]:
        return [f"{k}: {obs.attrs.get(k)} → {v}" for k, v in props.items() if obs.attrs.get(k) != v]


KINDS = {
    "lt": Fake("lt", 60, ("name",)),
    "asg": Fake("asg", 70),
    "alb": Fake("alb", 40, ("scheme",), unique_names=True, client_facing=True),
    "ln": Fake("ln", 50, ("lb",), replace_first=False),
}


def keyed(plan: Plan) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(s.action, s.key, s.deps) for s in plan.steps]


def test_a_renamed_launch_template_is_replaced_and_the_group_re_pointed_before_the_old_goes() -> None:
    # The known gap: the group's reference used to resolve to the old template: "no change".
    lt = Resource("lt", "lt", "new-name", {"image": "ami-1"})
    asg = Resource("asg", "asg", "g", {"launch": Ref("lt", "id")})
    observed = {"lt": Observed("lt", "lt", "lt-old", "old-name", {"id": "lt-old", "image": "ami-1"}),
                "asg": Observed("asg", "asg", "g", "g", {"launch": "lt-old"})}
    plan = make_plan("s", [lt, asg], observed, KINDS)
    assert keyed(plan) == [
        ("replace", "lt", ()),
        ("update", "asg", ("lt",)),
        ("delete", "lt#delete", ("lt", "asg")),
    ]
    assert plan.steps[0].reason == "name: old-name → new-name"
    assert plan.destructive and plan.count("replace") == 1
    assert "1 to replace" in plan.summary()


def test_an_unchanged_template_leaves_the_group_alone() -> None:
    lt = Resource("lt", "lt", "n", {"image": "ami-1"})
    asg = Resource("asg", "asg", "g", {"launch": Ref("lt", "id")})
    observed = {"lt": Observed("lt", "lt", "lt-1", "n", {"id": "lt-1", "image": "ami-1"}),
                "asg": Observed("asg", "asg", "g", "g", {"launch": "lt-1"})}
    assert [s.action for s in make_plan("s", [lt, asg], observed, KINDS).steps] == ["noop", "noop"]


def test_a_balancer_replacement_deletes_old_listeners_first_and_is_client_facing() -> None:
    alb = Resource("alb", "alb", "edge-alb", {"scheme": "internal"})
    ln = Resource("ln", "ws", "HTTP:8080", {"lb": Ref("alb", "arn")})
    observed = {"alb": Observed("alb", "alb", "arn-1", "edge-alb", {"arn": "arn-1", "scheme": "internet-facing"}),
                "ws": Observed("ln", "ws", "ln-1", "HTTP:8080", {"lb": "arn-1"})}
    plan = make_plan("s", [alb, ln], observed, KINDS)
    assert keyed(plan) == [
        ("replace", "alb", ()),
        ("replace", "ws", ("alb", "ws#delete")),
        ("delete", "alb#delete", ("alb", "ws")),
        ("delete", "ws#delete", ("alb",)),
    ]
    assert [s.id for s in plan.client_replacements(KINDS)] == ["alb"]
    assert plan.steps[0].reason == "scheme: internet-facing → internal; made as edge-alb-r while the old one holds edge-alb"
    assert plan.steps[0].name == "edge-alb-r"


def test_a_replacement_under_the_same_unique_name_takes_the_alternate_one() -> None:
    kind = KINDS["alb"]
    res = Resource("alb", "alb", "edge-alb", {})
    assert kind.new_name(res, Observed("alb", "alb", "a", "edge-alb")) == alt_name("edge-alb") == "edge-alb-r"
    assert kind.new_name(res, Observed("alb", "alb", "a", "edge-alb-r")) == "edge-alb"
    assert kind.same_name("edge-alb", "edge-alb-r")
    assert kind.replace_reasons(res, {"scheme": "x"}, Observed("alb", "alb", "a", "edge-alb-r", {"scheme": "x"})) == []


def test_step_commands_converge_only_their_selection_but_re_point_dependents() -> None:
    lt = Resource("lt", "lt", "new-name", {})
    asg = Resource("asg", "asg", "g", {"launch": Ref("lt", "id"), "min": 2})
    observed = {"lt": Observed("lt", "lt", "lt-old", "old-name", {"id": "lt-old"}),
                "asg": Observed("asg", "asg", "g", "g", {"launch": "lt-old", "min": 1})}
    plan = make_plan("s", [lt, asg], observed, KINDS, only={"lt"}, prune_kinds={"lt"})
    assert [(s.action, s.key) for s in plan.steps] == [("replace", "lt"), ("update", "asg"), ("delete", "lt#delete")]
    # Without the replacement, the group is not this command's business.
    observed["lt"] = Observed("lt", "lt", "lt-old", "new-name", {"id": "lt-old"})
    plan = make_plan("s", [lt, asg], observed, KINDS, only={"lt"}, prune_kinds={"lt"})
    assert [(s.action, s.key) for s in plan.steps] == [("noop", "lt")]


def test_orphans_of_other_sections_stay_with_prune_kinds() -> None:
    observed = {"old-lt": Observed("lt", "old-lt", "x", "x"), "asg": Observed("asg", "asg", "g", "g")}
    plan = make_plan("s", [], observed, KINDS, only=set(), prune_kinds={"lt"})
    assert [(s.action, s.id) for s in plan.steps] == [("delete", "old-lt")]


def test_listener_https_opens_the_new_port_before_the_listener_changes_and_closes_the_old_after() -> None:
    kinds = resources.registry()
    sg = Resource("security_group", "lb-sg", "edge-balancer",
                  {"vpc_id": "vpc-1", "ingress": [["tcp", 8443, 8443, "0.0.0.0/0"]]})
    ln = Resource("listener", "ws-listener", "HTTPS:8443",
                  {"load_balancer": "arn-lb", "protocol": "HTTPS", "port": 8443, "certificate": "c",
                   "ssl_policy": "p", "target_group": "arn-tg"}, deps=("lb-sg",))
    observed = {
        "lb-sg": Observed("security_group", "lb-sg", "sg-1", "edge-balancer",
                          {"id": "sg-1", "vpc_id": "vpc-1", "ingress": [("tcp", 8080, 8080, "0.0.0.0/0")]}),
        "ws-listener": Observed("listener", "ws-listener", "ln-1", "HTTP:8080",
                                {"load_balancer": "arn-lb", "protocol": "HTTP", "port": 8080, "certificate": None,
                                 "ssl_policy": None, "target_group": "arn-tg"}),
    }
    plan = make_plan("s", [sg, ln], observed, kinds, prune=False)
    assert keyed(plan) == [
        ("update", "lb-sg", ()),
        ("update", "ws-listener", ("lb-sg",)),
        ("update", "lb-sg#close", ("lb-sg", "ws-listener")),
    ]
    opening = plan.steps[0].resource
    assert opening is not None
    assert sorted(map(tuple, opening.props["ingress"])) == [("tcp", 8080, 8080, "0.0.0.0/0"),
                                                             ("tcp", 8443, 8443, "0.0.0.0/0")]
    assert plan.steps[2].resource is sg


def test_a_re_pointed_dependent_gets_the_outputs_of_what_it_also_depends_on() -> None:
    # `launch-template create --name new` in a stack whose group is also attached to a target group.
    lt = Resource("lt", "lt", "new-name", {})
    tg = Resource("alb", "tg", "tg", {})
    asg = Resource("asg", "asg", "g", {"launch": Ref("lt", "id"), "tg": Ref("tg", "arn")})
    observed = {"lt": Observed("lt", "lt", "lt-old", "old-name", {"id": "lt-old"}),
                "tg": Observed("alb", "tg", "tg-1", "tg", {"arn": "tg-1"}),
                "asg": Observed("asg", "asg", "g", "g", {"launch": "lt-old", "tg": "tg-1"})}
    plan = make_plan("s", [tg, lt, asg], observed, KINDS, only={"lt"}, prune_kinds={"lt"})
    assert [(s.action, s.key) for s in plan.steps] == [
        ("noop", "tg"), ("replace", "lt"), ("update", "asg"), ("delete", "lt#delete")]
    assert plan.steps[0].reason == "left as it is"
