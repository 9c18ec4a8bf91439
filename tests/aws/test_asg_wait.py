"""`up` waits until the group's instances are in service and healthy in the target group.

moto marks registered targets healthy at once, so the first answers of
DescribeTargetHealth are faked as 'initial' with a before-call handler (said here).
"""

import pytest

from awslb import aws as aws_mod
from awslb import deploy, spec
from awslb.aws import Aws
from awslb.errors import StepFailed
from awslb.ui import UI
from tests.conftest import REGION, ROOT, fake_call

EXAMPLE = ROOT / "examples" / "alb-autoscaling-edge.toml"


class NotYetHealthy:
    def __init__(self, times: int):
        self.left = times
        self.asked = 0

    def __call__(self, params, **kwargs):
        self.asked += 1
        if self.left == 0:
            return None  # moto answers: healthy
        self.left -= 1
        return fake_call({"TargetHealthDescriptions": [
            {"Target": {"Id": "i-0123456789abcdef0", "Port": 8080}, "TargetHealth": {"State": "initial"}}]})


def test_up_waits_for_healthy_targets(seeded) -> None:
    gate = NotYetHealthy(3)
    with aws_mod.hooked("before-call.elastic-load-balancing-v2.DescribeTargetHealth", gate):
        result = deploy.up(Aws(region=REGION), UI(), spec.load(EXAMPLE), opts=deploy.Options(poll=0.01))
    assert result.applied and result.run is not None and result.run.ok
    assert gate.left == 0 and gate.asked >= 4


def test_a_group_that_never_gets_healthy_fails_with_a_hint(seeded) -> None:
    gate = NotYetHealthy(10**6)
    with aws_mod.hooked("before-call.elastic-load-balancing-v2.DescribeTargetHealth", gate):
        with pytest.raises(StepFailed) as err:
            deploy.up(Aws(region=REGION), UI(), spec.load(EXAMPLE), opts=deploy.Options(poll=0.01, timeout=0.3))
    assert "0 of 1 instance(s) in service and healthy" in str(err.value)


def test_no_wait_skips_it(seeded) -> None:
    gate = NotYetHealthy(10**6)
    with aws_mod.hooked("before-call.elastic-load-balancing-v2.DescribeTargetHealth", gate):
        result = deploy.up(Aws(region=REGION), UI(), spec.load(EXAMPLE), opts=deploy.Options(poll=0.01, wait=False))
    assert result.run is not None and result.run.ok
