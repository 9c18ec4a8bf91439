#!/usr/bin/env python3
"""Issue 11's figures: hostile inputs tried and handled; faults injected, recovered, orphans.

1. Inputs: every case of tests/cli/test_hostile_inputs.py, run in-process through the CLI.
   Handled = exit 2 or 4, one `error:` line naming the key or flag, no traceback, and no AWS
   call (BaseClient._make_api_call refuses and counts every call).
2. Faults, two stacks with colliding names (the same `[launch] name`, launch configurations),
   under moto in-process: beta is up; alpha's `up` fails at its n-th mutating call (every n);
   then alpha's `up` runs again. Recovered = exit 0, beta's group and launch configuration
   untouched, no duplicate group or launch configuration. Then both are taken down; orphans
   are launch configurations, groups, launch templates and security groups left behind.

Usage: python bench/hostile.py [--inputs-only | --faults-only]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                   "AWSLB_POLL": "0.01", "AWSLB_STATS": "off"})
for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWSLB_STACK"):
    os.environ.pop(var, None)

import botocore.client  # noqa: E402
from moto import mock_aws  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from awslb import aws as aws_mod  # noqa: E402
from awslb import moto_gaps  # noqa: E402
from awslb.aws import Aws  # noqa: E402
from awslb.cli import app  # noqa: E402
from tests.aws.test_two_stacks import STACK, configs, groups  # noqa: E402
from tests.faults import FailNth  # noqa: E402

REGION = "us-east-1"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def inputs(tmp: Path) -> tuple[int, int, list[str]]:
    from tests.cli.test_hostile_inputs import CASES, handled, run_case

    made: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def refuse(self, operation_name, api_params):
        made.append(operation_name)
        raise RuntimeError(f"AWS call: {operation_name}")

    botocore.client.BaseClient._make_api_call = refuse
    ok_count, bad = 0, []
    os.chdir(tmp)
    try:
        for i, (name, args, text, needle) in enumerate(CASES):
            home = tmp / f"case{i}"
            home.mkdir()
            os.environ["AWSLB_HOME"] = str(home / ".awslb")
            before = len(made)
            ok = handled(run_case(home, name, args, text), needle) and len(made) == before
            ok_count += ok
            if not ok:
                bad.append(name)
    finally:
        botocore.client.BaseClient._make_api_call = real
    return len(CASES), ok_count, bad


def _orphans(aws: Aws) -> list[str]:
    left = [f"launch configuration {c}" for c in sorted(configs(aws))]
    left += [f"group {g}" for g in groups(aws)]
    left += [f"launch template {t['LaunchTemplateName']}"
             for t in aws.paginate("ec2", "describe_launch_templates", "LaunchTemplates")]
    for sg in aws.paginate("ec2", "describe_security_groups", "SecurityGroups"):
        if any(t["Key"] == "awslb:stack" for t in sg.get("Tags", [])):
            left.append(f"security group {sg['GroupId']}")
    return left


def faults(tmp: Path) -> tuple[int, int, int, list[str]]:
    alpha, beta = tmp / "alpha.toml", tmp / "beta.toml"
    alpha.write_text(STACK.format(name="alpha", kind="config", itype="c5.large", extra=""))
    beta.write_text(STACK.format(name="beta", kind="config", itype="c5.xlarge", extra=""))
    # How many mutating calls alpha's `up` makes next to beta.
    writes = 0
    with mock_aws():
        os.environ["AWSLB_HOME"] = str(tmp / "count")
        assert run("up", "-f", str(beta), "--yes").exit_code == 0
        counter = FailNth(10**9)
        with aws_mod.hooked("before-call", counter):
            assert run("up", "-f", str(alpha), "--yes").exit_code == 0
        writes = counter.seen
    injected = recovered = 0
    orphans: list[str] = []
    for n in range(writes):
        os.environ["AWSLB_HOME"] = str(tmp / f"fault{n}")
        with mock_aws():
            aws = Aws(region=REGION)
            assert run("up", "-f", str(beta), "--yes").exit_code == 0
            beta_lc = groups(aws)["beta-asg"]
            inject = FailNth(n)
            with aws_mod.hooked("before-call", inject):
                first = run("up", "-f", str(alpha), "--yes")
            injected += inject.failed is not None and first.exit_code == 1
            second = run("up", "-f", str(alpha), "--yes")
            now, made = groups(aws), configs(aws)
            ok = (second.exit_code == 0 and set(now) == {"alpha-asg", "beta-asg"}
                  and now["beta-asg"] == beta_lc and beta_lc in made and len(made) == 2)
            recovered += ok
            run("down", "alpha", "--yes")
            alpha_gone = "alpha-asg" not in groups(aws) and beta_lc in configs(aws)
            run("down", "beta", "--yes")
            left = _orphans(aws)
            if not alpha_gone:
                left.append("beta's launch configuration lost to alpha's down")
            orphans += [f"fault {n} ({inject.failed}): {x}" for x in left]
    return writes, injected, recovered, orphans


def main() -> None:
    moto_gaps.install()
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if only != "--faults-only":
            (tmp / "inputs").mkdir()
            tried, handled, bad = inputs(tmp / "inputs")
            print(f"hostile inputs: tried {tried}, handled {handled} (one line, exit 2/4, named, "
                  f"no traceback, no AWS call)")
            for name in bad:
                print(f"  not handled: {name}")
        if only != "--inputs-only":
            (tmp / "faults").mkdir()
            writes, injected, recovered, orphans = faults(tmp / "faults")
            print(f"faults: alpha's up (next to beta, same [launch] name) makes {writes} mutating calls; "
                  f"injected {injected}, recovered {recovered}, orphans found {len(orphans)}")
            for o in orphans:
                print(f"  orphan: {o}")


if __name__ == "__main__":
    main()
