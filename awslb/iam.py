"""The least-privilege IAM policy for `up` and `down` of one stack, derived from the kinds.

Nothing here is a hand-kept list of what awslb calls: the actions come from the kinds
(``Kind.operations()``), and which kinds a stack uses comes from the plan logic itself
(``Kind.desired`` on a network placeholder: no AWS call, no credentials). What *is* kept
here is knowledge about IAM: which actions authorize on the tags of the request (creates)
and which on the tags of an existing resource, so writes can be limited to the stack:

- reads (``Describe*``, ``List*``, ``Get*``) do not support resource-level permissions for
  the most part: one statement with ``Resource: "*"``. The reads of *every* registered
  kind are included, because `up` and `down` discover every kind by the stack tag;
- creates that AWS authorizes against the new resource's request tags
  (``aws:RequestTag/awslb:stack``), on that resource's ARN only; any other resource the
  call touches (the VPC of a new security group) gets its own statement without it;
- changes and deletes of the stack's own resources (``aws:ResourceTag/awslb:stack``);
- tagging: allowed only with the stack's tag in the request, or none of it (see TAGGERS);
- everything else (where resource-level tag conditions are missing or we are not sure they
  are evaluated for every resource the call touches): ``Resource: "*"``, listed in one
  statement, so a reviewer sees at a glance what is not limited;
- ``iam:CreateServiceLinkedRole``, limited to the ELB and Auto Scaling service names, when
  the stack creates a balancer or a group (AWS creates those roles on first use).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from awslb import names
from awslb.errors import AwslbError
from awslb.resources.base import Kind, Network
from awslb.spec import StackSpec

# The read-only look-ups the engine itself makes, outside any kind:
# awslb/resources/network.py (the VPC and one subnet per zone) and
# awslb/resources/lookup.py (existing servers by id or Name tag).
ENGINE_READS = ("ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeInstances")

# botocore service name -> IAM service prefix (the action is the operation's name).
SERVICE_PREFIX = {
    "ec2": "ec2",
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "autoscaling": "autoscaling",
    "acm": "acm",
    "iam": "iam",
    "secretsmanager": "secretsmanager",
    "sts": "sts",
    "lambda": "lambda",
    "events": "events",
    "route53": "route53",
    "scheduler": "scheduler",
}

# IAM writes of the stack's own roles and instance profiles: every one lives under the IAM
# path /awslb/<stack>/ (awslb/resources/iam_role.py), so these are limited to that path.
IAM_ON_PATH = {"iam:CreateRole", "iam:GetRole", "iam:TagRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
               "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListRolePolicies",
               "iam:DeleteRole", "iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:GetInstanceProfile",
               "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"}

READ_PREFIXES = ("Describe", "List", "Get")

# Creates that AWS authorizes against the request's tags on the new resource:
# action -> (ARN service, the new resource, other resources the call is authorized on).
# The other resources do not carry the request's tags, so they get no tag condition.
CREATES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ec2:CreateSecurityGroup": ("ec2", "security-group/*", ("vpc/*",)),
    "ec2:CreateLaunchTemplate": ("ec2", "launch-template/*", ()),
    # ALB and Classic share the action; both ARNs are loadbalancer/...
    "elasticloadbalancing:CreateLoadBalancer": ("elasticloadbalancing", "loadbalancer/*", ()),
    "elasticloadbalancing:CreateTargetGroup": ("elasticloadbalancing", "targetgroup/*", ()),
    "autoscaling:CreateAutoScalingGroup": ("autoscaling", "autoScalingGroup:*", ()),
}

# Changes and deletes of an existing resource, authorized on its tags: action -> (ARN
# service, resource). Only actions whose every authorized resource is the stack's own
# tagged resource are here (a listener, an image's snapshots or the source instance of an
# image are not: those actions stay in the unconditioned statement).
_SG = ("ec2", "security-group/*")
_LT = ("ec2", "launch-template/*")
_LB = ("elasticloadbalancing", "loadbalancer/*")
_TG = ("elasticloadbalancing", "targetgroup/*")
_ASG = ("autoscaling", "autoScalingGroup:*")
ON_OWN: dict[str, tuple[str, str]] = {
    "ec2:AuthorizeSecurityGroupIngress": _SG,
    "ec2:RevokeSecurityGroupIngress": _SG,
    "ec2:DeleteSecurityGroup": _SG,
    "ec2:CreateLaunchTemplateVersion": _LT,
    "ec2:ModifyLaunchTemplate": _LT,
    "ec2:DeleteLaunchTemplate": _LT,
    "ec2:DeregisterImage": ("ec2", "image/*"),
    # ELB (ALB and Classic): the balancer's own actions.
    "elasticloadbalancing:DeleteLoadBalancer": _LB,
    "elasticloadbalancing:ModifyLoadBalancerAttributes": _LB,
    "elasticloadbalancing:SetSubnets": _LB,
    "elasticloadbalancing:SetSecurityGroups": _LB,
    "elasticloadbalancing:CreateLoadBalancerListeners": _LB,
    "elasticloadbalancing:DeleteLoadBalancerListeners": _LB,
    "elasticloadbalancing:ConfigureHealthCheck": _LB,
    "elasticloadbalancing:CreateLBCookieStickinessPolicy": _LB,
    "elasticloadbalancing:CreateLoadBalancerPolicy": _LB,
    "elasticloadbalancing:DeleteLoadBalancerPolicy": _LB,
    "elasticloadbalancing:SetLoadBalancerPoliciesOfListener": _LB,
    "elasticloadbalancing:RegisterInstancesWithLoadBalancer": _LB,
    "elasticloadbalancing:DeregisterInstancesFromLoadBalancer": _LB,
    "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer": _LB,
    "elasticloadbalancing:AttachLoadBalancerToSubnets": _LB,
    "elasticloadbalancing:DetachLoadBalancerFromSubnets": _LB,
    "elasticloadbalancing:DeleteTargetGroup": _TG,
    "elasticloadbalancing:ModifyTargetGroup": _TG,
    "elasticloadbalancing:ModifyTargetGroupAttributes": _TG,
    "elasticloadbalancing:RegisterTargets": _TG,
    "elasticloadbalancing:DeregisterTargets": _TG,
    "autoscaling:UpdateAutoScalingGroup": _ASG,
    "autoscaling:DeleteAutoScalingGroup": _ASG,
    "autoscaling:SetDesiredCapacity": _ASG,
    "autoscaling:PutScalingPolicy": _ASG,
    "autoscaling:DeletePolicy": _ASG,
    "autoscaling:PutWarmPool": _ASG,
    "autoscaling:DeleteWarmPool": _ASG,
    "autoscaling:PutLifecycleHook": _ASG,
    "autoscaling:PutScheduledUpdateGroupAction": _ASG,
    "autoscaling:DeleteScheduledAction": _ASG,
    "autoscaling:DeleteLifecycleHook": _ASG,
    "autoscaling:AttachLoadBalancerTargetGroups": _ASG,
    "autoscaling:DetachLoadBalancerTargetGroups": _ASG,
    "autoscaling:AttachLoadBalancers": _ASG,
    "autoscaling:DetachLoadBalancers": _ASG,
    "autoscaling:StartInstanceRefresh": _ASG,
    "autoscaling:DeleteTags": _ASG,
}

# Tagging actions. They are authorized when a create carries tags (tag on create) and
# when awslb tags a resource itself (an image copied to another region, the Classic
# balancer's target list). Limiting them to `aws:ResourceTag` would refuse tag-on-create
# and the tagging of a fresh copy; so the condition is on the request instead: a request
# that sets awslb:stack must set it to this stack (StringEqualsIfExists: a request that
# sets only other tags, such as Name, passes). Residual risk, as with every tag-based
# policy: whoever holds it may tag a resource of nobody's stack with this stack's tag.
TAGGERS = ("ec2:CreateTags", "elasticloadbalancing:AddTags", "autoscaling:CreateOrUpdateTags")

# The service-linked roles AWS creates on first use, by the create that needs them.
SERVICE_LINKED = {
    "elasticloadbalancing:CreateLoadBalancer": "elasticloadbalancing.amazonaws.com",
    "autoscaling:CreateAutoScalingGroup": "autoscaling.amazonaws.com",
}
SLR_ACTION = "iam:CreateServiceLinkedRole"
PASS_ROLE = "iam:PassRole"


def action_of(service: str, operation: str) -> str:
    """The IAM action of one API call: ('elbv2', 'CreateListener') -> 'elasticloadbalancing:CreateListener'."""
    return f"{SERVICE_PREFIX.get(service, service)}:{operation}"


def is_read(action: str) -> bool:
    return action.split(":", 1)[1].startswith(READ_PREFIXES)


@dataclass(frozen=True)
class Derived:
    """What the policy is made from: the kinds the stack uses and their actions."""

    stack: str
    used: tuple[str, ...]  # kinds whose resources the plan would make
    reads: frozenset[str]
    writes: frozenset[str]


def placeholder_network(spec: StackSpec) -> Network:
    """A network for planning without AWS: ``desired`` only needs ids to put in props.

    Facts from preflight look-ups are unknown: ``facts[key]`` is a placeholder string and
    ``facts.get(key, default)`` answers the default, as if the look-up found nothing.
    """
    return Network(spec.stack.region or "*", "vpc-unknown", ("subnet-unknown",), ("zone-unknown",),
                   _UnknownFacts())


class _UnknownFacts(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        return f"({key}: known after the look-up)"

    def get(self, key: str, default: Any = None) -> Any:
        return default

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())

    def __len__(self) -> int:
        return 0


def uses(kind: Kind, spec: StackSpec, net: Network) -> bool:
    """Does the stack's plan make resources of this kind? Pure: ``desired`` only.

    A kind whose ``desired`` cannot run without its look-up facts counts as used: the
    policy then allows a little more rather than refuse a call `up` makes.
    (tests/unit/test_iam.py checks that this fallback is not needed for any example.)
    """
    try:
        return bool(kind.desired(spec, net))
    except AwslbError:
        raise  # the stack itself is wrong (a missing template variable): say so, as `up` would
    except Exception:  # noqa: BLE001 - see the docstring
        return True


def derive(spec: StackSpec, kinds: Mapping[str, Kind] | None = None) -> Derived:
    if kinds is None:
        from awslb import resources

        kinds = resources.registry()
    net = placeholder_network(spec)
    used = tuple(name for name, kind in kinds.items() if uses(kind, spec, net))
    reads: set[str] = set(ENGINE_READS)
    writes: set[str] = set()
    for name, kind in kinds.items():
        ops = kind.operations()
        # Every kind is discovered by the stack tag on every `up` and `down`.
        reads.update(ops.get("read", []))
        if name in used:
            writes.update(ops.get("write", []))
    # A read listed under "write" is still a read (tests/unit/test_iam.py checks that no
    # kind lists a write under "read": it would be granted for kinds the stack does not use).
    return Derived(spec.name, used, frozenset(a for a in reads | writes if is_read(a)),
                   frozenset(a for a in writes if not is_read(a)))


def policy(spec: StackSpec, kinds: Mapping[str, Kind] | None = None, region: str | None = None) -> dict[str, Any]:
    """The IAM policy document (a dict ready for json.dumps) for `up` and `down` of ``spec``."""
    d = derive(spec, kinds)
    region = region or spec.stack.region
    arn = _arn_maker(region)
    stack_tag = {"StringEquals": {f"aws:RequestTag/{names.TAG_STACK}": d.stack}}
    own_tag = {"StringEquals": {f"aws:ResourceTag/{names.TAG_STACK}": d.stack}}
    writes = set(d.writes)
    statements: list[dict[str, Any]] = []

    def add(sid: str, actions: Iterable[str], resource: Any, condition: dict[str, Any] | None = None) -> None:
        acts = sorted(set(actions))
        if not acts:
            return
        st: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": acts,
                              "Resource": sorted(set(resource)) if isinstance(resource, (set, list)) else resource}
        if condition:
            st["Condition"] = condition
        statements.append(st)

    add("ReadOnly", d.reads, "*")

    creates = sorted(a for a in writes if a in CREATES)
    add("CreateOnlyWithTheStackTag", creates, {arn(*CREATES[a][:2]) for a in creates}, stack_tag)
    for a in creates:
        service, _, others = CREATES[a]
        if others:
            add(_sid(a, "OnOtherResources"), [a], [arn(service, o) for o in others])

    own = sorted(a for a in writes if a in ON_OWN)
    add("ChangeOnlyTheStacksResources", own, {arn(*ON_OWN[a]) for a in own}, own_tag)

    taggers = sorted(a for a in writes if a in TAGGERS)
    add("TagOnlyWithTheStackTag", taggers, "*",
        {"StringEqualsIfExists": {f"aws:RequestTag/{names.TAG_STACK}": d.stack}})

    roles = sorted({SERVICE_LINKED[a] for a in writes if a in SERVICE_LINKED})
    add("ServiceLinkedRolesOfTheBalancerAndGroup", [SLR_ACTION] if roles else [], "*",
        {"StringEquals": {"iam:AWSServiceName": roles}})
    own_roles = [f"arn:{arn('iam', '').split(':')[1]}:iam::*:{what}{'/awslb/'}{d.stack}/*"
                 for what in ("role", "instance-profile")]
    add("OnlyTheStacksRolesAndProfiles", [a for a in writes if a in IAM_ON_PATH], own_roles)
    # Only the stack's roles, and only to the services that run them (an instance profile
    # in a launch template: EC2; the DNS function: Lambda).
    add("PassRolesOnlyToInstancesAndTheDnsFunction", [a for a in writes if a == PASS_ROLE], own_roles[:1],
        {"StringEquals": {"iam:PassedToService": pass_to(spec)}})

    # Not limited by tags: the action has no tag condition for every resource it is
    # authorized on, or we are not sure AWS evaluates one there (a listener's ARN, the
    # snapshots of an image, the source instance of CreateImage, RunInstances from a
    # launch template). Resource "*" keeps `up` working; the list shows what is open.
    special = set(CREATES) | set(ON_OWN) | set(TAGGERS) | {SLR_ACTION, PASS_ROLE} | IAM_ON_PATH
    add("WritesWithoutTagConditions", [a for a in writes if a not in special], "*")
    return {"Version": "2012-10-17", "Statement": statements}


def pass_to(spec: StackSpec) -> list[str]:
    """The services the stack hands its roles to."""
    out = ["ec2.amazonaws.com"]
    if spec.dns is not None:
        out.append("lambda.amazonaws.com")
    if spec.autoscaling is not None and any(e.warm_pool for e in spec.autoscaling.schedule):
        out.append("scheduler.amazonaws.com")
    return out


def actions(document: Mapping[str, Any]) -> set[str]:
    """Every action a policy document allows (for tests and reviews)."""
    out: set[str] = set()
    for st in document["Statement"]:
        acts = st["Action"]
        out.update([acts] if isinstance(acts, str) else acts)
    return out


def _sid(action: str, suffix: str) -> str:
    return action.split(":", 1)[1] + suffix


def _arn_maker(region: str | None):  # type: ignore[no-untyped-def]
    partition = "aws"
    if region and region.startswith("cn-"):
        partition = "aws-cn"
    elif region and region.startswith("us-gov-"):
        partition = "aws-us-gov"
    where = region or "*"

    def arn(service: str, resource: str) -> str:
        return f"arn:{partition}:{service}:{where}:*:{resource}"

    return arn
