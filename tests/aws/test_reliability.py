"""Reliability of whole deployments: faults at every mutating call, interrupts, throttling.

Each example stack in examples/ is applied with the n-th mutating call failing (a botocore
'before-call' handler raising a ClientError), for every n; after each failure a second
`up` completes the stack, a third makes no mutating call, and the stack then holds exactly
what a clean `up` leaves (same logical ids, no duplicates), so `down` has the same work as
after a clean run (`tests/aws/test_examples.py` runs `down` on every example).

All in-process (moto in-process, the CLI through Typer's runner). A clean `up` of each
example (the baseline: which step makes which write, what it leaves) runs once per test
worker and is cached.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest
from moto import mock_aws

from awslb import aws as aws_mod
from awslb import deploy
from awslb.apply import current_step
from awslb.aws import Aws, is_mutating
from awslb.sandbox import seed_account
from tests.conftest import REGION, ROOT, Calls, Run
from tests.faults import FailNth, Throttle

EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


def stack_name(example: Path) -> str:
    from awslb import spec

    return spec.load(example).name


def leftovers(stack: str) -> dict:
    from awslb.ui import UI

    aws = Aws(region=REGION)
    ctx = deploy.context(aws, UI(), stack, deploy.Options(poll=0.01))
    return deploy.observe(ctx)


class StepCalls(Calls):
    """Calls, each with the plan step that made it (awslb.apply.current_step)."""

    def __call__(self, model, params, **kwargs):
        self.made.append((current_step() or "-", model.name))


@functools.cache
def _baseline(example: Path) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    rec = StepCalls()
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as home:
        mp.setenv("AWSLB_HOME", home)  # its own ledger: the calling test's stays as it was
        with mock_aws():
            seed_account(Aws(region=REGION))
            with aws_mod.hooked("before-call", rec):
                r = invoke("up", "-f", str(example), "--yes")
            assert r.exit_code == 0, r.stderr
            left = frozenset(leftovers(stack_name(example)))
    return tuple((step, op) for step, op in rec.made if is_mutating(op)), left


def baseline(example: Path) -> list[tuple[str, str]]:
    """(step, operation) of every mutating call of a clean `up` (computed once per worker)."""
    return list(_baseline(example)[0])


def invoke(*args: str) -> Run:
    from typer.testing import CliRunner

    from awslb.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def watch_observe(monkeypatch) -> list[dict]:
    """Every whole-stack observation `deploy.observe` makes from now on."""
    seen: list[dict] = []
    real = deploy.observe

    def observe(ctx, kinds=None):
        found = real(ctx, kinds)
        seen.append(found)
        return found

    monkeypatch.setattr(deploy, "observe", observe)
    return seen


def converge_after(cli, monkeypatch, tmp_path, example: Path, n: int, exc: type[BaseException] | None) -> None:
    """Fail (or interrupt) the n-th mutating call of `up`; then `up` completes, and nothing is left over."""
    monkeypatch.setenv("AWSLB_HOME", str(tmp_path / f"ledger-{n}"))
    with mock_aws():
        seed_account(Aws(region=REGION))
        inject = FailNth(n, exc)
        with aws_mod.hooked("before-call", inject):
            first = cli("up", "-f", str(example), "--yes")
        where = f"{'interrupt' if exc else 'error'} at mutating call #{n} ({inject.failed})"
        assert first.exit_code == (130 if exc else 1), f"{where}: {first.stderr}"
        if exc is None:
            assert "InternalFailure" in first.stderr, where
        second = cli("up", "-f", str(example), "--yes")
        assert second.exit_code == 0, f"{where}: re-run failed: {second.stderr}"
        rec = Calls()
        seen = watch_observe(monkeypatch)
        with aws_mod.hooked("before-call", rec):
            third = cli("up", "-f", str(example), "--yes")
        assert third.exit_code == 0 and rec.mutating == [], f"{where}: not converged: {rec.mutating}"
        # What a clean `up` leaves, no more (a duplicate shows as 'id#2'), no less: as the
        # third run observed it (the same reads as `leftovers`, made once).
        assert len(seen) == 1 and set(seen[0]) == _baseline(example)[1], where


SHARDS = 3  # the calls of one example are split over tests, so test workers share them


@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_an_error_at_every_mutating_call_then_converge(cli, monkeypatch, tmp_path, example, shard) -> None:
    writes = baseline(example)
    assert writes, "the example makes no mutating call"
    for n in range(shard, len(writes), SHARDS):
        converge_after(cli, monkeypatch, tmp_path, example, n, None)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_an_interrupt_in_every_step_then_converge(cli, monkeypatch, tmp_path, example) -> None:
    # Ctrl-C as each step starts to write and as it makes its last write.
    writes = baseline(example)
    points = set()
    for step in {s for s, _ in writes}:
        mine = [i for i, (s, _) in enumerate(writes) if s == step]
        points.update({mine[0], mine[-1]})
    assert len({s for s, _ in writes}) >= 2
    for n in sorted(points):
        converge_after(cli, monkeypatch, tmp_path, example, n, KeyboardInterrupt)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_throttling_is_absorbed_without_duplicates(cli, moto_server, monkeypatch, example) -> None:
    # moto runs as a server here: a throttled request never reaches it, as with AWS
    # (in-process moto would still carry out a request whose answer we replace).
    # Time is shortened, not the logic: botocore's standard retries (adaptive mode is these
    # plus a client-side rate limiter whose waits would take minutes here) with the
    # throttling backoff base scaled from 1 s to 10 ms.
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setenv("AWSLB_RETRY_MODE", "standard")
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.01)
    stack = stack_name(example)
    seed_account(Aws(region=REGION))
    throttle = Throttle(share=1 / 3, seed=11)
    with aws_mod.hooked("before-send", throttle, first=True):
        r = cli("up", "-f", str(example), "--yes")
    assert r.exit_code == 0, r.stderr
    assert throttle.throttled > 0
    # No duplicates: every logical id exists once, and a re-run has nothing to do.
    found = leftovers(stack)
    assert not [k for k in found if "#" in k], sorted(found)
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        again = cli("up", "-f", str(example), "--yes")
    assert again.exit_code == 0 and rec.mutating == []


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_rollback_on_failure_removes_what_the_run_created(cli, example) -> None:
    writes = baseline(example)
    stack = stack_name(example)
    with mock_aws():
        seed_account(Aws(region=REGION))
        with aws_mod.hooked("before-call", FailNth(len(writes) - 1)):
            r = cli("up", "-f", str(example), "--yes", "--rollback-on-failure")
        assert r.exit_code == 1
        assert "rolling back" in r.stderr
        left = {k: v for k, v in leftovers(stack).items() if v.kind != "image"}
        assert left == {}
