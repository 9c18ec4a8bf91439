#!/usr/bin/env python3
"""Wall time of `awslb up` against its critical path, with every AWS call delayed like on AWS.

Each example stack is applied in-process against moto (`mock_aws`, seeded like the sandbox)
while a botocore 'before-call' hook sleeps before every call for a realistic AWS latency
scaled down 1000x (an image taking minutes to become available, a balancer minutes to
become active, an ordinary API call ~100 ms; the table is printed), then lets moto answer.

For each example it prints:
  before   the time of `up` before the executor starts (preflight look-ups, observe reads)
  wall     the executor's wall time
  critical the critical path: the longest path through the plan's DAG, weighted with the
           measured duration of each step (no schedule can finish sooner)
  serial   the sum of the step times (what running the steps one after another would take)
  wall/critical (close to 1: the executor starts each step as soon as it can) and
  serial/wall (the speed-up from running independent steps in parallel).

Loopback only, nothing is asserted; the whole run takes well under two minutes.

    python bench/latency.py [--scale 1000] [examples/x.toml ...]

Default examples: those with a load balancer or an image.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["MOTO_ACM_VALIDATION_WAIT"] = "0"  # before moto is imported
os.environ["AWS_ACCESS_KEY_ID"] = "bench"
os.environ["AWS_SECRET_ACCESS_KEY"] = "bench"
for var in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(var, None)

from moto import mock_aws  # noqa: E402

from awslb import aws as aws_mod  # noqa: E402
from awslb import deploy, spec  # noqa: E402  (before awslb.apply: see the note below)
from awslb.apply import Executor, RunResult  # noqa: E402
from awslb.aws import Aws  # noqa: E402
from awslb.moto_gaps import install  # noqa: E402
from awslb.sandbox import seed_account  # noqa: E402
from awslb.ui import UI  # noqa: E402

# Note: `import awslb.apply` as the first awslb import fails with a circular import
# (apply -> ledger -> resources -> launch_config -> ledger); importing deploy first works,
# and isort keeps `from awslb import deploy` above `from awslb.apply import ...`.

REGION = "us-east-1"
ORDINARY = 0.1  # seconds at AWS scale: any call not in LATENCY

# Seconds at AWS scale, by (botocore service name, operation). moto makes each resource
# ready at once, so the time AWS takes until it is usable (what awslb's waiters wait for)
# is charged to the call that starts it.
LATENCY: dict[tuple[str, str], tuple[float, str]] = {
    ("ec2", "CreateImage"): (300.0, "image snapshotted and available"),
    ("ec2", "CopyImage"): (600.0, "copy to another region available"),
    ("elbv2", "CreateLoadBalancer"): (180.0, "ALB provisioning until active"),
    ("elb", "CreateLoadBalancer"): (60.0, "Classic ELB created"),
    ("autoscaling", "CreateAutoScalingGroup"): (180.0, "group until its instances are in service"),
    ("autoscaling", "CreateLaunchConfiguration"): (1.0, "launch configuration"),
    ("elbv2", "CreateTargetGroup"): (1.0, "target group"),
    ("elbv2", "CreateListener"): (1.0, "listener"),
    ("ec2", "CreateLaunchTemplate"): (1.0, "launch template"),
    ("ec2", "CreateSecurityGroup"): (0.5, "security group"),
}


class Delay:
    """The before-call handler: sleep for the call's scaled latency, then let moto answer."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.calls = 0
        self.slept = 0.0
        self.lock = threading.Lock()

    def __call__(self, model: Any, **_: Any) -> None:
        key = (model.service_model.service_name, model.name)
        seconds = LATENCY.get(key, (ORDINARY, ""))[0] / self.scale
        with self.lock:
            self.calls += 1
            self.slept += seconds
        time.sleep(seconds)
        return None


class Timed:
    """Wraps Executor.run: its wall time and its RunResult (the last run of an `up`)."""

    def __init__(self) -> None:
        self.original = Executor.run
        self.started = 0.0
        self.wall = 0.0
        self.result: RunResult | None = None

    def __enter__(self) -> Timed:
        timed = self

        def run(executor: Executor, plan: Any) -> RunResult:
            timed.started = time.perf_counter()
            result = timed.original(executor, plan)
            timed.wall = time.perf_counter() - timed.started
            timed.result = result
            return result

        Executor.run = run  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Executor.run = self.original  # type: ignore[method-assign]


def critical_path(result: RunResult) -> tuple[float, list[str]]:
    """The longest path through the steps that ran, weighted with their measured seconds."""
    by_key = {r.step.key: r for r in result.results}
    memo: dict[str, tuple[float, list[str]]] = {}

    def longest(key: str) -> tuple[float, list[str]]:
        if key not in memo:
            r = by_key.get(key)
            if r is None:  # a no-op step (already there): it took no time in this run
                memo[key] = (0.0, [])
            else:
                best = max((longest(d) for d in r.step.deps), default=(0.0, []), key=lambda x: x[0])
                memo[key] = (best[0] + r.seconds, [*best[1], f"{r.step.id} {r.seconds * 1000:.0f}ms"])
        return memo[key]

    return max((longest(k) for k in by_key), default=(0.0, []), key=lambda x: x[0])


def measure(example: Path, scale: float, home: Path) -> dict[str, Any]:
    os.environ["AWSLB_HOME"] = str(home / example.stem)
    stack = spec.load(example)
    ui = UI("text", color=False)
    ui.err.quiet = True
    delay = Delay(scale)
    with mock_aws():
        seed_account(Aws(region=REGION))
        with aws_mod.hooked("before-call", delay), Timed() as timed:
            t0 = time.perf_counter()
            deploy.up(Aws(region=REGION), ui, stack, opts=deploy.Options(poll=0.01))
            total = time.perf_counter() - t0
    assert timed.result is not None, f"{example.name}: nothing to apply"
    crit, path = critical_path(timed.result)
    return {
        "total": total,
        "before": timed.started - t0,
        "wall": timed.wall,
        "critical": crit,
        "path": path,
        "serial": sum(r.seconds for r in timed.result.results),
        "steps": len(timed.result.results),
        "calls": delay.calls,
        "slept": delay.slept,
    }


def default_examples() -> list[Path]:
    out = []
    for path in sorted((ROOT / "examples").glob("*.toml")):
        s = spec.load(path)
        if s.load_balancer is not None or s.image is not None:
            out.append(path)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("examples", nargs="*", type=Path, help="stack files (default: those with a balancer or an image)")
    ap.add_argument("--scale", type=float, default=1000.0, help="AWS latencies are divided by this (default 1000)")
    args = ap.parse_args()
    install()  # the sandbox's patches for moto's gaps
    examples = args.examples or default_examples()

    print(f"latency model (AWS seconds -> slept here, scaled 1/{args.scale:g}):")
    for (service, op), (seconds, what) in LATENCY.items():
        print(f"  {service:<12} {op:<26} {seconds:7.1f} s -> {seconds / args.scale * 1000:6.1f} ms  {what}")
    print(f"  {'any other call':<39} {ORDINARY:7.1f} s -> {ORDINARY / args.scale * 1000:6.1f} ms")
    print()
    head = (f"{'example':<24} {'steps':>5} {'calls':>5} {'before':>7} {'wall':>7} {'critical':>8} "
            f"{'serial':>7} {'wall/crit':>9} {'serial/wall':>11}")
    print(head)
    paths = {}
    with tempfile.TemporaryDirectory(prefix="awslb-bench-") as tmp:
        for ex in examples:
            m = measure(ex, args.scale, Path(tmp))
            paths[ex.stem] = m["path"]
            print(f"{ex.stem:<24} {m['steps']:>5} {m['calls']:>5} {m['before']:>6.3f}s {m['wall']:>6.3f}s "
                  f"{m['critical']:>7.3f}s {m['serial']:>6.3f}s {m['wall'] / m['critical']:>9.2f} "
                  f"{m['serial'] / m['wall']:>11.2f}")
    print("\ncritical paths:")
    for name, path in paths.items():
        print(f"  {name}: {' -> '.join(path)}")


if __name__ == "__main__":
    main()
