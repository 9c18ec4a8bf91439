#!/usr/bin/env python3
"""CPU of one point of the reliability matrix, phase by phase, for each example stack.

One point (tests/aws/test_reliability.py) is: a fresh emulated account (the sandbox's
seed), `up` failing at its n-th write, `up` again, a no-op `up`, and an observation of what
is left. This prints the median process CPU (all threads) of each phase over a few points,
all in-process under moto, with the CLI run through Typer's runner as the tests do.
Usage: python bench/fault_point.py [--points 4] [examples/x.toml ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                  AWSLB_POLL="0.01", AWSLB_STATS="off", AWSLB_METADATA_URL="http://127.0.0.1:9")

from awslb.moto_gaps import small_image_catalogue  # noqa: E402

small_image_catalogue()  # as the sandbox and the tests do

from moto import mock_aws  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from awslb import aws as aws_mod  # noqa: E402
from awslb import deploy, moto_gaps, spec  # noqa: E402
from awslb.aws import Aws  # noqa: E402
from awslb.cli import app  # noqa: E402
from awslb.sandbox import seed_account  # noqa: E402
from awslb.ui import UI  # noqa: E402
from tests.faults import FailNth  # noqa: E402

PHASES = ("seed", "up failing", "up", "no-op up", "observe")


def point(example: Path, n: int) -> dict[str, float]:
    os.environ["AWSLB_HOME"] = tempfile.mkdtemp()
    took: dict[str, float] = {}
    runner = CliRunner()

    def up() -> None:
        runner.invoke(app, ["up", "-f", str(example), "--yes"], catch_exceptions=False)

    with mock_aws():
        steps = [("seed", lambda: seed_account(Aws(region="us-east-1"))),
                 ("up failing", lambda: _failing(up, n)), ("up", up), ("no-op up", up),
                 ("observe", lambda: deploy.observe(deploy.context(
                     Aws(region="us-east-1"), UI(), spec.load(example).name, deploy.Options(poll=0.01))))]
        for name, run in steps:
            start = time.process_time()
            run()
            took[name] = time.process_time() - start
    return took


def _failing(up, n: int) -> None:
    with aws_mod.hooked("before-call", FailNth(n)):
        up()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", nargs="*", type=Path)
    parser.add_argument("--points", type=int, default=4, help="points (write numbers 0, 2, 4...) per example")
    args = parser.parse_args()
    for obj, attr, value in moto_gaps.patches():
        setattr(obj, attr, value)
    examples = args.examples or sorted((ROOT / "examples").glob("*.toml"))
    print(f"{'example':24}" + "".join(f"{p:>12}" for p in PHASES) + f"{'point':>10}")
    for example in examples:
        runs = [point(example, 2 * i) for i in range(args.points)]
        medians = [statistics.median(r[p] for r in runs) for p in PHASES]
        print(f"{example.stem:24}" + "".join(f"{m:11.2f}s" for m in medians) + f"{sum(medians):9.2f}s")
    print("(process CPU seconds, median of the points; the reliability matrix runs one point per write)")


if __name__ == "__main__":
    main()
