"""The generated IAM policy against what `up` and `down` really call, for every example.

Each example stack is applied and torn down under moto with a recorder on every AWS call;
each call maps to its IAM action (ec2 -> ec2, elbv2/elb -> elasticloadbalancing, ...).
Every action a run makes must be in that stack's policy; and every action any policy
grants must be made by some run, apart from the allow-list below (each entry says why no
up/down of a fresh example calls it). This keeps the kinds' operations() honest.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from moto import mock_aws

from awslb import aws as aws_mod
from awslb import deploy, iam, spec
from awslb.aws import Aws
from awslb.sandbox import seed_account
from awslb.ui import UI
from tests.conftest import REGION, ROOT, Calls

EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))

# Granted, but no up/down of a fresh example stack calls it:
ALLOWED_UNUSED = {
    # Authorized by AWS as part of another call, never called by awslb itself: tag on
    # create (TagSpecifications / Tags on the create), the service-linked roles AWS makes
    # on first use, instances an Auto Scaling group launches from a launch template.
    "ec2:CreateTags": "tag on create",
    "elasticloadbalancing:AddTags": "tag on create",
    "autoscaling:CreateOrUpdateTags": "group tags changed in place (update only)",
    "iam:CreateServiceLinkedRole": "made by AWS on first use",
    "ec2:RunInstances": "checked when a group launches from a launch template",
    "iam:PassRole": "an instance profile in a launch template",
    # The HAProxy tier's preflight (no example deploys it: tests/aws/test_haproxy_tier.py does).
    "secretsmanager:DescribeSecret": "haproxy.deploy preflight (tests/aws/test_haproxy_tier.py)",
    # Changing a resource that exists with other settings (the update path of a kind):
    # a fresh up then down makes, never changes.
    "ec2:CreateLaunchTemplateVersion": "update",
    "ec2:ModifyLaunchTemplate": "update",
    "elasticloadbalancing:SetSubnets": "update",
    "elasticloadbalancing:SetSecurityGroups": "update",
    "elasticloadbalancing:ModifyTargetGroup": "update",
    "elasticloadbalancing:DeregisterTargets": "update",
    "elasticloadbalancing:ModifyListener": "update (the listener switched to HTTPS in place)",
    "elasticloadbalancing:CreateLoadBalancerListeners": "update (a new Classic balancer gets them in CreateLoadBalancer)",
    "elasticloadbalancing:DeleteLoadBalancerListeners": "update",
    "elasticloadbalancing:SetLoadBalancerListenerSSLCertificate": "update",
    "elasticloadbalancing:DeleteLoadBalancerPolicy": "update",
    "elasticloadbalancing:DeregisterInstancesFromLoadBalancer": "update",
    "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer": "update",
    "elasticloadbalancing:AttachLoadBalancerToSubnets": "update",
    "elasticloadbalancing:DetachLoadBalancerFromSubnets": "update",
    "autoscaling:UpdateAutoScalingGroup": "update",
    "autoscaling:DeletePolicy": "update",
    "autoscaling:DeleteWarmPool": "update",
    "autoscaling:DeleteScheduledAction": "update (a schedule entry removed; a group takes its actions with it)",
    "autoscaling:DeleteLifecycleHook": "update (the drain or launch hook switched off; a group takes its hooks with it)",
    "autoscaling:AttachLoadBalancerTargetGroups": "update (a new group gets them in CreateAutoScalingGroup)",
    "autoscaling:AttachLoadBalancers": "update (a new group gets them in CreateAutoScalingGroup)",
    "autoscaling:DetachLoadBalancerTargetGroups": "update",
    "autoscaling:DetachLoadBalancers": "update",
    "autoscaling:DeleteTags": "update",
    "autoscaling:SetDesiredCapacity": "`asg scale` of the group",
    "autoscaling:StartInstanceRefresh": "`asg refresh` (moto lacks it)",
    "ec2:CopyImage": "image.copy_to (no example copies)",
    # Roles, the DNS function and its rule (awslb/resources/iam_role.py, dns_function.py, events_rule.py).
    "iam:TagRole": "tag on create (CreateRole with Tags); tags changed in place",
    "iam:TagInstanceProfile": "tag on create (CreateInstanceProfile with Tags)",
    "iam:UpdateAssumeRolePolicy": "update",
    "iam:AttachRolePolicy": "launch.ssm = true (moto has no AWS managed policies: tests/aws/test_fleet.py)",
    "iam:DetachRolePolicy": "update (launch.ssm switched off); down of a role with launch.ssm",
    "lambda:TagResource": "update",
    "lambda:UpdateFunctionCode": "update (another awslb version's code)",
    "lambda:UpdateFunctionConfiguration": "update",
    "events:TagResource": "update",
    "scheduler:TagResource": "tag on create (CreateScheduleGroup with Tags); tags changed in place",
    "scheduler:UpdateSchedule": "update (a schedule entry changed)",
    "route53:ChangeResourceRecordSets": "down with records left by the function (tests/aws/test_fleet.py)",
    "route53:GetHostedZone": "dns.zone given by id",
    # Reads that only some inputs or states make.
    "ec2:DescribeInstances": "existing servers named in the stack (targets, image.from_instance)",
    "iam:ListServerCertificates": "an IAM server certificate instead of ACM",
    "ec2:DescribeKeyPairs": "launch.key_name",
    "elasticloadbalancing:RegisterInstancesWithLoadBalancer": "existing servers behind a Classic balancer",
    "elasticloadbalancing:DescribeInstanceHealth": "`awslb status` of a Classic balancer (the kind's status())",
    "autoscaling:DescribeInstanceRefreshes": "a refresh in progress",
}


def recorded_run(example: Path) -> tuple[set[str], dict]:
    """Apply then delete the example under moto; the IAM actions of every call made."""
    s = spec.load(example)
    rec = Calls()
    opts = deploy.Options(poll=0.01, delete_timeout=5, delete_images=True)
    ui = UI("text", color=False)
    with mock_aws():
        seed_account(Aws(region=REGION))  # the account as it was before awslb: not recorded
        with aws_mod.hooked("before-call", rec):
            aws = Aws(region=REGION)
            deploy.up(aws, ui, s, opts=opts)
            deploy.down(aws, ui, s.name, opts=opts)
        left = deploy.observe(deploy.context(Aws(region=REGION), ui, s.name, opts))
    assert left == {}, f"{example.name}: down left {sorted(left)}"
    assert rec.mutating, f"{example.name}: the run changed nothing"
    return {iam.action_of(service, op) for service, op in rec.made}, iam.policy(s)


@cache
def run_once(example: Path) -> tuple[frozenset[str], frozenset[str]]:
    used, doc = recorded_run(example)
    return frozenset(used), frozenset(iam.actions(doc))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_the_policy_allows_every_call_up_and_down_make(example: Path) -> None:
    used, granted = run_once(example)
    missing = sorted(used - granted)
    assert missing == [], f"{example.name}: calls the policy does not allow: {missing}"


def test_the_policies_grant_nothing_no_run_uses() -> None:
    used: set[str] = set()
    granted: set[str] = set()
    for example in EXAMPLES:
        u, g = run_once(example)
        used |= u
        granted |= g
    unused = sorted(granted - used - set(ALLOWED_UNUSED))
    assert unused == [], (
        f"granted but never called by up/down of any example: {unused}; drop them from the kind's "
        "operations(), or add an example that uses them, or (implied permissions, update paths) "
        "add them to ALLOWED_UNUSED with the reason"
    )
