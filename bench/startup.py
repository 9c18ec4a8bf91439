#!/usr/bin/env python3
"""Start-up time of `awslb --help` and `awslb --version` against `aws --version`.

Runs each command several times in fresh processes and prints the medians and the ratio
to the AWS CLI. Usage: python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def awslb_cmd() -> list[str]:
    exe = shutil.which("awslb")
    return [exe] if exe else [sys.executable, "-m", "awslb"]


def aws_cmd() -> list[str] | None:
    exe = shutil.which("aws") or str(Path(sys.executable).parent / "aws")
    return [exe] if Path(exe).exists() else None


def median_seconds(cmd: list[str], runs: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(cmd, capture_output=True, env=env, check=True)  # warm the page cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base = awslb_cmd()
    rows = [("awslb --help", base + ["--help"]), ("awslb --version", base + ["--version"])]
    aws = aws_cmd()
    ref = median_seconds(aws + ["--version"], args.runs) if aws else None
    print(f"{'command':<18} {'median ms':>10} {'vs aws --version':>18}")
    for label, cmd in rows:
        m = median_seconds(cmd, args.runs)
        ratio = f"{m / ref:.2f}x" if ref else "n/a"
        print(f"{label:<18} {m * 1000:>10.1f} {ratio:>18}")
    if ref:
        print(f"{'aws --version':<18} {ref * 1000:>10.1f} {'1.00x':>18}")
    else:
        print("aws --version: the AWS CLI is not installed (pip install awscli)")
    print(f"runs per command: {args.runs}")


if __name__ == "__main__":
    main()
