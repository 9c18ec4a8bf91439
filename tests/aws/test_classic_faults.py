"""Fault injection on the Classic example: fail each mutating operation of `up` in turn; a
re-run completes the stack, a third run changes nothing, `down --delete-images` leaves nothing."""

from __future__ import annotations

import pytest

from awslb import aws as aws_mod
from awslb.aws import client_error, is_mutating
from tests.aws.classic_helpers import (
    fill_moto_gaps,
    issue_certificate,
    run_server,
    stack_images,
    tagged_balancers,
)
from tests.aws.test_classic_lb import example_without_autoscaling

STACK = "wcs-classic"
# Every mutating operation `up` makes for the example (checked below, so none is missed).
OPERATIONS = [
    "CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "CreateImage", "CreateLoadBalancer",
    "CreateLBCookieStickinessPolicy", "CreateLoadBalancerPolicy", "SetLoadBalancerPoliciesOfListener",
    "ConfigureHealthCheck", "ModifyLoadBalancerAttributes",
]


class Faults:
    """A before-call hook that records mutating calls and fails the first call of ``fail``."""

    def __init__(self, fail: str | None = None):
        self.fail = fail
        self.made: list[str] = []

    def __call__(self, model, params, **kwargs):
        if not is_mutating(model.name):
            return None
        self.made.append(model.name)
        if model.name == self.fail and self.made.count(model.name) == 1:
            raise client_error(model.name, "InternalFailure", "injected by the test")
        return None


@pytest.fixture
def example(aws, tmp_path, monkeypatch: pytest.MonkeyPatch):
    fill_moto_gaps(monkeypatch)
    run_server(aws)
    issue_certificate(aws)
    return example_without_autoscaling(tmp_path)


def test_the_list_covers_every_mutating_operation(cli, example) -> None:
    record = Faults()
    with aws_mod.hooked("before-call", record):
        assert cli("up", "-f", str(example), "--yes").exit_code == 0
    assert sorted(set(record.made)) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_failed_call_is_resumed_by_a_rerun(cli, aws, example, operation) -> None:
    fault = Faults(operation)
    with aws_mod.hooked("before-call", fault):
        first = cli("up", "-f", str(example), "--yes")
    assert first.exit_code == 1 and "injected by the test" in first.stderr
    again = cli("up", "-f", str(example), "--yes")
    assert again.exit_code == 0, again.stderr
    record = Faults()
    with aws_mod.hooked("before-call", record):
        assert cli("up", "-f", str(example), "--yes").exit_code == 0
    assert record.made == []
    assert len(stack_images(aws, STACK)) == 1 and tagged_balancers(aws, STACK) == ["wcs-classic-elb"]
    assert cli("down", STACK, "--yes", "--delete-images").exit_code == 0
    assert tagged_balancers(aws, STACK) == [] and stack_images(aws, STACK) == []
