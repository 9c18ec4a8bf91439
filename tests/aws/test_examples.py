"""Every example stack, as a user runs it: `up`, `up` again, `plan`, `down` (moto in-process).

The one generic "up, again, down" test; the example-specific read-backs (what AWS holds
after `up`) stay beside their kinds' tests (test_alb.py, test_classic_lb.py, test_haproxy.py,
test_example_alb_autoscaling.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from awslb import aws as aws_mod
from awslb import spec
from tests.aws.test_reliability import EXAMPLES, leftovers
from tests.conftest import Calls


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_up_again_and_down(cli, seeded, example: Path) -> None:
    stack = spec.load(example).name
    first = cli("up", "-f", str(example), "--yes")
    assert first.exit_code == 0, first.stderr
    made = leftovers(stack)
    assert made and not [k for k in made if "#" in k], sorted(made)

    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        again = cli("up", "-f", str(example), "--yes")
    assert again.exit_code == 0, again.stderr
    assert rec.mutating == [], rec.mutating
    assert "up to date" in again.stderr
    assert cli("plan", "-f", str(example), "--exit-code").exit_code == 0

    down = cli("down", stack, "--yes", "--delete-images")
    assert down.exit_code == 0, down.stderr
    assert leftovers(stack) == {}
