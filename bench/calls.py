#!/usr/bin/env python3
"""API calls made by `awslb up`, a no-op `up`, and `down`, for each example stack.

Counted with a botocore 'before-call' hook against moto (in-process, seeded like the
sandbox). The minimum for `up` is one create per resource; the calls beyond that are
listed by operation so they can be judged (attributes, tags, policies that AWS only sets
through separate calls). Usage: python bench/calls.py [examples/x.toml ...]
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWSLB_POLL", "0.01")

from moto import mock_aws  # noqa: E402

from awslb import aws as aws_mod  # noqa: E402
from awslb import (  # noqa: E402
    deploy,
    moto_gaps,  # noqa: E402
    spec,
)
from awslb.aws import Aws, is_mutating  # noqa: E402
from awslb.sandbox import seed_account  # noqa: E402
from awslb.ui import UI  # noqa: E402

REGION = "us-east-1"


class Recorder:
    def __init__(self) -> None:
        self.ops: list[str] = []

    def __call__(self, model, **kwargs):
        self.ops.append(model.name)

    def split(self) -> tuple[list[str], list[str]]:
        return [o for o in self.ops if not is_mutating(o)], [o for o in self.ops if is_mutating(o)]


def measure(example: Path, tmp: Path) -> dict:
    os.environ["AWSLB_HOME"] = str(tmp / example.stem)
    s = spec.load(example)
    ui = UI("text", color=False)
    ui.err.quiet = True
    opts = deploy.Options(poll=0.01, delete_timeout=30, delete_images=True)
    out: dict = {}
    with mock_aws():
        seed_account(Aws(region=REGION))
        for phase in ("up", "noop", "down"):
            rec = Recorder()
            with aws_mod.hooked("before-call", rec):
                aws = Aws(region=REGION)
                if phase == "down":
                    deploy.down(aws, ui, s.name, opts=opts)
                else:
                    result = deploy.up(aws, ui, s, opts=opts)
                    if phase == "up":
                        out["resources"] = result.plan.count("create")
            out[phase] = rec.split()
    return out


def main() -> None:
    import tempfile

    moto_gaps.install()  # where moto differs from AWS in these flows, as in the sandbox
    examples = [Path(a) for a in sys.argv[1:]] or sorted((ROOT / "examples").glob("*.toml"))
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'example':<26} {'res':>4} {'up r/w':>9} {'min w':>6} {'no-op r/w':>10} {'down r/w':>9}")
        extras = {}
        for ex in examples:
            m = measure(ex, Path(tmp))
            (ur, uw), (nr, nw), (dr, dw) = m["up"], m["noop"], m["down"]
            print(f"{ex.stem:<26} {m['resources']:>4} {len(ur):>4}/{len(uw):<4} {m['resources']:>6} "
                  f"{len(nr):>5}/{len(nw):<4} {len(dr):>4}/{len(dw):<4}")
            creates = Counter(o for o in uw if o.startswith(("Create", "Run", "Copy", "Request")))
            rest = Counter(o for o in uw if not o.startswith(("Create", "Run", "Copy", "Request")))
            extras[ex.stem] = (creates, rest)
        print("\nwrites of `up` beyond one create per resource, by operation:")
        for name, (creates, rest) in extras.items():
            print(f"  {name}: creates {dict(creates)}; other writes {dict(rest)}")


if __name__ == "__main__":
    main()
