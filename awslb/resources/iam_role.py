"""IAM roles the stack's own machinery runs as: the servers' instance role and the DNS function's role.

- ``instance-role`` (trusted by ``ec2.amazonaws.com``, with an instance profile the launch
  template or launch configuration names): made only when the stack enables something the
  servers call AWS for, and its inline policy holds only that:

  * a drain hook (``[autoscaling.drain]``): complete the lifecycle action, record heartbeats
    and set scale-in protection, on the stack's own group only;
  * a launch hook (a warm pool with awslb's user-data, which completes it): complete the
    lifecycle action on the stack's own group only;
  * media metrics (``[autoscaling] metric`` other than cpu): ``cloudwatch:PutMetricData``
    with the condition ``cloudwatch:namespace = awslb/Media``;
  * ``launch.ssm = true``: AWS's managed policy ``AmazonSSMManagedInstanceCore``.

- ``dns-role`` (trusted by ``lambda.amazonaws.com``) for the per-instance DNS function:
  its own log group, record changes in the stack's hosted zone only, and the two reads it
  makes (instances' addresses, the group's in-service instances).

Both live under the IAM path ``/awslb/<stack>/`` and carry the stack's tags; they are found
by that path (IAM's list calls return no tags), and ``iam-policy`` limits awslb's own IAM
writes to that path. A role is deleted with its inline policies, managed-policy attachments
and instance profiles, so nothing is left that IAM would refuse to delete.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.errors import AwsError
from awslb.node.metrics import NAMESPACE
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.spec import StackSpec

INSTANCE_ROLE = "instance-role"
DNS_ROLE = "dns-role"
SCHEDULE_ROLE = "schedule-role"
POLICY_NAME = "awslb"
SSM_POLICY = "AmazonSSMManagedInstanceCore"
MEDIA_METRICS = ("viewers", "publishers", "bandwidth_out")


def role_path(stack: str) -> str:
    return f"/awslb/{stack}/"


def role_name(stack: str, logical_id: str) -> str:
    return names.physical(stack, logical_id, 64)


def partition(region: str | None) -> str:
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def managed_arn(region: str, name: str) -> str:
    """The ARN of one of AWS's managed policies."""
    return f"arn:{partition(region)}:iam::aws:policy/{name}"


def trust(service: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def launch_hook_used(spec: StackSpec) -> bool:
    """A launch hook is made when the group has a warm pool and runs awslb's own user-data
    (which completes the hook at its end); someone else's user-data would leave every launch
    waiting until the hook's timeout."""
    asg, launch = spec.autoscaling, spec.launch
    # Only a *stopped* pool: its instances boot again to enter service, where the boot unit
    # completes the hook; a running or hibernated one (resumed, not booted) would wait out the
    # hook's timeout, so those get no launch hook (nor a schedule that switches the pool's state).
    return (asg is not None and asg.warm_pool is not None and asg.warm_pool.state == "stopped"
            and all(e.warm_pool in (None, "stopped") for e in asg.schedule)
            and launch is not None and launch.userdata != "none"
            and asg.launch_template is None and asg.launch_config is None)


def instance_statements(spec: StackSpec, region: str) -> list[dict[str, Any]]:
    """The instance role's inline policy statements: only what the stack enables."""
    from awslb.resources.autoscaling_group import group_name

    asg = spec.autoscaling
    if asg is None:
        return []
    group_arn = (f"arn:{partition(region)}:autoscaling:{region}:*:autoScalingGroup:*:"
                 f"autoScalingGroupName/{group_name(spec)}")
    out: list[dict[str, Any]] = []
    actions = set()
    if asg.drain is not None:
        actions |= {"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat",
                    "autoscaling:SetInstanceProtection"}
    if launch_hook_used(spec):
        actions.add("autoscaling:CompleteLifecycleAction")
    if actions:
        out.append({"Sid": "OwnGroupLifecycle", "Effect": "Allow", "Action": sorted(actions),
                    "Resource": group_arn})
    if asg.metric in MEDIA_METRICS:
        out.append({"Sid": "MediaMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData",
                    "Resource": "*", "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}})
    return out


def redirector_statements(spec: StackSpec, region: str) -> list[dict[str, Any]]:
    """With [redirector], the edges read the report key from SSM: when the stack makes its own
    instance role, that role may (else the edges use redirector.instance_profile)."""
    red = spec.redirector
    if red is None:
        return []
    arn = f"arn:{partition(region)}:ssm:{region}:*:parameter/{red.key_parameter.lstrip('/')}"
    return [{"Sid": "RedirectorReportKey", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": arn}]


def haproxy_statements(spec: StackSpec, region: str) -> list[dict[str, Any]]:
    """The HAProxy host's role: read its PEM's one secret; associate the stack's HAProxy Elastic IP
    with itself (the tags say which address and which instance: AssociateAddress authorizes both)."""
    hp = spec.haproxy
    if hp is None or not hp.deploy:
        return []
    part = partition(region)
    out: list[dict[str, Any]] = []
    if hp.tls and hp.pem_secret:
        # A name matches its ARN's six random characters (AWS's advice for policies by name).
        arn = (hp.pem_secret if hp.pem_secret.startswith("arn:")
               else f"arn:{part}:secretsmanager:{region}:*:secret:{hp.pem_secret}-??????")
        out.append({"Sid": "PemSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                    "Resource": arn})

    def own(lid: str) -> dict[str, Any]:
        return {"StringEquals": {f"aws:ResourceTag/{names.TAG_STACK}": spec.name,
                                 f"aws:ResourceTag/{names.TAG_ID}": lid}}

    out.append({"Sid": "OwnElasticIp", "Effect": "Allow", "Action": "ec2:AssociateAddress",
                "Resource": f"arn:{part}:ec2:{region}:*:elastic-ip/*", "Condition": own("haproxy-eip")})
    out.append({"Sid": "ToItself", "Effect": "Allow", "Action": "ec2:AssociateAddress",
                "Resource": [f"arn:{part}:ec2:{region}:*:instance/*", f"arn:{part}:ec2:{region}:*:network-interface/*"],
                "Condition": own("haproxy-host")})
    return out


def instance_role_used(spec: StackSpec) -> bool:
    return bool(instance_statements(spec, "*")) or (spec.launch is not None and spec.launch.ssm)


def instance_profile(spec: StackSpec) -> Ref | None:
    """The instance profile the launch template or configuration names, when the stack has one."""
    return Ref(INSTANCE_ROLE, "profile_arn") if instance_role_used(spec) else None


def dns_statements(spec: StackSpec, region: str, zone_id: str, function: str) -> list[dict[str, Any]]:
    part = partition(region)
    logs = f"arn:{part}:logs:{region}:*:log-group:/aws/lambda/{function}"
    return [
        {"Sid": "OwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": logs},
        {"Sid": "OwnLogStreams", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{logs}:log-stream:*"},
        {"Sid": "RecordsInTheZone", "Effect": "Allow",
         "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
         "Resource": f"arn:{part}:route53:::hostedzone/{zone_id}"},
        {"Sid": "FindInstances", "Effect": "Allow",
         "Action": ["ec2:DescribeInstances", "autoscaling:DescribeAutoScalingGroups"], "Resource": "*"},
    ]


def _document(value: Any) -> Any:
    """A policy document as IAM returns it (a dict, or URL-encoded JSON) -> a dict."""
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


def _canon(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")) if doc is not None else "none"


class IamRole(Kind):
    kind = "iam_role"
    label = "IAM role"
    rank = 50
    # A role's path cannot change; its name is unique in the account, so the old one goes first.
    replace_on = ("path",)
    replace_first = False

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        out = []
        region = net.region if net.region and net.region != "*" else (spec.stack.region or "*")
        launch = spec.launch
        statements = instance_statements(spec, region)
        managed = []
        if launch is not None and launch.ssm:
            managed.append(managed_arn(region, SSM_POLICY))
        if statements or managed:
            statements = statements + redirector_statements(spec, region)
            out.append(self._resource(spec, INSTANCE_ROLE, "ec2.amazonaws.com", statements, managed, True,
                                      "awslb: the stack's media servers"))
        from awslb.resources.schedule import entries

        if entries(spec):
            from awslb.resources.autoscaling_group import group_name

            arn = (f"arn:{partition(region)}:autoscaling:{region}:*:autoScalingGroup:*:"
                   f"autoScalingGroupName/{group_name(spec)}")
            out.append(self._resource(spec, SCHEDULE_ROLE, "scheduler.amazonaws.com", [
                {"Sid": "OwnGroupWarmPool", "Effect": "Allow", "Action": ["autoscaling:PutWarmPool"],
                 "Resource": arn}], [], False, "awslb: the warm pool's scheduled states"))
        if spec.haproxy is not None and spec.haproxy.deploy:
            out.append(self._resource(spec, "haproxy-role", "ec2.amazonaws.com", haproxy_statements(spec, region), [],
                                      True, "awslb: the HAProxy host"))
        if spec.dns is not None:
            from awslb.resources.dns_function import function_name

            zone = str(net.facts.get("dns.zone_id", "*"))
            out.append(self._resource(spec, DNS_ROLE, "lambda.amazonaws.com",
                                      dns_statements(spec, region, zone, function_name(spec)), [], False,
                                      "awslb: the per-instance DNS function"))
        return out

    def _resource(self, spec: StackSpec, lid: str, service: str, statements: list[dict[str, Any]],
                  managed: list[str], profile: bool, description: str) -> Resource:
        name = role_name(spec.name, lid)
        policy = {"Version": "2012-10-17", "Statement": statements} if statements else None
        return Resource(self.kind, lid, name, {
            "path": role_path(spec.name), "trust": trust(service), "policy": policy, "managed": sorted(managed),
            "profile": profile, "description": description,
            "tags": names.tags(spec.name, lid, name, spec.stack.tags)})

    # -- reading -----------------------------------------------------------------------

    def discover(self, ctx: Context) -> list[Observed]:
        roles = ctx.aws.paginate("iam", "list_roles", "Roles", PathPrefix=role_path(ctx.stack))
        out = []
        for role in roles:
            tags = names.tag_dict(ctx.aws.call("iam", "list_role_tags", RoleName=role["RoleName"]).get("Tags"))
            if tags.get(names.TAG_STACK) != ctx.stack:
                continue
            out.append(self._read(ctx, role, tags))
        return out

    def _read(self, ctx: Context, role: Mapping[str, Any], tags: Mapping[str, str]) -> Observed:
        name = role["RoleName"]
        inline = ctx.aws.find("iam", "get_role_policy", RoleName=name, PolicyName=POLICY_NAME)
        attached = ctx.aws.paginate("iam", "list_attached_role_policies", "AttachedPolicies", RoleName=name)
        profiles = ctx.aws.paginate("iam", "list_instance_profiles_for_role", "InstanceProfiles", RoleName=name)
        profile = next((p for p in profiles if p["InstanceProfileName"] == name), None)
        return Observed(self.kind, tags.get(names.TAG_ID, name), name, name, {
            "name": name, "arn": role["Arn"], "path": role.get("Path"),
            "trust": _document(role.get("AssumeRolePolicyDocument")),
            "policy": _document(inline["PolicyDocument"]) if inline else None,
            "managed": sorted(p["PolicyArn"] for p in attached),
            "profile": profile is not None,
            "profile_arn": profile["Arn"] if profile else None,
            "profile_name": profile["InstanceProfileName"] if profile else None,
            "tags": dict(tags)})

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out: list[str] = []
        if _canon(props["trust"]) != _canon(a.get("trust")):
            out.append("trust policy: changed")
        if _canon(props["policy"]) != _canon(a.get("policy")):
            out.append("inline policy: changed")
        out += changed("managed policies", props["managed"], a.get("managed", []))
        out += changed("instance profile", props["profile"], a.get("profile"))
        if dict(props["tags"]) != dict(a.get("tags", {})):
            out.append("tags: changed")
        return out

    # -- writing -----------------------------------------------------------------------

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        try:
            role = ctx.aws.call("iam", "create_role", Path=props["path"], RoleName=res.name,
                                AssumeRolePolicyDocument=json.dumps(props["trust"]),
                                Description=props["description"], Tags=names.tag_list(dict(props["tags"])))["Role"]
        except AwsError as exc:
            if exc.code != "EntityAlreadyExists":
                raise
            role = ctx.aws.call("iam", "get_role", RoleName=res.name)["Role"]
            if role.get("Path") != props["path"]:
                raise
        return self._converge(ctx, res.name, props, {"trust": props["trust"], "tags": dict(props["tags"]),
                                                      "managed": [], "profile": False, "policy": None})

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        return self._converge(ctx, obs.name, props, obs.attrs)

    def _converge(self, ctx: Context, name: str, props: Mapping[str, Any], a: Mapping[str, Any]) -> Observed:
        aws = ctx.aws
        if _canon(props["trust"]) != _canon(a.get("trust")):
            aws.call("iam", "update_assume_role_policy", RoleName=name, PolicyDocument=json.dumps(props["trust"]))
        if dict(props["tags"]) != dict(a.get("tags", {})):
            aws.call("iam", "tag_role", RoleName=name, Tags=names.tag_list(dict(props["tags"])))
        if props["policy"] is not None and _canon(props["policy"]) != _canon(a.get("policy")):
            aws.call("iam", "put_role_policy", RoleName=name, PolicyName=POLICY_NAME,
                     PolicyDocument=json.dumps(props["policy"]))
        elif props["policy"] is None and a.get("policy") is not None:
            aws.find("iam", "delete_role_policy", RoleName=name, PolicyName=POLICY_NAME)
        for arn in sorted(set(props["managed"]) - set(a.get("managed", []))):
            aws.call("iam", "attach_role_policy", RoleName=name, PolicyArn=arn)
        for arn in sorted(set(a.get("managed", [])) - set(props["managed"])):
            aws.find("iam", "detach_role_policy", RoleName=name, PolicyArn=arn)
        if props["profile"] and not a.get("profile"):
            self._make_profile(ctx, name, props)
        elif not props["profile"] and a.get("profile"):
            self._drop_profile(ctx, name, name)
        role = aws.call("iam", "get_role", RoleName=name)["Role"]
        return self._read(ctx, role, dict(props["tags"]))

    def _make_profile(self, ctx: Context, name: str, props: Mapping[str, Any]) -> None:
        """The instance profile of the same name, holding the role (a half-made one is finished)."""
        try:
            ctx.aws.call("iam", "create_instance_profile", InstanceProfileName=name, Path=props["path"],
                         Tags=names.tag_list(dict(props["tags"])))
        except AwsError as exc:
            if exc.code != "EntityAlreadyExists":
                raise
        found = ctx.aws.call("iam", "get_instance_profile", InstanceProfileName=name)["InstanceProfile"]
        if found.get("Path") != props["path"]:
            raise AwsError("CreateInstanceProfile", "EntityAlreadyExists",
                           f"instance profile {name} exists outside this stack (path {found.get('Path')})",
                           "delete it or use another stack name")
        if not any(r.get("RoleName") == name for r in found.get("Roles", [])):
            ctx.aws.call("iam", "add_role_to_instance_profile", InstanceProfileName=name, RoleName=name)

    def _drop_profile(self, ctx: Context, profile: str, role: str) -> None:
        found = ctx.aws.find("iam", "get_instance_profile", InstanceProfileName=profile)
        if found is None or found["InstanceProfile"].get("Path") != role_path(ctx.stack):
            return  # not there, or not this stack's: leave it
        if any(r.get("RoleName") == role for r in found["InstanceProfile"].get("Roles", [])):
            ctx.aws.find("iam", "remove_role_from_instance_profile", InstanceProfileName=profile, RoleName=role)
        ctx.aws.find("iam", "delete_instance_profile", InstanceProfileName=profile)

    def delete(self, ctx: Context, obs: Observed) -> None:
        name = obs.physical_id
        aws = ctx.aws
        # The profile of the role's name even when the role left it (an interrupted create).
        self._drop_profile(ctx, name, name)
        for p in aws.paginate("iam", "list_instance_profiles_for_role", "InstanceProfiles", RoleName=name):
            if p.get("Path") == role_path(ctx.stack):
                self._drop_profile(ctx, p["InstanceProfileName"], name)
        for p in aws.paginate("iam", "list_attached_role_policies", "AttachedPolicies", RoleName=name):
            aws.find("iam", "detach_role_policy", RoleName=name, PolicyArn=p["PolicyArn"])
        for policy in aws.paginate("iam", "list_role_policies", "PolicyNames", RoleName=name):
            aws.find("iam", "delete_role_policy", RoleName=name, PolicyName=policy)
        aws.find("iam", "delete_role", RoleName=name)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        policy = obs.attrs.get("policy") or {}
        actions = sorted({a for st in policy.get("Statement", [])
                          for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])})
        out: dict[str, Any] = {"allows": ", ".join(actions) or "nothing inline"}
        if obs.attrs.get("managed"):
            out["managed"] = ", ".join(a.rsplit("/", 1)[-1] for a in obs.attrs["managed"])
        if obs.attrs.get("profile_arn"):
            out["instance_profile"] = obs.attrs["profile_name"]
        return out

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["iam:ListRoles", "iam:ListRoleTags", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                     "iam:ListInstanceProfilesForRole"],
            "write": ["iam:CreateRole", "iam:GetRole", "iam:TagRole", "iam:UpdateAssumeRolePolicy",
                      "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
                      "iam:DetachRolePolicy", "iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:GetInstanceProfile",
                      "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
                      "iam:DeleteInstanceProfile", "iam:ListRolePolicies", "iam:DeleteRole", "iam:PassRole"],
        }
