"""Scheduled warm-pool states (seed 003: running at peak, hibernated at medium load, stopped off-peak).

An Auto Scaling scheduled action sets capacity only, so a ``[[autoscaling.schedule]]``
entry with ``warm_pool = "running"`` becomes an EventBridge Scheduler schedule whose
*universal target* calls Auto Scaling's ``PutWarmPool`` on the stack's group (the pool's
min and max restated, since PutWarmPool replaces the whole configuration). The schedules
live in a schedule group named after the stack and tagged with it (schedules take no tags);
they run as the stack's ``schedule-role`` (trusted by ``scheduler.amazonaws.com``, allowed
``autoscaling:PutWarmPool`` on the stack's group only). Deleting the group deletes its
schedules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.spec import StackSpec

LOGICAL_ID = "warm-pool-schedule"
TARGET = "arn:aws:scheduler:::aws-sdk:autoscaling:putWarmPool"
POOL_STATES = {"stopped": "Stopped", "hibernated": "Hibernated", "running": "Running"}


def entries(spec: StackSpec) -> list[dict[str, Any]]:
    from awslb.resources.autoscaling_group import group_name

    asg = spec.autoscaling
    if asg is None or asg.warm_pool is None:
        return []
    out = []
    for e in asg.schedule:
        if e.warm_pool is None:
            continue
        body: dict[str, Any] = {"AutoScalingGroupName": group_name(spec), "PoolState": POOL_STATES[e.warm_pool],
                                "MinSize": asg.warm_pool.min}
        if asg.warm_pool.max is not None:
            body["MaxGroupPreparedCapacity"] = asg.warm_pool.max
        out.append({"name": f"awslb-{e.name}", "expression": f"cron({_aws_cron(e.cron)})",
                    "timezone": e.timezone, "input": body})
    return sorted(out, key=lambda x: str(x["name"]))


def _aws_cron(five: str) -> str:
    """'0 11 * * *' -> '0 11 * * ? *' (EventBridge's six fields: one of day/weekday is '?')."""
    minute, hour, day, month, weekday = five.split()
    if weekday != "*":
        day = "?"
    else:
        weekday = "?"
    return f"{minute} {hour} {day} {month} {weekday} *"


class WarmPoolSchedule(Kind):
    kind = "warm_pool_schedule"
    label = "warm-pool schedule"
    rank = 75  # after the group it changes

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        want = entries(spec)
        if not want:
            return []
        name = names.physical(spec.name, LOGICAL_ID, 64)
        return [Resource(self.kind, LOGICAL_ID, name, {
            "schedules": want, "role": Ref("schedule-role", "arn"),
            "tags": names.tags(spec.name, LOGICAL_ID, name, spec.stack.tags)})]

    def discover(self, ctx: Context) -> list[Observed]:
        out = []
        for group in ctx.aws.paginate("scheduler", "list_schedule_groups", "ScheduleGroups",
                                      NamePrefix=f"{ctx.stack}-"):
            tags = names.tag_dict(ctx.aws.call("scheduler", "list_tags_for_resource",
                                               ResourceArn=group["Arn"]).get("Tags"))
            if tags.get(names.TAG_STACK) == ctx.stack:
                out.append(self._observed(ctx, group["Name"], group["Arn"], tags))
        return out

    def _observed(self, ctx: Context, name: str, arn: str, tags: Mapping[str, str]) -> Observed:
        schedules = []
        role = None
        for s in ctx.aws.paginate("scheduler", "list_schedules", "Schedules", GroupName=name):
            full = ctx.aws.call("scheduler", "get_schedule", Name=s["Name"], GroupName=name)
            target = full.get("Target") or {}
            role = target.get("RoleArn")
            schedules.append({"name": full["Name"], "expression": full.get("ScheduleExpression"),
                              "timezone": full.get("ScheduleExpressionTimezone") or "UTC",
                              "input": json.loads(target.get("Input") or "{}"), "target": target.get("Arn"),
                              "state": full.get("State")})
        return Observed(self.kind, tags.get(names.TAG_ID, name), name, name, {
            "name": name, "arn": arn, "role": role, "tags": dict(tags),
            "schedules": sorted(schedules, key=lambda x: str(x["name"]))})

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        have = {s["name"]: s for s in obs.attrs.get("schedules", [])}
        out = []
        for want in props["schedules"]:
            got = have.pop(want["name"], None)
            if got is None or _differs(want, got, str(props["role"]), obs.attrs.get("role")):
                out.append(f"schedule {want['name']}: {'missing' if got is None else 'changed'}")
        out += [f"schedule {n}: not in the stack file" for n in sorted(have)]
        if dict(props["tags"]) != dict(obs.attrs.get("tags", {})):
            out += changed("tags", sorted(props["tags"].items()), sorted(obs.attrs.get("tags", {}).items()))
        return out

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        found = ctx.aws.find("scheduler", "get_schedule_group", Name=res.name)
        if found is None:
            ctx.aws.call("scheduler", "create_schedule_group", Name=res.name,
                         Tags=names.tag_list(dict(props["tags"])))
            found = ctx.aws.call("scheduler", "get_schedule_group", Name=res.name)
        obs = self._observed(ctx, res.name, found["Arn"], dict(props["tags"]))
        return self.update(ctx, res, props, obs, [])

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        have = {s["name"]: s for s in obs.attrs.get("schedules", [])}
        role = str(props["role"])
        if dict(props["tags"]) != dict(obs.attrs.get("tags", {})):
            ctx.aws.call("scheduler", "tag_resource", ResourceArn=obs.attrs["arn"],
                         Tags=names.tag_list(dict(props["tags"])))
        for want in props["schedules"]:
            got = have.pop(want["name"], None)
            if got is not None and not _differs(want, got, role, obs.attrs.get("role")):
                continue
            params = {"Name": want["name"], "GroupName": obs.name, "ScheduleExpression": want["expression"],
                      "ScheduleExpressionTimezone": want["timezone"], "FlexibleTimeWindow": {"Mode": "OFF"},
                      "State": "ENABLED",
                      "Target": {"Arn": TARGET, "RoleArn": role, "Input": json.dumps(want["input"], sort_keys=True)}}
            ctx.aws.call("scheduler", "create_schedule" if got is None else "update_schedule", **params)
        for name in sorted(have):
            ctx.aws.find("scheduler", "delete_schedule", Name=name, GroupName=obs.name)
        return self._observed(ctx, obs.name, obs.attrs["arn"], dict(props["tags"]))

    def delete(self, ctx: Context, obs: Observed) -> None:
        # Deleting a schedule group deletes its schedules (AWS does it asynchronously).
        for s in obs.attrs.get("schedules", []):
            ctx.aws.find("scheduler", "delete_schedule", Name=s["name"], GroupName=obs.name)
        ctx.aws.find("scheduler", "delete_schedule_group", Name=obs.physical_id)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        return {"schedules": "; ".join(f"{s['name']} {s['expression']} {s['timezone']} → "
                                       f"{s['input'].get('PoolState')}" for s in obs.attrs.get("schedules", []))}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["scheduler:ListScheduleGroups", "scheduler:ListTagsForResource", "scheduler:ListSchedules",
                     "scheduler:GetSchedule", "scheduler:GetScheduleGroup"],
            "write": ["scheduler:CreateScheduleGroup", "scheduler:TagResource", "scheduler:CreateSchedule",
                      "scheduler:UpdateSchedule", "scheduler:DeleteSchedule", "scheduler:DeleteScheduleGroup",
                      "iam:PassRole"],
        }


def _differs(want: Mapping[str, Any], got: Mapping[str, Any], role: str, have_role: Any) -> bool:
    return bool((want["expression"], want["timezone"], want["input"], TARGET, role, "ENABLED") != (
        got.get("expression"), got.get("timezone"), got.get("input"), got.get("target"), have_role, got.get("state")))
