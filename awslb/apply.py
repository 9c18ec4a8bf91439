"""Carrying out a plan: the Executor runs ready steps in parallel; DryRun only shows them.

A step is ready when every step it depends on is done. On a failure the executor starts
no new step, lets the running ones finish, and reports what was done and what failed.
The ledger is saved after every mutating step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from awslb.errors import AwsError, AwslbError
from awslb.ledger import Ledger
from awslb.plan import Plan, Step
from awslb.resources.base import Context, Kind, Observed, resolve

# AWS answers these while something is still letting go of a resource; a delete retries.
RETRY_ON_DELETE = {
    "DependencyViolation",
    "ResourceInUse",
    "ResourceInUseException",
    "ScalingActivityInProgress",
    "InvalidGroup.InUse",
    "InvalidParameterValue",  # "... is in use" for launch templates/configurations
}

_CURRENT = threading.local()


def current_step() -> str | None:
    """The logical id of the step this thread is running (for tracing and fault injection)."""
    return getattr(_CURRENT, "step", None)


VERBS = {"create": "created", "update": "updated", "replace": "made (replacement)", "delete": "deleted",
         "noop": "up to date"}


@dataclass
class StepResult:
    step: Step
    ok: bool
    seconds: float
    error: AwslbError | None = None
    observed: Observed | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "action": self.step.action,
            "kind": self.step.kind,
            "id": self.step.id,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
        }
        if self.observed is not None:
            d["physical_id"] = self.observed.physical_id
        if self.error is not None:
            d["error"] = str(self.error)
            if isinstance(self.error, AwsError):
                d["code"] = self.error.code
        return d


@dataclass
class RunResult:
    results: list[StepResult] = field(default_factory=list)
    not_started: list[Step] = field(default_factory=list)
    outputs: dict[str, Observed] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_started and not self.interrupted

    @property
    def created(self) -> list[str]:
        return [r.step.id for r in self.results if r.ok and r.step.action == "create"]


class Executor:
    def __init__(
        self,
        ctx: Context,
        kinds: Mapping[str, Kind],
        ledger: Ledger,
        workers: int = 8,
        delete_timeout: float = 600.0,
    ):
        self.ctx = ctx
        self.kinds = kinds
        self.ledger = ledger
        self.workers = workers
        self.delete_timeout = delete_timeout

    def run(self, plan: Plan) -> RunResult:  # noqa: C901  (the engine branch splits it)
        result = RunResult()
        pending: dict[str, Step] = {}
        done: set[str] = set()
        for step in plan.steps:
            if step.action == "noop":
                assert step.observed is not None
                result.outputs[step.id] = step.observed
                done.add(step.key)
            else:
                pending[step.key] = step
        if not pending:
            return result
        running: dict[Future[Observed | None], tuple[Step, float, Any]] = {}
        with self.ctx.ui.progress() as progress, ThreadPoolExecutor(self.workers, "awslb") as pool:
            try:
                stopping = False
                while pending or running:
                    if not stopping:
                        self._start_ready(pending, done, running, result.outputs, pool, progress)
                    if not running:
                        break  # nothing can start: a dependency failed
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        ok = self._collect(fut, running.pop(fut), result, done, progress)
                        stopping = stopping or not ok
            except KeyboardInterrupt:
                self._interrupted(result, running, pool)
                raise
        result.not_started = list(pending.values())
        self.ledger.save()
        return result

    def _start_ready(self, pending: dict[str, Step], done: set[str], running: dict[Any, Any],
                     outputs: dict[str, Observed], pool: ThreadPoolExecutor, progress: Any) -> None:
        """Start every pending step whose dependencies are done."""
        for key, step in list(pending.items()):
            if all(d in done for d in step.deps):
                del pending[key]
                task = progress.start(_describe(step, "…"))
                fut = pool.submit(self._run_step, step, dict(outputs), progress, task)
                running[fut] = (step, time.monotonic(), task)

    def _collect(self, fut: Future[Observed | None], started: tuple[Step, float, Any], result: RunResult,
                 done: set[str], progress: Any) -> bool:
        """Record a finished step; False when it failed (no new step starts then)."""
        step, began, task = started
        seconds = time.monotonic() - began
        try:
            obs = fut.result()
        except Exception as exc:
            # An AwslbError is the user's to read; anything else is a bug in a kind: report it, keep the ledger.
            err = exc if isinstance(exc, AwslbError) else AwslbError(f"{type(exc).__name__}: {exc}")
            result.results.append(StepResult(step, False, seconds, err))
            progress.finish(task, f"{_describe(step)}: {err}", ok=False)
            return False
        done.add(step.key)
        if obs is not None:
            result.outputs[step.id] = obs
        result.results.append(StepResult(step, True, seconds, None, obs))
        progress.finish(task, f"{_describe(step, VERBS[step.action])} ({seconds:.1f}s)")
        return True

    def _interrupted(self, result: RunResult, running: dict[Any, Any], pool: ThreadPoolExecutor) -> None:
        """Ctrl-C: let the running steps finish, record what they did, save the ledger."""
        result.interrupted = True
        for fut in running:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        for fut, (step, started, _task) in running.items():
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                result.results.append(StepResult(step, True, time.monotonic() - started, None, fut.result()))
        self.ledger.save()

    def _run_step(self, step: Step, outputs: dict[str, Observed], progress: Any, task: Any) -> Observed | None:
        self.ctx._local.report = lambda text: progress.update(task, _describe(step, text))
        _CURRENT.step = step.id
        try:
            if step.action == "delete":
                assert step.observed is not None
                self._delete(self.kinds[step.kind], step.observed)
                self.ledger.forget(step.id, step.observed.physical_id)
                return None
            obs = self._write(step, outputs)
            self.ledger.record(obs)
            return obs
        finally:
            self.ctx._local.report = None
            _CURRENT.step = None

    def _write(self, step: Step, outputs: Mapping[str, Observed]) -> Observed:
        kind = self.kinds[step.kind]
        assert step.resource is not None
        res = step.resource
        props = resolve(res.props, outputs)
        if step.action == "create":
            return kind.create(self.ctx, res, props)
        assert step.observed is not None
        if step.action == "replace":
            name = kind.new_name(res, step.observed)
            if name != res.name:
                res = replace(res, name=name)
                props = {**props, "name": name} if "name" in props else props
            return kind.create(self.ctx, res, props)
        # A group's closing step follows its opening one: compare with what that left.
        current = outputs.get(step.id)
        observed = current if current is not None and current.physical_id == step.observed.physical_id \
            else step.observed
        changes = kind.diff(res, props, observed)
        return kind.update(self.ctx, res, props, observed, changes) if changes else observed

    def _delete(self, kind: Kind, obs: Observed) -> None:
        deadline = time.monotonic() + self.delete_timeout
        delay = 2.0
        while True:
            try:
                kind.delete(self.ctx, obs)
                return
            except AwsError as exc:
                if exc.code not in RETRY_ON_DELETE or time.monotonic() + delay > deadline:
                    raise
                self.ctx.progress(f"{exc.code}; retrying in {delay:.0f}s")
                time.sleep(delay)
                delay = min(delay * 2, 30.0)


def _describe(step: Step, what: str | None = None) -> str:
    label = f"{step.kind} {step.id}"
    if step.name and step.name != step.id:
        label += f" ({step.name})"
    return f"{label}: {what or step.action}"
