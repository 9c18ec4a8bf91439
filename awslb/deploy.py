"""The library facade: plan, up, down, status. Anything the CLI does, Python can do here.

    from awslb import deploy, spec
    from awslb.aws import Aws
    from awslb.ui import UI
    result = deploy.up(Aws(region="eu-west-1"), UI(), spec.load("stack.toml"), confirm=lambda p: True)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from awslb import plan as planning
from awslb import resources
from awslb.apply import Executor, RunResult
from awslb.aws import Aws
from awslb.errors import InputError, StepFailed
from awslb.ledger import Ledger
from awslb.reads import cached
from awslb.resources.base import Context, Kind, Network, Observed, Resource
from awslb.resources.network import lookup
from awslb.spec import DEFAULT_SSL_POLICY, StackSpec
from awslb.ui import UI

Confirm = Callable[[planning.Plan], bool]


@dataclass
class Options:
    """How a run behaves; the defaults suit AWS, tests and the sandbox lower the waits."""

    workers: int = 8
    poll: float = 15.0
    timeout: float = 1800.0
    delete_timeout: float = 600.0
    wait: bool = True
    delete_images: bool = False
    stats_via: str = "direct"  # status: how stat pages are read (`awslb status --via`: auto)
    stats_wait: float = 20.0  # status: seconds to wait for SSM Run Command's answers


@dataclass
class UpResult:
    plan: planning.Plan
    run: RunResult | None = None
    applied: bool = False
    outputs: dict[str, Observed] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"plan": self.plan.to_dict(), "applied": self.applied}
        if self.run is not None:
            out["steps"] = [r.to_dict() for r in self.run.results]
        out["resources"] = {k: v.to_dict() for k, v in sorted(self.outputs.items())}
        return out


def ledger_facts(stack: str) -> dict[str, Any]:
    """What discovery may take from the ledger (a cache: a damaged one counts as empty)."""
    try:
        ledger = Ledger.load(stack)
    except InputError:
        return {}
    resources = ledger.resources
    recorded = resources.get("launch-config")
    base = recorded.attrs.get("base") if recorded is not None else None
    facts: dict[str, Any] = {"launch_config.made": sorted(
        o.physical_id for o in resources.values() if o.kind == "launch_config")}
    if base:
        facts["launch_config.recorded_base"] = base
    # Every region the stack copied an image to: its copies are found there by their own tags.
    regions = {r for o in resources.values() if o.kind == "image" for r in (o.attrs.get("copies") or {})}
    regions.update(((ledger.spec or {}).get("image") or {}).get("copy_to") or [])
    facts["image.copy_regions"] = sorted(regions)
    return facts


def connect(profile: str | None = None, region: str | None = None, endpoint_url: str | None = None) -> Aws:
    """The AWS door (for callers, like the CLI, that do not import awslb.aws themselves)."""
    return Aws(profile, region, endpoint_url)


def context(aws: Aws, ui: UI, stack: str, opts: Options, net: Network | None = None) -> Context:
    facts = ledger_facts(stack)
    if net is None:
        net = Network(aws.region or "", "", (), facts=facts)
    else:
        net = replace(net, facts={**facts, **net.facts})
    return Context(aws=aws, stack=stack, ui=ui, net=net, wait=opts.wait, timeout=opts.timeout,
                   poll=opts.poll, delete_images=opts.delete_images,
                   stats_via=opts.stats_via, stats_wait=opts.stats_wait)


def observe(ctx: Context, kinds: Mapping[str, Kind] | None = None) -> dict[str, Observed]:
    """Everything tagged with the stack, by logical id (read-only, one call per kind)."""
    kinds = kinds or resources.registry()
    with ThreadPoolExecutor(max(1, len(kinds))) as pool:
        found = list(pool.map(lambda k: k.discover(ctx), kinds.values()))
    observed: dict[str, Observed] = {}
    for batch in found:
        for obs in batch:
            key = obs.id
            n = 2
            while key in observed:  # a duplicate (made outside awslb, or by a crashed run)
                key = f"{obs.id}#{n}"
                n += 1
            obs.id = key
            observed[key] = obs
    return observed


def preflight(aws: Aws, spec: StackSpec, kinds: Mapping[str, Kind] | None = None) -> Network:
    """The network, then every kind's read-only checks and look-ups, before any plan."""
    kinds = kinds or resources.registry()
    net = lookup(aws, spec)
    facts: dict[str, Any] = {}
    for kind in kinds.values():
        facts.update(kind.preflight(aws, spec, net))
    return replace(net, facts=facts)


def local_checks(ui: UI, spec: StackSpec) -> None:
    """What needs no AWS call, before the first one: user-data variables, a weak TLS policy."""
    from awslb.validate import weak_tls

    if spec.launch is not None:
        from awslb.resources.launch_template import rendered_userdata
        from awslb.resources.origin import server_vars

        rendered_userdata(spec.launch, server_vars(spec, {}, checking=True))
    lb = spec.load_balancer
    if lb is not None and lb.https is not None:
        weak = weak_tls(lb.https.ssl_policy)
        if weak:
            ui.warn(f"load_balancer.https.ssl_policy: {lb.https.ssl_policy} allows {weak} besides TLS 1.2; "
                    f"{DEFAULT_SSL_POLICY} allows TLS 1.2 and 1.3 only")


def desired(spec: StackSpec, net: Network, kinds: Mapping[str, Kind] | None = None) -> list[Resource]:
    kinds = kinds or resources.registry()
    return [r for k in kinds.values() for r in k.desired(spec, net)]


# The kinds each section of a stack makes: what a step command that sets the section converges.
SECTION_KINDS: dict[str, tuple[str, ...]] = {
    "image": ("image",),
    "load_balancer": ("security_group", "target_group", "load_balancer", "listener", "classic_lb"),
    "launch": ("launch_template", "launch_config"),
    "autoscaling": ("autoscaling_group",),
    "haproxy": ("security_group", "iam_role", "elastic_ip", "haproxy_template", "haproxy_group"),
}


def section_kinds(sections: Collection[str]) -> set[str]:
    return {k for s in sections for k in SECTION_KINDS.get(s, ())}


def selection(wanted: Sequence[Resource], kinds: Collection[str]) -> set[str]:
    """The logical ids of the given kinds and everything they depend on (pure)."""
    by_id = {r.id: r for r in wanted}
    todo = [r.id for r in wanted if r.kind in kinds]
    chosen: set[str] = set()
    while todo:
        rid = todo.pop()
        if rid in chosen or rid not in by_id:
            continue
        chosen.add(rid)
        todo.extend(by_id[rid].all_deps())
    return chosen


def _with_facts(aws: Aws, spec: StackSpec, net: Network, kinds: Collection[Kind]) -> Network:
    facts: dict[str, Any] = dict(net.facts)
    for kind in kinds:
        facts.update(kind.preflight(aws, spec, net))
    return replace(net, facts=facts)


def make_plan(aws: Aws, ui: UI, spec: StackSpec, opts: Options | None = None, prune: bool = True,
              sections: Collection[str] | None = None) -> tuple[planning.Plan, Context]:
    """Observe, then plan. Reads only.

    ``sections``: a step command's sections. Only the resources of their kinds, and what
    those depend on, are checked and converged; what the sections no longer want is deleted.
    """
    opts = opts or Options()
    local_checks(ui, spec)
    aws.check_credentials()
    door, aws = aws, cached(aws)  # planning only reads: each distinct read once
    kinds = resources.registry()
    if sections is None:
        net = preflight(aws, spec, kinds)
        only, prune_kinds = None, None
    else:
        owned = section_kinds(sections)
        net = _with_facts(aws, spec, lookup(aws, spec), [kinds[k] for k in owned if k in kinds])
        only = selection(desired(spec, net, kinds), owned)
        # What the selection depends on is checked like its own section (the image facts a
        # launch configuration needs come from the launch template's preflight).
        used = {r.kind for r in desired(spec, net, kinds) if r.id in only}
        more = {k for ks in SECTION_KINDS.values() if used.intersection(ks) for k in ks} - owned
        net = _with_facts(aws, spec, net, [k for name, k in kinds.items() if name in more])
        prune, prune_kinds = True, owned
    ctx = context(aws, ui, spec.name, opts, net)
    observed = observe(ctx, kinds)
    ctx.aws = door  # the writes, and the reads after them, go to AWS itself
    return planning.make_plan(spec.name, desired(spec, net, kinds), observed, kinds, prune, only,
                              prune_kinds), ctx


def balancer_replacements(the_plan: planning.Plan) -> list[planning.Step]:
    """The plan's replacements of what clients connect to (a balancer: a new DNS name)."""
    return the_plan.client_replacements(resources.registry())


def refuse_replacements(the_plan: planning.Plan) -> None:
    """InputError (nothing written) naming what would replace a balancer: needs --allow-replace."""
    risky = the_plan.client_replacements(resources.registry())
    if risky:
        step = risky[0]
        raise InputError(f"{step.reason}: this replaces {step.kind.replace('_', ' ')} {step.id} "
                         f"({step.observed.name if step.observed else step.name}), which clients connect to: "
                         "pass --allow-replace to replace it, or keep the current value")


def up(aws: Aws, ui: UI, spec: StackSpec, *, confirm: Confirm | None = None, dry_run: bool = False,
       prune: bool = True, rollback: bool = False, opts: Options | None = None,
       allow_replace: bool = False, sections: Collection[str] | None = None) -> UpResult:
    """Make the stack match ``spec``. ``confirm`` sees the plan and may refuse it.

    Replacing a balancer needs ``allow_replace`` or a ``confirm`` that accepts the plan
    (the CLI asks on a terminal); without either it is refused before any write.
    """
    opts = opts or Options()
    Ledger.load(spec.name)  # a damaged or foreign ledger: one error naming the file, before any AWS call
    the_plan, ctx = make_plan(aws, ui, spec, opts, prune, sections)
    result = UpResult(the_plan)
    if dry_run or not the_plan.pending:
        result.outputs = {s.id: s.observed for s in the_plan.steps if s.observed and s.action == "noop"}
        if not dry_run:
            _save_spec(spec, aws)
        return result
    if confirm is None and not allow_replace:
        refuse_replacements(the_plan)
    if confirm is not None and not confirm(the_plan):
        return result
    ledger = Ledger.load(spec.name)
    ledger.region = aws.region
    ledger.spec = spec.model_dump(mode="json", exclude_none=True)
    kinds = resources.registry()
    run = Executor(ctx, kinds, ledger, opts.workers, opts.delete_timeout).run(the_plan)
    result.run, result.applied, result.outputs = run, True, run.outputs
    if not run.ok:
        if rollback:
            # Observe again: a step that failed half-way may have made something too.
            existed = {s.id for s in the_plan.steps if s.observed is not None}
            made = {k: v for k, v in observe(ctx, kinds).items() if k not in existed}
            if made:
                ui.warn(f"rolling back what this run created: {', '.join(sorted(made))}")
                Executor(ctx, kinds, ledger, opts.workers, opts.delete_timeout).run(
                    planning.teardown(spec.name, made, kinds))
        raise StepFailed(_failure(run), "run the same command again: it resumes where it stopped")
    return result


def down(aws: Aws, ui: UI, stack: str, *, confirm: Confirm | None = None, dry_run: bool = False,
         opts: Options | None = None) -> UpResult:
    """Delete everything tagged with the stack, in reverse dependency order (no ledger needed)."""
    opts = opts or Options()
    aws.check_credentials()
    kinds = resources.registry()
    ctx = context(aws, ui, stack, opts)
    observed = observe(ctx, kinds)
    if not opts.delete_images:
        kept = {k: v for k, v in observed.items() if v.kind == "image"}
        for k in kept:
            observed.pop(k)
        if kept:
            ui.info(f"keeping {len(kept)} image(s): pass --delete-images to delete them too")
    the_plan = planning.teardown(stack, observed, kinds)
    result = UpResult(the_plan)
    if dry_run or not the_plan.pending:
        return result
    if confirm is not None and not confirm(the_plan):
        return result
    try:
        ledger = Ledger.load(stack)
    except InputError as exc:  # a damaged or foreign ledger: the tags are enough, leave the file be
        ui.warn(f"{exc.message}: not used")
        ledger = Ledger(stack, Path(os.devnull), persist=False)
    run = Executor(ctx, kinds, ledger, opts.workers, opts.delete_timeout).run(the_plan)
    result.run, result.applied = run, True
    if not run.ok:
        raise StepFailed(_failure(run), "run `awslb down` again: it retries what is left")
    if not ledger.resources or opts.delete_images:
        ledger.remove()
    else:
        ledger.spec = None
        ledger.save()
    return result


def status(aws: Aws, ui: UI, stack: str, opts: Options | None = None) -> dict[str, Any]:
    """What the stack has now, with each kind's live facts (read-only)."""
    opts = opts or Options()
    aws.check_credentials()
    kinds = resources.registry()
    ctx = context(aws, ui, stack, opts)
    observed = observe(ctx, kinds)
    order = {k: i for i, k in enumerate(kinds)}
    items = sorted(observed.values(), key=lambda o: (order.get(o.kind, 99), o.id))
    with ThreadPoolExecutor(8) as pool:
        facts = list(pool.map(lambda o: kinds[o.kind].status(ctx, o), items))
    return {
        "stack": stack,
        "region": aws.region,
        "resources": [
            {"kind": o.kind, "id": o.id, "name": o.name, "physical_id": o.physical_id, **f}
            for o, f in zip(items, facts, strict=True)
        ],
    }


def recorded_region(stack: str) -> str | None:
    """Where the stack lives: its recorded `[stack] region`, else the ledger's region (no AWS call)."""
    try:
        ledger = Ledger.load(stack)
    except InputError:
        return None
    region = ((ledger.spec or {}).get("stack") or {}).get("region")
    return region if isinstance(region, str) else ledger.region


def stack_spec(stack: str) -> StackSpec:
    """The stack's recorded spec (what earlier commands set), or an empty one."""
    from awslb.spec import parse

    ledger = Ledger.load(stack)
    if ledger.spec:
        data = dict(ledger.spec)
        data.setdefault("stack", {})["name"] = stack
        return parse(data, f"ledger {ledger.path}")
    return parse({"stack": {"name": stack}})


def apply_sections(aws: Aws, ui: UI, stack: str, sections: Mapping[str, Any], *,
                   confirm: Confirm | None = None, dry_run: bool = False,
                   opts: Options | None = None, allow_replace: bool = False,
                   converge: Collection[str] | None = None) -> UpResult:
    """What a step command does: set some sections of the stack's spec, then converge them.

    Only those sections' resources (``converge``: which sections, default the ones set)
    and what they depend on are converged; what earlier step commands made for other
    sections stays as it is, and what a later step changed (the listener switched to
    HTTPS) is part of the recorded spec, so re-running an earlier step neither undoes
    nor duplicates it.
    """
    from awslb.spec import merge

    spec = merge(stack_spec(stack), **sections)
    return up(aws, ui, spec, confirm=confirm, dry_run=dry_run, opts=opts, allow_replace=allow_replace,
              sections=list(converge if converge is not None else sections))


def _save_spec(spec: StackSpec, aws: Aws) -> None:
    ledger = Ledger.load(spec.name)
    data = spec.model_dump(mode="json", exclude_none=True)
    if ledger.spec != data or ledger.region != aws.region:
        ledger.spec, ledger.region = data, aws.region
        ledger.save()


def _failure(run: RunResult) -> str:
    done = [f"{r.step.action} {r.step.id}" for r in run.results if r.ok]
    failed = [f"{r.step.action} {r.step.id}: {r.error}" for r in run.failed]
    parts = []
    if run.interrupted:
        parts.append("interrupted")
    if failed:
        parts.append("failed: " + "; ".join(failed))
    if done:
        parts.append("done: " + ", ".join(done))
    if run.not_started:
        parts.append("not started: " + ", ".join(s.id for s in run.not_started))
    return " | ".join(parts)
