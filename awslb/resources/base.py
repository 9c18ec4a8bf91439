"""What every resource kind is made of.

A *kind* (one module per AWS resource kind) knows four things:

- ``desired(spec, net)``: the resources a stack wants (pure: no AWS call);
- ``discover(ctx)``: what exists now, found by the ``awslb:stack`` tag (read-only);
- ``diff(res, props, obs)``: what differs, as human reasons (pure);
- ``create`` / ``update`` / ``delete``: the writes.

Properties may hold :class:`Ref` values ("the id of security group lb"); the executor
resolves them from the outputs of the steps they depend on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from awslb.aws import Aws
    from awslb.spec import StackSpec
    from awslb.ui import UI


@dataclass(frozen=True)
class Ref:
    """An output of another resource of the stack: ``Ref("lb-sg", "id")``."""

    id: str
    attr: str

    def __str__(self) -> str:
        return f"(known after {self.id} is made)"


@dataclass(frozen=True)
class Resource:
    kind: str
    id: str  # logical id, unique in the stack, kept in the awslb:id tag
    name: str  # physical name
    props: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    deps: tuple[str, ...] = ()  # logical ids to make first, besides the Refs in props

    def all_deps(self) -> tuple[str, ...]:
        found = list(self.deps)
        for ref in refs_in(self.props):
            if ref.id not in found:
                found.append(ref.id)
        return tuple(found)


@dataclass
class Observed:
    """A resource as it exists on AWS (or as the last step left it)."""

    kind: str
    id: str
    physical_id: str
    name: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "physical_id": self.physical_id, "name": self.name,
                "attrs": self.attrs}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Observed:
        return cls(d["kind"], d["id"], d["physical_id"], d.get("name", ""), dict(d.get("attrs", {})))


@dataclass(frozen=True)
class Network:
    """Where the stack lives: its VPC and the subnets to spread over (one per zone).

    ``facts`` holds what the kinds' ``preflight`` looked up before planning (instances
    found by Name, a certificate found by domain, ...), for ``desired`` to read.
    """

    region: str
    vpc_id: str
    subnets: tuple[str, ...]
    zones: tuple[str, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Context:
    """What a write needs: the AWS door, the stack, the UI, and run options."""

    aws: Aws
    stack: str
    ui: UI
    net: Network | None = None
    wait: bool = True
    timeout: float = 1800.0
    poll: float = 15.0  # seconds between waiter polls (tests and the sandbox use less)
    delete_images: bool = False
    stats_via: str = "direct"    # how status reads stat pages: direct, ssm, auto (awslb/statpages.py)
    stats_wait: float = 20.0     # seconds status waits for SSM's answers
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def progress(self, text: str) -> None:
        """Report what the current step is doing (shown on its progress line)."""
        report: Callable[[str], None] | None = getattr(self._local, "report", None)
        if report is not None:
            report(text)
        else:
            self.ui.debug(text)

    def attempts(self, seconds: float) -> int:
        """How many waiter polls fit in ``seconds`` at this context's poll interval."""
        return max(1, int(seconds / max(self.poll, 0.01)))


class Kind:
    """Base class of a resource kind. Subclasses set ``kind``, ``rank`` and ``label``."""

    kind: ClassVar[str]
    label: ClassVar[str]
    # Creation order among kinds: lower first; deletion goes the other way.
    rank: ClassVar[int]
    # Kinds that only read (data sources) never appear in a plan as changes.
    tagged: ClassVar[bool] = True
    # Properties AWS cannot change in place: a change makes a new resource ("name": the
    # physical name). The plan creates the new one, re-points what depends on it, then
    # deletes the old one; with ``replace_first = False`` the old one goes first.
    replace_on: ClassVar[tuple[str, ...]] = ()
    replace_first: ClassVar[bool] = True
    # Names unique in the account (balancers, target groups): a replacement that keeps
    # the name is made under an alternate one (``alt_name``), and either counts as the name.
    unique_names: ClassVar[bool] = False
    # What clients connect to: replacing it changes its DNS name (needs --allow-replace).
    client_facing: ClassVar[bool] = False
    # Open new rules before the changes that need them, close old ones after (no gap).
    opens_first: ClassVar[bool] = False

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        """Read-only lookups and checks before planning (no write may happen here).

        Raise InputError naming the key for a value AWS will not accept (an unknown
        instance, a certificate that is not issued). What it returns is merged into
        ``net.facts`` for ``desired`` to read; use keys prefixed with the kind's name.
        """
        return {}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        return []

    def discover(self, ctx: Context) -> list[Observed]:
        raise NotImplementedError

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        return []

    def replace_reasons(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        """Why the resource must be replaced: its ``replace_on`` properties that differ (pure).

        A property still holding a :class:`Ref` points at something being made or
        replaced, so it differs too.
        """
        out: list[str] = []
        for key in self.replace_on:
            if key == "name":
                if not self.same_name(res.name, obs.name):
                    out.append(f"name: {obs.name} → {res.name}")
                continue
            want, have = props.get(key), obs.attrs.get(key)
            if isinstance(want, Ref) or want != have:
                out.append(f"{key}: {_show(have)} → {_show(want)}")
        return out

    def same_name(self, want: str, have: str) -> bool:
        return want == have or (self.unique_names and have == alt_name(want))

    def new_name(self, res: Resource, old: Observed) -> str:
        """The physical name of a replacement: the wanted one, unless the old one holds it."""
        if not self.unique_names or not self.same_name(res.name, old.name):
            return res.name
        return alt_name(res.name) if old.name == res.name else res.name

    def opening(self, res: Resource, obs: Observed) -> Resource | None:  # noqa: ARG002
        """With ``opens_first``: the resource with only its additions, when it also removes something."""
        return None

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        raise NotImplementedError

    def update(
        self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed, changes: list[str]
    ) -> Observed:
        raise NotImplementedError(f"{self.label}: changing {', '.join(changes)} in place")

    def delete(self, ctx: Context, obs: Observed) -> None:
        raise NotImplementedError

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        """Live facts about the resource for `awslb status` (read-only)."""
        return {}

    def operations(self) -> dict[str, list[str]]:
        """The IAM actions this kind uses: {"read": [...], "write": [...]}."""
        return {"read": [], "write": []}


def refs_in(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, list | tuple):
        return [r for v in value for r in refs_in(v)]
    return []


def resolve(value: Any, outputs: Mapping[str, Observed], partial: bool = False) -> Any:
    """Replace every Ref with the output it names. With ``partial``, unknown Refs stay."""
    if isinstance(value, Ref):
        obs = outputs.get(value.id)
        if obs is None or value.attr not in obs.attrs:
            if partial:
                return value
            raise KeyError(f"{value.id}.{value.attr} is not known yet")
        return obs.attrs[value.attr]
    if isinstance(value, Mapping):
        return {k: resolve(v, outputs, partial) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(resolve(v, outputs, partial) for v in value)
    return value


def alt_name(name: str) -> str:
    """The alternate physical name a replacement takes while the old resource holds ``name``."""
    return name[:30].rstrip("-") + "-r"


def changed(label: str, want: Any, have: Any) -> list[str]:
    """[] when equal, else one reason such as "idle_timeout: 60 → 3600"."""
    if want == have:
        return []
    return [f"{label}: {_show(have)} → {_show(want)}"]


def _show(v: Any) -> str:
    if isinstance(v, list | tuple | set | frozenset):
        return "[" + ", ".join(sorted(str(x) for x in v)) + "]"
    return str(v)
