"""Plan cases as data: given what the stack wants and what exists, the steps."""

from typing import Any

import pytest

from awslb.plan import PlanError, make_plan, order, teardown
from awslb.resources.base import Kind, Observed, Ref, Resource


class Fake(Kind):
    label = "fake"

    def __init__(self, kind: str, rank: int):
        self.kind = kind  # type: ignore[misc]
        self.rank = rank  # type: ignore[misc]

    def diff(self, res: Resource, props: Any, obs: Observed) -> list[str]:
        return [] if props.get("size") == obs.attrs.get("size") else [f"size: {obs.attrs.get('size')} → {props.get('size')}"]


KINDS = {"net": Fake("net", 10), "lb": Fake("lb", 20), "asg": Fake("asg", 30)}


def res(kind: str, id_: str, **props: Any) -> Resource:
    return Resource(kind, id_, f"s-{id_}", props)


def obs(kind: str, id_: str, **attrs: Any) -> Observed:
    return Observed(kind, id_, f"phys-{id_}", f"s-{id_}", attrs)


CASES = [
    # (name, desired, observed, prune, expected [(action, id)])
    ("empty", [], {}, True, []),
    ("all new", [res("net", "sg"), res("lb", "alb", sg=Ref("sg", "id"))], {}, True,
     [("create", "sg"), ("create", "alb")]),
    ("up to date", [res("net", "sg", size=1)], {"sg": obs("net", "sg", size=1)}, True, [("noop", "sg")]),
    ("changed", [res("net", "sg", size=2)], {"sg": obs("net", "sg", size=1)}, True, [("update", "sg")]),
    ("orphan pruned", [res("net", "sg", size=1)],
     {"sg": obs("net", "sg", size=1), "old": obs("lb", "old")}, True, [("noop", "sg"), ("delete", "old")]),
    ("orphan kept without prune", [res("net", "sg", size=1)],
     {"sg": obs("net", "sg", size=1), "old": obs("lb", "old")}, False, [("noop", "sg")]),
    ("dependency order wins over given order", [res("lb", "alb", sg=Ref("sg", "id")), res("net", "sg")], {},
     True, [("create", "sg"), ("create", "alb")]),
]


@pytest.mark.parametrize("name, desired, observed, prune, expected", CASES, ids=[c[0] for c in CASES])
def test_plan_cases(name, desired, observed, prune, expected) -> None:
    plan = make_plan("s", desired, observed, KINDS, prune)
    assert [(s.action, s.id) for s in plan.steps] == expected


def test_teardown_deletes_later_kinds_first() -> None:
    observed = {"sg": obs("net", "sg"), "alb": obs("lb", "alb"), "group": obs("asg", "group")}
    plan = teardown("s", observed, KINDS)
    assert [s.id for s in plan.steps] == ["group", "alb", "sg"]
    deps = {s.id: set(s.deps) for s in plan.steps}
    assert deps["sg"] == {"group#delete", "alb#delete"}
    assert deps["group"] == set()
    assert all(s.reason == "teardown" for s in plan.steps)


def test_unresolved_ref_on_existing_resource_is_a_change() -> None:
    desired = [res("net", "sg"), res("lb", "alb", size=Ref("sg", "id"))]
    plan = make_plan("s", desired, {"alb": obs("lb", "alb", size="phys")}, KINDS)
    assert [(s.action, s.id) for s in plan.steps] == [("create", "sg"), ("update", "alb")]


def test_summary_and_json() -> None:
    plan = make_plan("s", [res("net", "a"), res("net", "b", size=1)], {"b": obs("net", "b", size=1)}, KINDS)
    assert plan.summary() == "1 to create, 0 to change, 0 to delete, 1 up to date"
    d = plan.to_dict()
    assert d["summary"] == {"create": 1, "update": 0, "replace": 0, "delete": 0, "noop": 1}
    assert d["steps"][0]["action"] == "create"
    assert not make_plan("s", [], {}, KINDS).pending


def test_cycles_and_missing_dependencies_are_errors() -> None:
    with pytest.raises(PlanError, match="cycle"):
        order([res("net", "a", x=Ref("b", "id")), res("net", "b", x=Ref("a", "id"))])
    with pytest.raises(PlanError, match="does not define"):
        order([res("net", "a", x=Ref("zzz", "id"))])
