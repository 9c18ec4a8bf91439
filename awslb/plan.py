"""The plan: what to create, change, delete or leave alone, and why. Pure data.

``make_plan`` takes what the stack wants and what exists and returns a :class:`Plan`, a
DAG of :class:`Step` s. The same plan drives `up`, `up --dry-run`, `plan` and the tests.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from awslb.resources.base import Kind, Observed, Resource, resolve

Action = Literal["create", "update", "replace", "delete", "noop"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete", "noop")


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
    # "close": a security group's old rules, closed after the changes that stop using them.
    phase: str = ""

    @property
    def key(self) -> str:
        # A delete and a create of the same logical id can share a plan (a replacement).
        if self.action == "delete":
            return f"{self.id}#delete"
        return f"{self.id}#close" if self.phase == "close" else self.id

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

    @property
    def destructive(self) -> bool:
        """True when the plan deletes or replaces something (what `up` asks about)."""
        return any(s.action in ("delete", "replace") for s in self.steps)

    def client_replacements(self, kinds: Mapping[str, Kind]) -> list[Step]:
        """Replacements of what clients connect to (a balancer: its DNS name changes)."""
        return [s for s in self.steps if s.action == "replace" and kinds[s.kind].client_facing]

    def summary(self) -> str:
        if not self.pending:
            return f"stack {self.stack}: up to date ({self.count('noop')} resources)"
        replace = f"{self.count('replace')} to replace, " if self.count("replace") else ""
        return (
            f"{self.count('create')} to create, {self.count('update')} to change, {replace}"
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
    only: Collection[str] | None = None,
    prune_kinds: Collection[str] | None = None,
) -> Plan:
    """Compare what the stack wants with what exists.

    ``observed`` maps logical ids to what exists with the stack's tags. With ``prune``,
    whatever exists but is not wanted is deleted (a full stack file, or `down` with an
    empty desired state); ``prune_kinds`` limits that to some kinds (a step command
    deletes what its own sections no longer want). ``only``: converge these logical ids
    and leave the others alone, except those that point at something being replaced
    (they are re-pointed at the new one).

    A property a kind cannot change in place (its ``replace_on``) makes a replacement:
    create the new resource, re-point what depends on it, delete the old one (kinds with
    ``replace_first = False`` delete the old one first).
    """
    steps: list[Step] = []
    replaced: set[str] = set()
    wanted = order(desired)
    for res in wanted:
        if only is not None and res.id not in only and not replaced.intersection(res.all_deps()):
            continue
        steps.extend(_steps_for(res, observed, kinds, replaced))
    _finish_replacements(steps, kinds)
    if only is not None:
        steps = _known_deps(steps, wanted, observed) + steps
    steps = _split_openings(steps, kinds)
    if prune:
        wanted_ids = {r.id for r in wanted}
        orphans = [o for o in observed.values() if o.id not in wanted_ids
                   and (prune_kinds is None or o.kind in prune_kinds)]
        steps.extend(_deletes(orphans, steps, kinds, "not in the stack any more"))
    return Plan(stack, tuple(steps))


def _steps_for(res: Resource, observed: Mapping[str, Observed], kinds: Mapping[str, Kind],
               replaced: set[str]) -> list[Step]:
    obs = observed.get(res.id)
    deps = res.all_deps()
    if obs is not None and obs.kind != res.kind:
        raise PlanError(f"{res.id} exists as a {obs.kind}, the stack wants a {res.kind}")
    if obs is None:
        return [Step("create", res.kind, res.id, res.name, "does not exist", deps, (), res, None)]
    # What is being replaced has no known outputs yet: its dependents see a change.
    known = {k: v for k, v in observed.items() if k not in replaced}
    props = resolve(res.props, known, partial=True)
    kind = kinds[res.kind]
    forced = kind.replace_reasons(res, props, obs)
    if forced:
        replaced.add(res.id)
        name = kind.new_name(res, obs)
        if name != res.name:
            forced.append(f"made as {name} while the old one holds {res.name}")
        return [Step("replace", res.kind, res.id, name, "; ".join(forced), deps, tuple(forced), res, obs)]
    changes = kind.diff(res, props, obs)
    if changes:
        return [Step("update", res.kind, res.id, res.name, "; ".join(changes), deps, tuple(changes), res, obs)]
    return [Step("noop", res.kind, res.id, res.name, "up to date", deps, (), res, obs)]


def _known_deps(steps: list[Step], wanted: Sequence[Resource], observed: Mapping[str, Observed]) -> list[Step]:
    """What the converged steps depend on but leave alone, as it is now (their outputs resolve Refs)."""
    have = {s.id for s in steps}
    by_id = {r.id: r for r in wanted}
    todo = [d for s in steps for d in s.deps]
    extra: list[Step] = []
    while todo:
        rid = todo.pop()
        if rid in have or rid not in by_id or rid not in observed:
            continue
        have.add(rid)
        res = by_id[rid]
        extra.append(Step("noop", res.kind, rid, res.name, "left as it is", res.all_deps(), (), res, observed[rid]))
        todo.extend(res.all_deps())
    return extra


def _finish_replacements(steps: list[Step], kinds: Mapping[str, Kind]) -> None:
    """Each replacement's delete of the old resource, after what depends on it moved."""
    for step in list(steps):
        if step.action != "replace":
            continue
        assert step.observed is not None
        old = step.observed
        if kinds[step.kind].replace_first:
            users = tuple(s.key for s in steps if step.id in s.deps and s.action != "noop")
            steps.append(Step("delete", step.kind, step.id, old.name, "replaced", (step.key, *users), (),
                              None, old))
        else:
            steps.append(Step("delete", step.kind, step.id, old.name, "replaced", step.deps, (), None, old))
            at = steps.index(step)
            steps[at] = Step(step.action, step.kind, step.id, step.name, step.reason,
                             (*step.deps, f"{step.id}#delete"), step.changes, step.resource, step.observed)


def _split_openings(steps: list[Step], kinds: Mapping[str, Kind]) -> list[Step]:
    """No gap in traffic: a group's new rules open first, its old ones close last.

    An update of a kind with ``opens_first`` (security groups) that closes something
    becomes two steps: the new rules open at the step's place, and the old ones close
    (phase "close") after every change to a later kind (listeners, balancers), so the old
    port stays open until the new one serves.
    """
    out: list[Step] = []
    closing: list[Step] = []
    for step in steps:
        if step.action == "update" and kinds[step.kind].opens_first and step.resource is not None:
            assert step.observed is not None
            opened = kinds[step.kind].opening(step.resource, step.observed)
            if opened is not None:
                out.append(Step("update", step.kind, step.id, step.name, step.reason, step.deps, step.changes,
                                opened, step.observed))
                closing.append(step)
                continue
        out.append(step)
    for step in closing:
        rank = kinds[step.kind].rank
        # The changes to later kinds wait for the new rules, the old rules for those changes.
        out = [_after(s, step.id) if s.action != "noop" and kinds[s.kind].rank > rank else s for s in out]
        after = tuple(s.key for s in out if s.action != "noop" and kinds[s.kind].rank > rank)
        out.append(Step(step.action, step.kind, step.id, step.name, step.reason,
                        (step.id, *after), step.changes, step.resource, step.observed, phase="close"))
    return out


def _after(step: Step, key: str) -> Step:
    if key in step.deps:
        return step
    return Step(step.action, step.kind, step.id, step.name, step.reason, (*step.deps, key), step.changes,
                step.resource, step.observed, step.phase)


def _deletes(orphans: list[Observed], steps: list[Step], kinds: Mapping[str, Kind], reason: str) -> list[Step]:
    # Later kinds (higher rank) go first; a delete waits for every change to a later kind.
    orphans = sorted(orphans, key=lambda o: (-kinds[o.kind].rank, o.id))
    out: list[Step] = []
    for obs in orphans:
        rank = kinds[obs.kind].rank
        # ... and for the old rules that close (a rule naming a group keeps that group alive).
        after = tuple(s.key for s in [*steps, *out] if s.action != "noop"
                      and (kinds[s.kind].rank > rank or s.phase == "close"))
        out.append(Step("delete", obs.kind, obs.id, obs.name, reason, after, (), None, obs))
    return out


def teardown(stack: str, observed: Mapping[str, Observed], kinds: Mapping[str, Kind]) -> Plan:
    """The plan that deletes everything the stack has: an empty desired state."""
    plan = make_plan(stack, [], observed, kinds, prune=True)
    steps = tuple(
        Step(s.action, s.kind, s.id, s.name, "teardown", s.deps, s.changes, s.resource, s.observed)
        for s in plan.steps
    )
    return Plan(stack, steps)
