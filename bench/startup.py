#!/usr/bin/env python3
"""Start-up time of `awslb --help`, `awslb --version` and every subcommand's `--help`
against `aws --version`.

Runs each command several times in fresh processes and prints the medians, the ratio to
the AWS CLI (the goal: at most 0.3x) and the slowest help. Usage:
python bench/startup.py [--runs 15] [--no-subcommands]
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
    # As on a user's machine: byte-code cached (pip compiles a wheel at install; an editable
    # checkout writes __pycache__ on the first run), so the warm-up run below may write it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(cmd, capture_output=True, env=env, check=True)  # warm the page cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def subcommands() -> list[list[str]]:
    """Every command path of the CLI (`up`, `asg create`, ...), from its click tree."""
    sys.path.insert(0, str(ROOT))
    import typer.main

    from awslb.cli import app

    paths: list[list[str]] = []

    def walk(cmd, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        children = getattr(cmd, "commands", None)
        if children:
            for name, sub in sorted(children.items()):
                walk(sub, [*path, name])
        elif path:
            paths.append(path)

    walk(typer.main.get_command(app), [])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-subcommands", action="store_true", help="only awslb --help and --version")
    args = parser.parse_args()
    base = awslb_cmd()
    rows = [("awslb --help", base + ["--help"]), ("awslb --version", base + ["--version"])]
    if not args.no_subcommands:
        rows += [(f"awslb {' '.join(p)} --help", base + [*p, "--help"]) for p in subcommands()]
    aws = aws_cmd()
    ref = median_seconds(aws + ["--version"], args.runs) if aws else None
    width = max(len(label) for label, _ in rows) + 2
    print(f"{'command':<{width}} {'median ms':>10} {'vs aws --version':>18}")
    worst = ("", 0.0)
    for label, cmd in rows:
        m = median_seconds(cmd, args.runs)
        ratio = f"{m / ref:.2f}x" if ref else "n/a"
        print(f"{label:<{width}} {m * 1000:>10.1f} {ratio:>18}")
        if m > worst[1]:
            worst = (label, m)
    if ref:
        print(f"{'aws --version':<{width}} {ref * 1000:>10.1f} {'1.00x':>18}")
        print(f"slowest: {worst[0]} at {worst[1] / ref:.2f}x of aws --version (goal: at most 0.30x)")
    else:
        print("aws --version: the AWS CLI is not installed (pip install awscli)")
    print(f"runs per command: {args.runs}")


if __name__ == "__main__":
    main()
