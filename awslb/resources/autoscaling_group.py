"""The Auto Scaling group of the guides (seed 000 "Создание группы масштабирования", seed 003).

What the guides set, in order: the launch template at version "Latest" (or the Classic
guide's launch configuration), 100 % on-demand capacity (the console suggests 70 %),
the instance types, subnets in every zone, the balancer's WebSocket target group (or the
Classic balancer), the maximum size, and a scaling policy on average CPU with the
instance warm-up time. Seed 003 adds a warm pool (stopped, hibernated or running, with a
minimum and a maximum) and scaling by the application itself (`policy = "none"` and
`awslb asg scale`).

awslb adds ELB health checks with a grace period when a balancer is attached (a WCS that
stops answering its stat page is replaced, not just one whose VM died) and its tags. The
scaling policy and the warm pool are parts of the group here: they take no tags, are
found through the group, and go with it.

Tags: `awslb:stack` propagates to the instances (cost allocation, finding the stack's
servers); `awslb:id` does not, so no kind mistakes an instance for something it manages.

A group is deleted with ForceDelete (its instances are terminated) and awslb waits until
it is gone, so the launch template or configuration and the security groups can go next.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.errors import AwsError, AwslbError, InputError
from awslb.node.metrics import METRICS, NAMESPACE, customized_metric
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.resources.launch_config import TAG_BASE, base_name
from awslb.resources.lookup import find_subnets
from awslb.resources.target_group import serving
from awslb.spec import AutoscalingSection, StackSpec
from awslb.ui import UI

LOGICAL_ID = "asg"
POLICY_NAME = "awslb-cpu-target"
TAG_DESIRED = "awslb:desired"  # the desired size the stack file last asked for
POOL_STATES = {"stopped": "Stopped", "hibernated": "Hibernated", "running": "Running"}
LATEST = "$Latest"  # the guide: "укажите версию Latest"


def group_name(spec: StackSpec) -> str:
    assert spec.autoscaling is not None
    return spec.autoscaling.name or names.physical(spec.name, LOGICAL_ID)


# -- preflight: what the flags name must exist ----------------------------------------------

def _launch_facts(aws: Aws, spec: StackSpec, asg: AutoscalingSection) -> dict[str, Any]:
    launch = spec.launch
    if asg.launch_template is not None:
        own = launch is not None and launch.kind == "template" and (
            launch.name or names.physical(spec.name, "launch-template", 128)) == asg.launch_template
        if own:
            return {}
        found = aws.find("ec2", "describe_launch_templates", LaunchTemplateNames=[asg.launch_template])
        if not found or not found.get("LaunchTemplates"):
            raise InputError(f"autoscaling.launch_template: no such launch template in {aws.region}: "
                             f"{asg.launch_template}")
        return {"asg.launch": {"template": found["LaunchTemplates"][0]["LaunchTemplateId"]}}
    if asg.launch_config is not None:
        if launch is not None and launch.kind == "config" and base_name(spec) == asg.launch_config:
            return {}
        found = aws.call("autoscaling", "describe_launch_configurations",
                         LaunchConfigurationNames=[asg.launch_config])["LaunchConfigurations"]
        if not found:
            raise InputError(f"autoscaling.launch_config: no such launch configuration in {aws.region}: "
                             f"{asg.launch_config}")
        return {"asg.launch": {"config": asg.launch_config}}
    return {}


def _target_group_arn(aws: Aws, ref: str) -> str:
    found = (aws.find("elbv2", "describe_target_groups", TargetGroupArns=[ref]) if ref.startswith("arn:")
             else aws.find("elbv2", "describe_target_groups", Names=[ref]))
    if not found or not found.get("TargetGroups"):
        raise InputError(f"autoscaling.target_groups: no such target group in {aws.region}: {ref}")
    return str(found["TargetGroups"][0]["TargetGroupArn"])


def balancer_facts(aws: Aws, spec: StackSpec, asg: AutoscalingSection) -> dict[str, Any]:
    lb = spec.load_balancer
    tgs = [_target_group_arn(aws, t) for t in asg.target_groups]
    own_alb = own_elb = False
    if asg.alb is not None:
        if lb is not None and lb.type == "application" and asg.alb in (lb.name, names.elbv2(spec.name, "alb")):
            own_alb = True
        else:
            found = aws.find("elbv2", "describe_load_balancers", Names=[asg.alb])
            if not found or not found.get("LoadBalancers"):
                raise InputError(f"autoscaling.alb: no such Application Load Balancer in {aws.region}: {asg.alb}")
            arn = found["LoadBalancers"][0]["LoadBalancerArn"]
            groups = aws.paginate("elbv2", "describe_target_groups", "TargetGroups", LoadBalancerArn=arn)
            if len(groups) > 1:  # the WebSocket one: on the WebSocket port (8080 in the guides)
                ws_port = lb.ws_port if lb is not None else 8080
                groups = [g for g in groups if g.get("Port") == ws_port] or groups
            if len(groups) != 1:
                which = ", ".join(g["TargetGroupName"] for g in groups) or "none"
                raise InputError(f"autoscaling.alb: {asg.alb} has {len(groups)} target groups ({which}): "
                                 "name the WebSocket one with --target-group")
            tgs.append(groups[0]["TargetGroupArn"])
    own_nlb, nlb_groups = _nlb_groups(aws, spec, asg)
    tgs += nlb_groups
    elbs: list[str] = []
    if asg.elb is not None:
        if lb is not None and lb.type == "classic" and lb.name == asg.elb:
            own_elb = True
        else:
            found = aws.find("elb", "describe_load_balancers", LoadBalancerNames=[asg.elb])
            if not found or not found.get("LoadBalancerDescriptions"):
                raise InputError(f"autoscaling.elb: no such Classic Load Balancer in {aws.region}: {asg.elb}")
            elbs.append(asg.elb)
    explicit = bool(asg.target_groups or asg.alb or asg.nlb or asg.elb)
    return {"asg.target_groups": tgs, "asg.load_balancers": elbs,
            # With no balancer named, the group joins the stack's own balancer, if it has one.
            "asg.own_alb": own_alb or own_nlb or (not explicit and lb is not None and lb.type != "classic"),
            "asg.own_elb": own_elb or (not explicit and lb is not None and lb.type == "classic")}


def _nlb_groups(aws: Aws, spec: StackSpec, asg: AutoscalingSection) -> tuple[bool, list[str]]:
    """--nlb: the stack's own NLB (its groups are Refs, made in the same run), or every target
    group of another NLB."""
    lb = spec.load_balancer
    if asg.nlb is None:
        return False, []
    if lb is not None and lb.type == "network" and asg.nlb in (lb.name, names.elbv2(spec.name, "nlb")):
        return True, []
    found = aws.find("elbv2", "describe_load_balancers", Names=[asg.nlb])
    nlbs = [b for b in (found or {}).get("LoadBalancers", []) if b.get("Type") == "network"]
    if not nlbs:
        raise InputError(f"autoscaling.nlb: no such Network Load Balancer in {aws.region}: {asg.nlb}")
    groups = aws.paginate("elbv2", "describe_target_groups", "TargetGroups",
                          LoadBalancerArn=nlbs[0]["LoadBalancerArn"])
    if not groups:
        raise InputError(f"autoscaling.nlb: {asg.nlb} has no target group: give --target-group")
    return False, sorted(g["TargetGroupArn"] for g in groups)


def _subnet_facts(aws: Aws, asg: AutoscalingSection, net: Network) -> dict[str, Any]:
    find_subnets(aws, asg.subnets, "autoscaling.subnets", net.vpc_id)
    return {}


# -- updating a group in place (AutoscalingGroup.update) -------------------------------------

def _launch_changed(props: Mapping[str, Any], a: Mapping[str, Any]) -> bool:
    return bool((props["launch"], props["mixed"]) != (a.get("launch"), a.get("mixed")))


def _update_params(props: Mapping[str, Any], a: Mapping[str, Any]) -> dict[str, Any]:
    """The UpdateAutoScalingGroup parameters for what differs (empty: nothing to update)."""
    params: dict[str, Any] = {}
    if (props["min"], props["max"]) != (a.get("min"), a.get("max")):
        params.update(MinSize=props["min"], MaxSize=props["max"])
    if props["desired"] is not None and str(props["desired"]) != _tag(a, TAG_DESIRED):
        params["DesiredCapacity"] = props["desired"]
    if _launch_changed(props, a):
        params.update(launch_params(props))
    if (props["health_check_type"], props["grace"]) != (a.get("health_check_type"), a.get("grace")):
        params.update(HealthCheckType=props["health_check_type"], HealthCheckGracePeriod=props["grace"])
    if props["subnets"] != a.get("subnets"):
        params["VPCZoneIdentifier"] = ",".join(props["subnets"])
    if params and props["mixed"] is not None:
        # Restated on every update of a mixed group: AWS keeps a policy an update leaves out,
        # moto drops it; stating the same policy again changes nothing on either.
        params.update(launch_params(props))
    return params


def _sync_policy(aws: Aws, name: str, props: Mapping[str, Any], a: Mapping[str, Any]) -> None:
    if props["policy"] == a.get("policy"):
        return
    if props["policy"] is None:
        aws.find("autoscaling", "delete_policy", AutoScalingGroupName=name, PolicyName=POLICY_NAME)
    else:
        put_policy(aws, name, props["policy"])


# -- the kind --------------------------------------------------------------------------------

def scaling_policy(asg: AutoscalingSection) -> dict[str, Any] | None:
    """The target-tracking policy: on CPU, or on a media figure the agent publishes per server
    (awslb/node/metrics.py, at 10 s); None when the application scales the group."""
    if asg.policy != "cpu":
        return None
    if asg.metric not in (None, "cpu"):
        return {"metric": asg.metric, "target": float(asg.target or 0), "warmup": asg.warmup}
    target = asg.target if asg.metric == "cpu" else asg.cpu_target
    return None if target is None else {"target": float(target), "warmup": asg.warmup}


class AutoscalingGroup(Kind):
    kind = "autoscaling_group"
    label = "Auto Scaling group"
    rank = 70
    replace_on = ("name",)  # groups cannot be renamed

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        asg = spec.autoscaling
        if asg is None:
            return {}
        facts = _launch_facts(aws, spec, asg)
        facts.update(balancer_facts(aws, spec, asg))
        facts.update(_subnet_facts(aws, asg, net))
        return facts

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        asg = spec.autoscaling
        if asg is None:
            return []
        name = group_name(spec)
        facts = net.facts
        launch = facts.get("asg.launch")
        lc_base = None
        if launch is None:
            assert spec.launch is not None
            if spec.launch.kind == "template":
                launch = {"template": Ref("launch-template", "id")}
            else:
                launch = {"config": Ref("launch-config", "name")}
                lc_base = base_name(spec)
        if "template" in launch:
            launch = {**launch, "version": LATEST}
        mixed = None
        if asg.mixed:
            mixed = {"types": list(asg.instance_types), "on_demand_percent": asg.on_demand_percent,
                     "on_demand_base": asg.on_demand_base}
        target_groups: list[Any] = list(facts.get("asg.target_groups", []))
        if facts.get("asg.own_alb") and spec.load_balancer is not None:
            # The stack's ALB or NLB: every group that carries traffic (an NLB's RTMP and UDP too).
            target_groups += [Ref(tg, "arn") for tg in serving(spec.load_balancer)]
        balancers: list[Any] = list(facts.get("asg.load_balancers", []))
        if facts.get("asg.own_elb"):
            balancers.append(Ref("classic-lb", "name"))
        policy = scaling_policy(asg)
        pool = None
        if asg.warm_pool is not None:
            pool = {"state": POOL_STATES[asg.warm_pool.state], "min": asg.warm_pool.min, "max": asg.warm_pool.max}
        uses_config = "config" in launch
        tags = [[k, v, True] for k, v in sorted(spec.stack.tags.items())]
        tags += [[names.TAG_STACK, spec.name, True], [names.TAG_ID, LOGICAL_ID, False],
                 # Launch configurations cannot tag instances: the group names them then.
                 ["Name", name, uses_config]]
        if asg.desired is not None:
            tags.append([TAG_DESIRED, str(asg.desired), False])
        if lc_base is not None:
            tags.append([TAG_BASE, lc_base, False])
        return [Resource(self.kind, LOGICAL_ID, name, {
            "min": asg.min,
            "max": asg.max,
            "desired": asg.desired,
            "launch": launch,
            "mixed": mixed,
            "target_groups": target_groups,
            "load_balancers": balancers,
            # ELB health checks only mean something with a balancer to check.
            "health_check_type": "ELB" if target_groups or balancers else "EC2",
            "grace": asg.health_check_grace,
            "subnets": sorted(asg.subnets or net.subnets),
            "policy": policy,
            "warm_pool": pool,
            "hooks": lifecycle_hooks(spec),
            "schedule": scheduled_actions(asg),
            "tags": sorted(tags, key=lambda t: str(t[0])),
            "launch_config_base": lc_base,
        })]

    # -- reading -------------------------------------------------------------------------

    def discover(self, ctx: Context) -> list[Observed]:
        groups = ctx.aws.paginate("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups",
                                  Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [ctx.stack]}])
        # The HAProxy host's group of one is its own kind (awslb/resources/haproxy_host.py).
        return [self._observed(ctx, g) for g in groups
                if not names.tag_dict(g.get("Tags")).get(names.TAG_ID, "").startswith("haproxy-")]

    def _observed(self, ctx: Context, g: Mapping[str, Any]) -> Observed:
        name = g["AutoScalingGroupName"]
        policies = ctx.aws.call("autoscaling", "describe_policies", AutoScalingGroupName=name,
                                PolicyNames=[POLICY_NAME]).get("ScalingPolicies", [])
        pool = ctx.aws.call("autoscaling", "describe_warm_pool", AutoScalingGroupName=name)
        tag_items = g.get("Tags", [])
        tags = names.tag_dict(tag_items)
        return Observed(self.kind, tags.get(names.TAG_ID, name), name, name, {
            "name": name,
            **group_attrs(g),
            "policy": policy_attrs(policies),
            "warm_pool": pool_attrs(pool),
            "hooks": hook_attrs(ctx.aws.call("autoscaling", "describe_lifecycle_hooks",
                                             AutoScalingGroupName=name).get("LifecycleHooks", [])),
            "schedule": schedule_attrs(ctx.aws.paginate("autoscaling", "describe_scheduled_actions",
                                                        "ScheduledUpdateGroupActions", AutoScalingGroupName=name)),
            "tags": sorted([[t["Key"], t.get("Value", ""), bool(t.get("PropagateAtLaunch"))] for t in tag_items],
                           key=lambda t: str(t[0])),
        })

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out = changed("min", props["min"], a.get("min")) + changed("max", props["max"], a.get("max"))
        if props["desired"] is not None and str(props["desired"]) != _tag(a, TAG_DESIRED):
            out += changed("desired", props["desired"], a.get("desired"))
        out += changed("launch", _show(props["launch"]), _show(a.get("launch")))
        out += changed("mixed instances", _show(props["mixed"]), _show(a.get("mixed")))
        out += changed("target groups", sorted(map(str, props["target_groups"])), a.get("target_groups"))
        out += changed("classic balancers", sorted(map(str, props["load_balancers"])), a.get("load_balancers"))
        out += changed("health check", f"{props['health_check_type']} grace {props['grace']}s",
                       f"{a.get('health_check_type')} grace {a.get('grace')}s")
        out += changed("subnets", props["subnets"], a.get("subnets"))
        out += changed("scaling policy", _show(props["policy"]), _show(a.get("policy")))
        out += changed("warm pool", _show(props["warm_pool"]), _show(a.get("warm_pool")))
        out += changed("lifecycle hooks", [_show(h) for h in props.get("hooks", [])],
                       [_show(h) for h in a.get("hooks", [])])
        out += changed("scheduled actions", [_show(h) for h in props.get("schedule", [])],
                       [_show(h) for h in a.get("schedule", [])])
        want_tags = {t[0]: (t[1], t[2]) for t in props["tags"]}
        have_tags = {t[0]: (t[1], t[2]) for t in a.get("tags", [])}
        if want_tags != have_tags:
            keys = sorted(k for k in set(want_tags) | set(have_tags) if want_tags.get(k) != have_tags.get(k))
            out.append("tags: " + ", ".join(keys))
        return out

    # -- writing -------------------------------------------------------------------------

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        params: dict[str, Any] = {
            "AutoScalingGroupName": res.name,
            "MinSize": props["min"],
            "MaxSize": props["max"],
            "DesiredCapacity": props["desired"] if props["desired"] is not None else props["min"],
            "VPCZoneIdentifier": ",".join(props["subnets"]),
            "HealthCheckType": props["health_check_type"],
            "HealthCheckGracePeriod": props["grace"],
            "Tags": [{"Key": k, "Value": v, "PropagateAtLaunch": p} for k, v, p in props["tags"]],
            **launch_params(props),
        }
        if props["target_groups"]:
            params["TargetGroupARNs"] = list(props["target_groups"])
        if props["load_balancers"]:
            params["LoadBalancerNames"] = list(props["load_balancers"])
        if props.get("hooks"):
            # Made with the group, so its first instances already wait for them.
            params["LifecycleHookSpecificationList"] = [hook_params(h) for h in props["hooks"]]
        ctx.aws.call("autoscaling", "create_auto_scaling_group", **params)
        sync_hooks(ctx.aws, res.name, props.get("hooks", []), None)
        sync_schedule(ctx.aws, res.name, props.get("schedule", []), [])
        if props["policy"] is not None:
            put_policy(ctx.aws, res.name, props["policy"])
        if props["warm_pool"] is not None:
            put_pool(ctx.aws, res.name, props["warm_pool"])
        if ctx.wait:
            wait_in_service(ctx, res.name, list(props["target_groups"]))
        return self._read(ctx, res.name)

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        a = obs.attrs
        name = obs.name
        # A warm pool goes before the group changes (AWS refuses it beside a mixed-instances policy).
        if a.get("warm_pool") is not None and props["warm_pool"] is None:
            ctx.aws.find("autoscaling", "delete_warm_pool", AutoScalingGroupName=name, ForceDelete=True)
        params = _update_params(props, a)
        if params:
            ctx.aws.call("autoscaling", "update_auto_scaling_group", AutoScalingGroupName=name, **params)
        self._sync_balancers(ctx, name, props, a)
        _sync_policy(ctx.aws, name, props, a)
        if props["warm_pool"] is not None and props["warm_pool"] != a.get("warm_pool"):
            put_pool(ctx.aws, name, props["warm_pool"])
        sync_hooks(ctx.aws, name, props.get("hooks", []), a.get("hooks", []))
        sync_schedule(ctx.aws, name, props.get("schedule", []), a.get("schedule", []))
        self._sync_tags(ctx, name, props["tags"], a.get("tags", []))
        return self._read(ctx, name)

    def _sync_balancers(self, ctx: Context, name: str, props: Mapping[str, Any], a: Mapping[str, Any]) -> None:
        want, have = set(props["target_groups"]), set(a.get("target_groups", []))
        if want - have:
            ctx.aws.call("autoscaling", "attach_load_balancer_target_groups", AutoScalingGroupName=name,
                         TargetGroupARNs=sorted(want - have))
        if have - want:
            ctx.aws.call("autoscaling", "detach_load_balancer_target_groups", AutoScalingGroupName=name,
                         TargetGroupARNs=sorted(have - want))
        want, have = set(props["load_balancers"]), set(a.get("load_balancers", []))
        if want - have:
            ctx.aws.call("autoscaling", "attach_load_balancers", AutoScalingGroupName=name,
                         LoadBalancerNames=sorted(want - have))
        if have - want:
            ctx.aws.call("autoscaling", "detach_load_balancers", AutoScalingGroupName=name,
                         LoadBalancerNames=sorted(have - want))

    def _sync_tags(self, ctx: Context, name: str, want: list[Any], have: list[Any]) -> None:
        want_d = {t[0]: (t[1], t[2]) for t in want}
        have_d = {t[0]: (t[1], t[2]) for t in have}
        put = [k for k in want_d if want_d[k] != have_d.get(k)]
        drop = [k for k in have_d if k not in want_d]
        ref = {"ResourceId": name, "ResourceType": "auto-scaling-group"}
        if put:
            ctx.aws.call("autoscaling", "create_or_update_tags", Tags=[
                {**ref, "Key": k, "Value": want_d[k][0], "PropagateAtLaunch": want_d[k][1]} for k in sorted(put)])
        if drop:
            ctx.aws.call("autoscaling", "delete_tags", Tags=[{**ref, "Key": k} for k in sorted(drop)])

    def _read(self, ctx: Context, name: str) -> Observed:
        groups = ctx.aws.call("autoscaling", "describe_auto_scaling_groups",
                              AutoScalingGroupNames=[name])["AutoScalingGroups"]
        if not groups:
            raise AwslbError(f"Auto Scaling group {name} vanished right after it was written")
        return self._observed(ctx, groups[0])

    def delete(self, ctx: Context, obs: Observed) -> None:
        name = obs.physical_id
        group = find_group(ctx.aws, name)
        if group is None:
            return
        if group.get("Status") != "Delete in progress":
            # ForceDelete terminates the instances (and the warm pool) with the group.
            ctx.aws.call("autoscaling", "delete_auto_scaling_group", AutoScalingGroupName=name, ForceDelete=True)
        # No boto3 waiter exists for Auto Scaling: poll until the group is gone, so its
        # launch template and security groups can be deleted next.
        deadline = time.monotonic() + ctx.timeout
        while True:
            group = find_group(ctx.aws, name)
            if group is None:
                return
            left = len(group.get("Instances", []))
            ctx.progress(f"waiting for the group to go ({left} instance(s) terminating)")
            if time.monotonic() > deadline:
                raise AwsError("DeleteAutoScalingGroup", "WaiterFailed",
                               f"{name} still exists after {ctx.timeout:.0f}s",
                               "check its scaling activities in the console, then run `awslb down` again")
            time.sleep(ctx.poll)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        a = obs.attrs
        out: dict[str, Any] = {"size": f"{a.get('min')}-{a.get('max')}", "desired": a.get("desired"),
                               "in_service": a.get("in_service")}
        if a.get("policy") and a["policy"].get("metric"):
            out["scales_on"] = f"{a['policy']['metric']} per server, target {a['policy']['target']:g}"
        elif a.get("policy"):
            out["cpu_target"] = a["policy"]["target"]
        for h in a.get("hooks", []):
            out[f"hook_{h['name']}"] = f"{h['transition'].split(':')[-1]} heartbeat {h['heartbeat']}s"
        if a.get("warm_pool"):
            out["warm_pool"] = f"{a['warm_pool']['state']} min {a['warm_pool']['min']}"
        return out

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribePolicies",
                     "autoscaling:DescribeWarmPool", "autoscaling:DescribeInstanceRefreshes",
                     "autoscaling:DescribeLifecycleHooks", "autoscaling:DescribeScheduledActions",
                     "autoscaling:DescribeLaunchConfigurations", "ec2:DescribeLaunchTemplates",
                     "ec2:DescribeSubnets", "elasticloadbalancing:DescribeTargetGroups",
                     "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetHealth"],
            "write": ["autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup",
                      "autoscaling:DeleteAutoScalingGroup", "autoscaling:PutScalingPolicy",
                      "autoscaling:DeletePolicy", "autoscaling:PutWarmPool", "autoscaling:DeleteWarmPool",
                      "autoscaling:PutLifecycleHook", "autoscaling:DeleteLifecycleHook",
                      "autoscaling:PutScheduledUpdateGroupAction", "autoscaling:DeleteScheduledAction",
                      "autoscaling:AttachLoadBalancerTargetGroups", "autoscaling:DetachLoadBalancerTargetGroups",
                      "autoscaling:AttachLoadBalancers", "autoscaling:DetachLoadBalancers",
                      "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags",
                      "autoscaling:SetDesiredCapacity", "autoscaling:StartInstanceRefresh",
                      "autoscaling:DeleteLaunchConfiguration", "iam:CreateServiceLinkedRole",
                      # The group launches from the template with the caller's permissions.
                      "ec2:RunInstances", "ec2:CreateTags"],
        }


# -- AWS shapes <-> canonical attrs ----------------------------------------------------------

def launch_params(props: Mapping[str, Any]) -> dict[str, Any]:
    launch, mixed = props["launch"], props["mixed"]
    if "config" in launch:
        return {"LaunchConfigurationName": launch["config"]}
    spec = {"LaunchTemplateId": launch["template"], "Version": launch.get("version", LATEST)}
    if mixed is None:
        return {"LaunchTemplate": spec}
    distribution: dict[str, Any] = {"OnDemandBaseCapacity": mixed["on_demand_base"],
                                    "OnDemandPercentageAboveBaseCapacity": mixed["on_demand_percent"]}
    if mixed["on_demand_percent"] < 100:
        distribution["SpotAllocationStrategy"] = "price-capacity-optimized"
    return {"MixedInstancesPolicy": {
        "LaunchTemplate": {"LaunchTemplateSpecification": spec,
                           "Overrides": [{"InstanceType": t} for t in mixed["types"]]},
        "InstancesDistribution": distribution,
    }}


def group_attrs(g: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a describe_auto_scaling_groups entry awslb sets, in the props' shape."""
    mixed = None
    launch: dict[str, Any] | None = None
    if g.get("MixedInstancesPolicy"):
        mip = g["MixedInstancesPolicy"]
        spec = mip.get("LaunchTemplate", {}).get("LaunchTemplateSpecification", {})
        launch = {"template": spec.get("LaunchTemplateId"), "version": spec.get("Version", LATEST)}
        dist = mip.get("InstancesDistribution", {})
        mixed = {"types": [o["InstanceType"] for o in mip.get("LaunchTemplate", {}).get("Overrides", [])
                           if "InstanceType" in o],
                 "on_demand_percent": dist.get("OnDemandPercentageAboveBaseCapacity", 100),
                 "on_demand_base": dist.get("OnDemandBaseCapacity", 0)}
    elif g.get("LaunchTemplate"):
        lt = g["LaunchTemplate"]
        launch = {"template": lt.get("LaunchTemplateId"), "version": lt.get("Version", LATEST)}
    elif g.get("LaunchConfigurationName"):
        launch = {"config": g["LaunchConfigurationName"]}
    instances = g.get("Instances", [])
    return {
        "min": g.get("MinSize"),
        "max": g.get("MaxSize"),
        "desired": g.get("DesiredCapacity"),
        "in_service": sum(1 for i in instances if i.get("LifecycleState") == "InService"),
        "launch": launch,
        "mixed": mixed,
        "target_groups": sorted(g.get("TargetGroupARNs", [])),
        "load_balancers": sorted(g.get("LoadBalancerNames", [])),
        "health_check_type": g.get("HealthCheckType"),
        "grace": g.get("HealthCheckGracePeriod", 0),
        "subnets": sorted(s for s in (g.get("VPCZoneIdentifier") or "").split(",") if s),
    }


def policy_attrs(policies: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    for p in policies:
        cfg = p.get("TargetTrackingConfiguration") or {}
        metric = (cfg.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        custom = cfg.get("CustomizedMetricSpecification") or {}
        media = next((k for k, (m, _) in METRICS.items() if m == custom.get("MetricName")), None)
        if p.get("PolicyName") == POLICY_NAME and custom.get("Namespace") == NAMESPACE and media is not None:
            return {"metric": media, "target": float(cfg.get("TargetValue", 0)),
                    "warmup": p.get("EstimatedInstanceWarmup")}
        if p.get("PolicyName") == POLICY_NAME and metric == "ASGAverageCPUUtilization":
            return {"target": float(cfg.get("TargetValue", 0)), "warmup": p.get("EstimatedInstanceWarmup")}
        if p.get("PolicyName") == POLICY_NAME:
            return {"target": None, "warmup": p.get("EstimatedInstanceWarmup")}  # changed outside awslb
    return None


def pool_attrs(resp: Mapping[str, Any]) -> dict[str, Any] | None:
    cfg = resp.get("WarmPoolConfiguration")
    if not cfg or cfg.get("Status") == "PendingDelete":
        return None
    return {"state": cfg.get("PoolState", "Stopped"), "min": cfg.get("MinSize", 0),
            "max": cfg.get("MaxGroupPreparedCapacity")}


def put_policy(aws: Aws, group: str, policy: Mapping[str, Any]) -> None:
    """Target tracking on the group's average CPU, with the guide's instance warm-up time, or on
    a media figure per server the agents publish (``metric``: a customized metric at 10 s)."""
    metric: dict[str, Any] = {"PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"}}
    if policy.get("metric"):
        metric = {"CustomizedMetricSpecification": customized_metric(policy["metric"], group)}
    aws.call("autoscaling", "put_scaling_policy",
             AutoScalingGroupName=group,
             PolicyName=POLICY_NAME,
             PolicyType="TargetTrackingScaling",
             EstimatedInstanceWarmup=policy["warmup"],
             TargetTrackingConfiguration={**metric, "TargetValue": policy["target"]})


DRAIN_HOOK = "awslb-drain"
LAUNCH_HOOK = "awslb-launch"
LAUNCH_HOOK_TIMEOUT = 1800  # the user-data's time to configure the server before it completes the hook


def lifecycle_hooks(spec: StackSpec) -> list[dict[str, Any]]:
    """The terminate hook of ``[autoscaling.drain]`` and the launch hook of a warm pool."""
    from awslb.resources.iam_role import launch_hook_used

    asg = spec.autoscaling
    assert asg is not None
    out = []
    if launch_hook_used(spec):
        # ABANDON: a server whose user-data did not finish never enters service (nor the pool).
        out.append({"name": LAUNCH_HOOK, "transition": "autoscaling:EC2_INSTANCE_LAUNCHING",
                    "heartbeat": LAUNCH_HOOK_TIMEOUT, "result": "ABANDON"})
    if asg.drain is not None:
        # CONTINUE: when the agent cannot answer, the server still goes at the end of the wait.
        out.append({"name": DRAIN_HOOK, "transition": "autoscaling:EC2_INSTANCE_TERMINATING",
                    "heartbeat": asg.drain.heartbeat, "result": "CONTINUE"})
    return sorted(out, key=lambda h: str(h["name"]))


def hook_params(hook: Mapping[str, Any]) -> dict[str, Any]:
    return {"LifecycleHookName": hook["name"], "LifecycleTransition": hook["transition"],
            "HeartbeatTimeout": hook["heartbeat"], "DefaultResult": hook["result"]}


def hook_attrs(found: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """awslb's hooks (named awslb-*) in the props' shape; hooks made by others are left alone."""
    return sorted(({"name": h["LifecycleHookName"], "transition": h.get("LifecycleTransition"),
                    "heartbeat": h.get("HeartbeatTimeout"), "result": h.get("DefaultResult")}
                   for h in found if str(h.get("LifecycleHookName", "")).startswith("awslb-")),
                  key=lambda h: str(h["name"]))


def sync_hooks(aws: Aws, group: str, want: list[Mapping[str, Any]], have: list[Mapping[str, Any]] | None) -> None:
    """Put the hooks that are missing or differ, delete awslb's hooks no longer wanted."""
    if have is None:  # just created with the group: read what AWS made of the list
        have = list(hook_attrs(aws.call("autoscaling", "describe_lifecycle_hooks",
                                        AutoScalingGroupName=group).get("LifecycleHooks", [])))
    by_name = {h["name"]: h for h in have}
    for hook in want:
        if dict(by_name.get(hook["name"]) or {}) != dict(hook):
            aws.call("autoscaling", "put_lifecycle_hook", AutoScalingGroupName=group, **hook_params(hook))
    for name in sorted(set(by_name) - {h["name"] for h in want}):
        aws.find("autoscaling", "delete_lifecycle_hook", AutoScalingGroupName=group, LifecycleHookName=name)


SCHEDULE_PREFIX = "awslb-"


def scheduled_actions(asg: AutoscalingSection) -> list[dict[str, Any]]:
    """``[[autoscaling.schedule]]`` entries that set capacity, as scheduled actions (awslb-NAME).
    A warm-pool state is not a scheduled action's: awslb/resources/schedule.py does those."""
    out = []
    for e in asg.schedule:
        sizes = {"min": e.min, "max": e.max, "desired": e.desired}
        if any(v is not None for v in sizes.values()):
            out.append({"name": SCHEDULE_PREFIX + e.name, "cron": e.cron, "timezone": e.timezone, **sizes})
    return sorted(out, key=lambda x: str(x["name"]))


def schedule_attrs(found: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({"name": a["ScheduledActionName"], "cron": a.get("Recurrence"),
                    "timezone": a.get("TimeZone") or "UTC", "min": a.get("MinSize"), "max": a.get("MaxSize"),
                    "desired": a.get("DesiredCapacity")}
                   for a in found if str(a.get("ScheduledActionName", "")).startswith(SCHEDULE_PREFIX)),
                  key=lambda x: str(x["name"]))


def sync_schedule(aws: Aws, group: str, want: list[Mapping[str, Any]], have: list[Mapping[str, Any]]) -> None:
    by_name = {h["name"]: h for h in have}
    for action in want:
        if dict(by_name.get(action["name"]) or {}) == dict(action):
            continue
        sizes = {k: v for k, v in (("MinSize", action["min"]), ("MaxSize", action["max"]),
                                   ("DesiredCapacity", action["desired"])) if v is not None}
        aws.call("autoscaling", "put_scheduled_update_group_action", AutoScalingGroupName=group,
                 ScheduledActionName=action["name"], Recurrence=action["cron"], TimeZone=action["timezone"],
                 **sizes)
    for name in sorted(set(by_name) - {a["name"] for a in want}):
        aws.find("autoscaling", "delete_scheduled_action", AutoScalingGroupName=group, ScheduledActionName=name)


def put_pool(aws: Aws, group: str, pool: Mapping[str, Any]) -> None:
    params: dict[str, Any] = {"AutoScalingGroupName": group, "PoolState": pool["state"], "MinSize": pool["min"]}
    if pool.get("max") is not None:
        # Instances in the group and the pool together (AWS's MaxGroupPreparedCapacity).
        params["MaxGroupPreparedCapacity"] = pool["max"]
    aws.call("autoscaling", "put_warm_pool", **params)


def _tag(attrs: Mapping[str, Any], key: str) -> str | None:
    return next((t[1] for t in attrs.get("tags", []) if t[0] == key), None)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_show(v) if isinstance(v, Mapping) else v}" for k, v in value.items()
                         if v is not None)
    return str(value)


# -- application-driven scaling and instance refresh (library functions for the CLI) --------

def find_group(aws: Aws, name: str) -> dict[str, Any] | None:
    groups = aws.call("autoscaling", "describe_auto_scaling_groups",
                      AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return groups[0] if groups else None


def require_group(aws: Aws, name: str) -> dict[str, Any]:
    group = find_group(aws, name)
    if group is None:
        raise InputError(f"NAME: no such Auto Scaling group in {aws.region}: {name}")
    return group


def scale(aws: Aws, name: str, desired: int, honor_cooldown: bool = False) -> dict[str, Any]:
    """Set the group's desired capacity (seed 003: the application decides when to scale).

    The size must lie within the group's min and max (checked first: one line, no write).
    ``honor_cooldown=False`` by default: the application decided, and a cooldown (which
    only simple scaling policies use) should not refuse it; with True, AWS refuses while
    a cooldown runs (ScalingActivityInProgress).
    """
    group = require_group(aws, name)
    lo, hi = group["MinSize"], group["MaxSize"]
    if not lo <= desired <= hi:
        raise InputError(f"--desired: {desired} is outside the group's size {lo}-{hi} "
                         "(change it with `awslb asg create --min/--max`)")
    before = group["DesiredCapacity"]
    if before != desired:
        aws.call("autoscaling", "set_desired_capacity", AutoScalingGroupName=name, DesiredCapacity=desired,
                 HonorCooldown=honor_cooldown)
    return {"group": name, "before": before, "desired": desired, "changed": before != desired}


TERMINAL = {"Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed", "Baseline"}


def wait_in_service(ctx: Context, name: str, target_groups: list[str]) -> None:
    """Until the group's desired instances are InService and healthy in its target groups.

    botocore has no Auto Scaling waiters, so this polls at the context's interval up to
    its timeout (`up --timeout`); `--no-wait` skips it.
    """
    deadline = time.monotonic() + ctx.timeout
    while True:
        groups = ctx.aws.call("autoscaling", "describe_auto_scaling_groups",
                              AutoScalingGroupNames=[name])["AutoScalingGroups"]
        if not groups:
            return
        want = int(groups[0].get("DesiredCapacity") or 0)
        ready = {i["InstanceId"] for i in groups[0].get("Instances", []) if i.get("LifecycleState") == "InService"}
        for arn in target_groups:
            health = ctx.aws.call("elbv2", "describe_target_health", TargetGroupArn=arn)
            ready &= {d["Target"]["Id"] for d in health.get("TargetHealthDescriptions", [])
                      if d.get("TargetHealth", {}).get("State") == "healthy"}
        if len(ready) >= want:
            return
        if time.monotonic() > deadline:
            raise AwsError("wait group-in-service", "Timeout",
                           f"{name}: {len(ready)} of {want} instance(s) in service and healthy",
                           "check the instances' health checks (the stat page on 8081) and the user-data log; "
                           "`awslb status` shows each target's state")
        ctx.progress(f"waiting for instances in service and healthy ({len(ready)}/{want})")
        time.sleep(ctx.poll)


def refresh(aws: Aws, ui: UI, name: str, *, min_healthy: int = 90, warmup: int | None = None,
            skip_matching: bool = True, wait: bool = True, poll: float = 15.0,
            timeout: float = 3600.0) -> dict[str, Any]:
    """Roll the group's instances onto its current launch template version (or AMI).

    Starts an instance refresh (rolling, keeping ``min_healthy`` % in service); with a
    launch template, instances already on the current version are skipped (AWS's skip
    matching; launch configurations do not support it). A refresh already running is
    followed instead of failing. Waits until it ends unless ``wait`` is False.
    """
    group = require_group(aws, name)
    prefs: dict[str, Any] = {"MinHealthyPercentage": min_healthy}
    if warmup is not None:
        prefs["InstanceWarmup"] = warmup
    if skip_matching and not group.get("LaunchConfigurationName"):
        prefs["SkipMatching"] = True
    try:
        rid = aws.call("autoscaling", "start_instance_refresh", AutoScalingGroupName=name, Strategy="Rolling",
                       Preferences=prefs)["InstanceRefreshId"]
        ui.info(f"instance refresh {rid} started on {name}")
    except AwsError as exc:
        if exc.code != "InstanceRefreshInProgress":
            raise
        running = [r for r in aws.call("autoscaling", "describe_instance_refreshes",
                                       AutoScalingGroupName=name)["InstanceRefreshes"]
                   if r.get("Status") not in TERMINAL]
        if not running:
            raise
        rid = running[0]["InstanceRefreshId"]
        ui.info(f"an instance refresh is already running on {name} ({rid}): following it")
    state = _refresh_state(aws, name, rid)
    if not wait:
        return state
    deadline = time.monotonic() + timeout
    with ui.progress() as progress:
        task = progress.start(f"instance refresh {rid}: {state['status']}")
        while state["status"] not in TERMINAL:
            if time.monotonic() > deadline:
                progress.finish(task, f"instance refresh {rid}: still {state['status']}", ok=False)
                raise AwslbError(f"instance refresh {rid} on {name} is still {state['status']} after {timeout:.0f}s",
                                 f"it goes on without awslb: run `awslb asg refresh {name}` again to follow it")
            time.sleep(poll)
            state = _refresh_state(aws, name, rid)
            progress.update(task, f"instance refresh {rid}: {state['status']} {state['percent']}% "
                                  f"({state['to_update']} instance(s) to replace)")
        progress.finish(task, f"instance refresh {rid}: {state['status']}", ok=state["status"] == "Successful")
    if state["status"] != "Successful":
        raise AwslbError(f"instance refresh {rid} on {name} ended {state['status']}"
                         + (f": {state['reason']}" if state.get("reason") else ""),
                         "see the group's activity history in the console")
    return state


def _refresh_state(aws: Aws, name: str, rid: str) -> dict[str, Any]:
    found = aws.call("autoscaling", "describe_instance_refreshes", AutoScalingGroupName=name,
                     InstanceRefreshIds=[rid])["InstanceRefreshes"]
    r = found[0] if found else {"Status": "Pending"}
    return {"group": name, "id": rid, "status": r.get("Status", "Pending"),
            "percent": r.get("PercentageComplete", 0), "to_update": r.get("InstancesToUpdate"),
            "reason": r.get("StatusReason")}
