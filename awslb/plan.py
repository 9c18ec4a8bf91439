"""The plan: what to create, change, delete or leave alone, and why. Pure data.

``make_plan`` takes what the stack wants and what exists and returns a :class:`Plan`, a
DAG of :class:`Step` s. The same plan drives `up`, `up --dry-run`, `plan` and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from awslb.resources.base import Kind, Observed, Resource, resolve

Action = Literal["create", "update", "delete", "noop"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "noop")


class PlanError(Exception):
    """The desired state is inconsistent (a programming error, not a user one)."""


@dataclass(frozen=True)
class Step:
    action: Action
    kind: str
    id: str
    name: str
    reason: str
    deps: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    resource: Resource | None = field(default=None, compare=False)
    observed: Observed | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        # A delete and a create of the same logical id can share a plan (a replacement).
        return f"{self.id}#delete" if self.action == "delete" else self.id

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "reason": self.reason,
            "changes": list(self.changes),
            "depends_on": list(self.deps),
            "physical_id": self.observed.physical_id if self.observed else None,
        }


@dataclass(frozen=True)
class Plan:
    stack: str
    steps: tuple[Step, ...]

    def count(self, action: Action) -> int:
        return sum(1 for s in self.steps if s.action == action)

    @property
    def pending(self) -> bool:
        return any(s.action != "noop" for s in self.steps)

    @property
    def changes(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action != "noop")

    def summary(self) -> str:
        if not self.pending:
            return f"stack {self.stack}: up to date ({self.count('noop')} resources)"
        return (
            f"{self.count('create')} to create, {self.count('update')} to change, "
            f"{self.count('delete')} to delete, {self.count('noop')} up to date"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "summary": {a: self.count(a) for a in ACTIONS},
            "pending": self.pending,
            "steps": [s.to_dict() for s in self.steps],
        }


def order(resources: Sequence[Resource]) -> list[Resource]:
    """Resources in dependency order (stable: ties keep their given order)."""
    by_id = {r.id: r for r in resources}
    if len(by_id) != len(resources):
        raise PlanError("two resources share a logical id")
    done: set[str] = set()
    out: list[Resource] = []
    visiting: set[str] = set()

    def visit(r: Resource) -> None:
        if r.id in done:
            return
        if r.id in visiting:
            raise PlanError(f"dependency cycle through {r.id}")
        visiting.add(r.id)
        for d in r.all_deps():
            if d not in by_id:
                raise PlanError(f"{r.id} depends on {d}, which the stack does not define")
            visit(by_id[d])
        visiting.discard(r.id)
        done.add(r.id)
        out.append(r)

    for r in resources:
        visit(r)
    return out


def make_plan(
    stack: str,
    desired: Sequence[Resource],
    observed: Mapping[str, Observed],
    kinds: Mapping[str, Kind],
    prune: bool = True,
) -> Plan:
    """Compare what the stack wants with what exists.

    ``observed`` maps logical ids to what exists with the stack's tags. With ``prune``,
    whatever exists but is not wanted is deleted (a full stack file, or `down` with an
    empty desired state); without it (step commands), it is left alone.
    """
    steps: list[Step] = []
    wanted = order(desired)
    for res in wanted:
        obs = observed.get(res.id)
        deps = res.all_deps()
        if obs is not None and obs.kind != res.kind:
            raise PlanError(f"{res.id} exists as a {obs.kind}, the stack wants a {res.kind}")
        if obs is None:
            steps.append(Step("create", res.kind, res.id, res.name, "does not exist", deps, (), res, None))
            continue
        props = resolve(res.props, observed, partial=True)
        changes = kinds[res.kind].diff(res, props, obs)
        if changes:
            steps.append(Step("update", res.kind, res.id, res.name, "; ".join(changes), deps,
                              tuple(changes), res, obs))
        else:
            steps.append(Step("noop", res.kind, res.id, res.name, "up to date", deps, (), res, obs))

    if prune:
        wanted_ids = {r.id for r in wanted}
        orphans = [o for o in observed.values() if o.id not in wanted_ids]
        # Later kinds (higher rank) go first; a delete waits for every change to a later kind.
        orphans.sort(key=lambda o: (-kinds[o.kind].rank, o.id))
        for obs in orphans:
            rank = kinds[obs.kind].rank
            after = tuple(
                s.key for s in steps if s.action != "noop" and kinds[s.kind].rank > rank
            )
            steps.append(Step("delete", obs.kind, obs.id, obs.name, "not in the stack any more", after,
                              (), None, obs))
    return Plan(stack, tuple(steps))


def teardown(stack: str, observed: Mapping[str, Observed], kinds: Mapping[str, Kind]) -> Plan:
    """The plan that deletes everything the stack has: an empty desired state."""
    plan = make_plan(stack, [], observed, kinds, prune=True)
    steps = tuple(
        Step(s.action, s.kind, s.id, s.name, "teardown", s.deps, s.changes, s.resource, s.observed)
        for s in plan.steps
    )
    return Plan(stack, steps)
