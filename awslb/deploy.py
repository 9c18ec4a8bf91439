"""The library facade: plan, up, down, status. Anything the CLI does, Python can do here.

    from awslb import deploy, spec
    from awslb.aws import Aws
    from awslb.ui import UI
    result = deploy.up(Aws(region="eu-west-1"), UI(), spec.load("stack.toml"), confirm=lambda p: True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from awslb import plan as planning
from awslb import resources
from awslb.apply import Executor, RunResult
from awslb.aws import Aws
from awslb.errors import StepFailed
from awslb.ledger import Ledger
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


def context(aws: Aws, ui: UI, stack: str, opts: Options, net: Network | None = None) -> Context:
    return Context(aws=aws, stack=stack, ui=ui, net=net, wait=opts.wait, timeout=opts.timeout,
                   poll=opts.poll, delete_images=opts.delete_images)


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

        rendered_userdata(spec.launch)
    lb = spec.load_balancer
    if lb is not None and lb.https is not None:
        weak = weak_tls(lb.https.ssl_policy)
        if weak:
            ui.warn(f"load_balancer.https.ssl_policy: {lb.https.ssl_policy} allows {weak} besides TLS 1.2; "
                    f"{DEFAULT_SSL_POLICY} allows TLS 1.2 and 1.3 only")


def desired(spec: StackSpec, net: Network, kinds: Mapping[str, Kind] | None = None) -> list[Resource]:
    kinds = kinds or resources.registry()
    return [r for k in kinds.values() for r in k.desired(spec, net)]


def make_plan(aws: Aws, ui: UI, spec: StackSpec, opts: Options | None = None, prune: bool = True
              ) -> tuple[planning.Plan, Context]:
    """Observe, then plan. Reads only."""
    opts = opts or Options()
    local_checks(ui, spec)
    aws.check_credentials()
    kinds = resources.registry()
    net = preflight(aws, spec, kinds)
    ctx = context(aws, ui, spec.name, opts, net)
    observed = observe(ctx, kinds)
    return planning.make_plan(spec.name, desired(spec, net, kinds), observed, kinds, prune), ctx


def up(aws: Aws, ui: UI, spec: StackSpec, *, confirm: Confirm | None = None, dry_run: bool = False,
       prune: bool = True, rollback: bool = False, opts: Options | None = None) -> UpResult:
    """Make the stack match ``spec``. ``confirm`` sees the plan and may refuse it."""
    opts = opts or Options()
    the_plan, ctx = make_plan(aws, ui, spec, opts, prune)
    result = UpResult(the_plan)
    if dry_run or not the_plan.pending:
        result.outputs = {s.id: s.observed for s in the_plan.steps if s.observed and s.action == "noop"}
        if not dry_run:
            _save_spec(spec, aws)
        return result
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
    """Delete everything tagged with the stack, in reverse dependency order."""
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
    ledger = Ledger.load(stack)
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
                   opts: Options | None = None) -> UpResult:
    """What a step command does: set some sections of the stack's spec, then converge.

    Whatever earlier step commands made stays (no pruning), and what a later step changed
    (the listener switched to HTTPS) is part of the recorded spec, so re-running an earlier
    step neither undoes nor duplicates it.
    """
    from awslb.spec import merge

    spec = merge(stack_spec(stack), **sections)
    return up(aws, ui, spec, confirm=confirm, dry_run=dry_run, prune=False, opts=opts)


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
