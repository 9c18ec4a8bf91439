"""The EventBridge rule that sends the group's lifecycle events to the DNS function.

EventBridge rather than the seed's SNS topic: the rule needs no topic and no subscription,
its events carry the warm-pool ``Origin``/``Destination`` fields the function needs to skip
warm instances, and AWS recommends it for reacting to Auto Scaling events now.

The rule matches ``source = aws.autoscaling``, the detail-types the handler acts on, and
``detail.AutoScalingGroupName`` = the stack's group; its one target is the function. The
rule owns the function's resource-based permission for ``events.amazonaws.com``, limited to
the rule's ARN (``SourceArn``), so no other rule can invoke the function.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.errors import AwsError
from awslb.node import dns_handler
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.spec import StackSpec

LOGICAL_ID = "dns-events"
TARGET_ID = "awslb-dns"
DETAIL_TYPES = (dns_handler.LAUNCH, dns_handler.TERMINATE, dns_handler.TERMINATE_ACTION)


def statement_id(rule: str) -> str:
    return f"awslb-{rule}"[:100]


def pattern(group: str) -> dict[str, Any]:
    return {"source": ["aws.autoscaling"], "detail-type": list(DETAIL_TYPES),
            "detail": {"AutoScalingGroupName": [group]}}


class EventsRule(Kind):
    kind = "events_rule"
    label = "EventBridge rule"
    rank = 66  # after the function it targets

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        if spec.dns is None:
            return []
        from awslb.resources.autoscaling_group import group_name

        name = names.physical(spec.name, LOGICAL_ID, 64)
        return [Resource(self.kind, LOGICAL_ID, name, {
            "pattern": pattern(group_name(spec)),
            "function": Ref("dns-function", "arn"),
            "tags": names.tags(spec.name, LOGICAL_ID, name, spec.stack.tags),
        })]

    def discover(self, ctx: Context) -> list[Observed]:
        out = []
        for rule in ctx.aws.paginate("events", "list_rules", "Rules", NamePrefix=f"{ctx.stack}-"):
            tags = names.tag_dict(ctx.aws.call("events", "list_tags_for_resource",
                                               ResourceARN=rule["Arn"]).get("Tags"))
            if tags.get(names.TAG_STACK) == ctx.stack:
                out.append(self._observed(ctx, rule, tags))
        return out

    def _observed(self, ctx: Context, rule: Mapping[str, Any], tags: Mapping[str, str]) -> Observed:
        name = rule["Name"]
        targets = ctx.aws.paginate("events", "list_targets_by_rule", "Targets", Rule=name)
        function = next((t["Arn"] for t in targets if t["Id"] == TARGET_ID), None)
        return Observed(self.kind, tags.get(names.TAG_ID, name), name, name, {
            "name": name, "arn": rule["Arn"], "state": rule.get("State"),
            "pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None,
            "targets": sorted(t["Id"] for t in targets), "function": function,
            "permission": function is not None and _permitted(ctx, str(function), name, rule["Arn"]),
            "tags": dict(tags)})

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out = []
        if a.get("pattern") != props["pattern"]:
            out.append("event pattern: changed")
        out += changed("state", "ENABLED", a.get("state"))
        out += changed("targets", [TARGET_ID], a.get("targets", []))
        out += changed("target", str(props["function"]), a.get("function"))
        if not a.get("permission"):
            out.append("permission to invoke the function: missing")
        if dict(props["tags"]) != dict(a.get("tags", {})):
            out.append("tags: changed")
        return out

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        arn = self._put_rule(ctx, res.name, props)
        self._converge(ctx, res.name, arn, props, {})
        return self._read(ctx, res.name)

    def _put_rule(self, ctx: Context, name: str, props: Mapping[str, Any]) -> str:
        return str(ctx.aws.call("events", "put_rule", Name=name, EventPattern=json.dumps(props["pattern"]),
                                State="ENABLED", Description=f"awslb {ctx.stack}: the group's events to DNS",
                                Tags=names.tag_list(dict(props["tags"])))["RuleArn"])

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        a = obs.attrs
        arn = a["arn"]
        if a.get("pattern") != props["pattern"] or a.get("state") != "ENABLED":
            arn = self._put_rule(ctx, obs.name, props)
        if dict(props["tags"]) != dict(a.get("tags", {})):
            ctx.aws.call("events", "tag_resource", ResourceARN=arn, Tags=names.tag_list(dict(props["tags"])))
        self._converge(ctx, obs.name, arn, props, a)
        return self._read(ctx, obs.name)

    def _converge(self, ctx: Context, name: str, arn: str, props: Mapping[str, Any], a: Mapping[str, Any]) -> None:
        function = str(props["function"])
        extra = [t for t in a.get("targets", []) if t != TARGET_ID]
        if extra:
            ctx.aws.call("events", "remove_targets", Rule=name, Ids=extra)
        if a.get("function") != function:
            ctx.aws.call("events", "put_targets", Rule=name, Targets=[{"Id": TARGET_ID, "Arn": function}])
        if not (a.get("permission") and a.get("function") == function):
            try:
                ctx.aws.call("lambda", "add_permission", FunctionName=function, StatementId=statement_id(name),
                             Action="lambda:InvokeFunction", Principal="events.amazonaws.com", SourceArn=arn)
            except AwsError as exc:
                if exc.code != "ResourceConflictException":
                    raise

    def _read(self, ctx: Context, name: str) -> Observed:
        rule = ctx.aws.call("events", "describe_rule", Name=name)
        tags = names.tag_dict(ctx.aws.call("events", "list_tags_for_resource", ResourceARN=rule["Arn"]).get("Tags"))
        return self._observed(ctx, rule, tags)

    def delete(self, ctx: Context, obs: Observed) -> None:
        name = obs.physical_id
        function = obs.attrs.get("function")
        if function:
            ctx.aws.find("lambda", "remove_permission", FunctionName=function, StatementId=statement_id(name))
        targets = ctx.aws.paginate("events", "list_targets_by_rule", "Targets", Rule=name)
        if targets:
            ctx.aws.find("events", "remove_targets", Rule=name, Ids=[t["Id"] for t in targets])
        ctx.aws.find("events", "delete_rule", Name=name)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        return {"state": obs.attrs.get("state"), "target": obs.attrs.get("function"),
                "invoke_permission": obs.attrs.get("permission")}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["events:ListRules", "events:ListTagsForResource", "events:ListTargetsByRule",
                     "events:DescribeRule", "lambda:GetPolicy"],
            "write": ["events:PutRule", "events:TagResource", "events:PutTargets", "events:RemoveTargets",
                      "events:DeleteRule", "lambda:AddPermission", "lambda:RemovePermission"],
        }


def _permitted(ctx: Context, function: str, rule: str, rule_arn: str) -> bool:
    """Does the function's policy let events.amazonaws.com invoke it from this rule only?"""
    found = ctx.aws.find("lambda", "get_policy", FunctionName=function)
    if not found:
        return False
    for st in json.loads(found["Policy"]).get("Statement", []):
        if st.get("Sid") != statement_id(rule):
            continue
        source = (st.get("Condition") or {}).get("ArnLike", {}).get("AWS:SourceArn")
        return bool(source == rule_arn)
    return False
