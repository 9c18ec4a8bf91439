"""`awslb asg create | scale | refresh`: the Auto Scaling group of the guides (seeds 000 and 003)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, confirm_apply, report, state
from awslb.cli.launch_template import AmiOpt, GroupOpt, KeyOpt, MonitoringOpt, SetOpt, VarsFileOpt, VolumeOpt

app = typer.Typer(help="Auto Scaling groups: create, scale (application-driven), refresh (new image).",
                  no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Auto Scaling group name.")],
    template: Annotated[str | None, typer.Option(
        "--template", help="Make the stack's launch template with this user-data template (e.g. edge).")] = None,
    launch_template: Annotated[str | None, typer.Option(
        "--launch-template", help="Use this existing launch template (by name).")] = None,
    launch_config: Annotated[str | None, typer.Option(
        "--launch-config", help="Use this launch configuration (legacy; by name).")] = None,
    min_size: Annotated[int, typer.Option("--min", help="Minimum number of instances.")] = 1,
    max_size: Annotated[int, typer.Option("--max", help="Maximum number of instances.")] = 10,
    desired: Annotated[int | None, typer.Option("--desired", help="Starting number (default: --min).")] = None,
    cpu_target: Annotated[float, typer.Option("--cpu-target", help="Average CPU % to keep (target tracking).")] = 70,
    no_scaling_policy: Annotated[bool, typer.Option(
        "--no-scaling-policy", help="No CPU policy: the application scales the group (`awslb asg scale`).")] = False,
    warmup: Annotated[int, typer.Option("--warmup", help="Seconds before a new instance's CPU counts.")] = 300,
    health_check_grace: Annotated[int, typer.Option(
        "--health-check-grace", help="Seconds before a new instance's health checks count.")] = 300,
    instance_type: Annotated[list[str] | None, typer.Option(
        "--instance-type", help="Instance type (repeat for a mixed-instances group).")] = None,
    on_demand_percent: Annotated[int, typer.Option(
        "--on-demand-percent", help="On-demand share above the base (the guide: 100).")] = 100,
    on_demand_base: Annotated[int, typer.Option("--on-demand-base", help="On-demand instances first.")] = 0,
    warm_pool_state: Annotated[str | None, typer.Option(
        "--warm-pool-state", help="Warm pool: stopped, hibernated or running.")] = None,
    warm_pool_min: Annotated[int | None, typer.Option("--warm-pool-min", help="Instances kept warm.")] = None,
    warm_pool_max: Annotated[int | None, typer.Option(
        "--warm-pool-max", help="Instances in the group and the pool together, at most.")] = None,
    alb: Annotated[str | None, typer.Option("--alb", help="Attach to this ALB's target group.")] = None,
    target_group: Annotated[list[str] | None, typer.Option(
        "--target-group", help="Attach to this target group (ARN or name; repeat).")] = None,
    elb: Annotated[str | None, typer.Option("--elb", help="Attach to this Classic Load Balancer.")] = None,
    subnet: Annotated[list[str] | None, typer.Option(
        "--subnet", help="Subnet (repeat); default: one in every zone of the stack's VPC.")] = None,
    ami: AmiOpt = None,
    key_name: KeyOpt = None,
    security_group: GroupOpt = None,
    volume_size: VolumeOpt = None,
    set_: SetOpt = None,
    vars_file: VarsFileOpt = None,
    detailed_monitoring: MonitoringOpt = True,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Create the Auto Scaling group: launch template, CPU policy, warm pool, balancer.

    With --template, the stack's launch template is made too (from the stack's image or
    --ami). Without a balancer flag, the group joins the stack's balancer if it has one.
    """
    from awslb import deploy, spec
    from awslb.errors import UsageError
    from awslb.spec import AutoscalingSection, LaunchSection

    st = state(ctx)
    chosen = [f for f, v in (("--template", template), ("--launch-template", launch_template),
                             ("--launch-config", launch_config)) if v is not None]
    if len(chosen) > 1:
        raise UsageError(f"{chosen[1]}: give one of --template, --launch-template and --launch-config")
    recorded = deploy.stack_spec(stack)
    if not chosen and recorded.launch is None:
        raise UsageError(f"--template: stack {stack} has no launch template or configuration yet: "
                         "give --template edge, --launch-template NAME or --launch-config NAME")
    if template is None:
        for flag, value in (("--ami", ami), ("--key-name", key_name), ("--security-group", security_group),
                            ("--volume-size", volume_size), ("--set", set_), ("--vars-file", vars_file)):
            if value:
                raise UsageError(f"{flag}: only with --template (it sets the launch template asg create makes)")
    balancers = [f for f, v in (("--alb", alb), ("--target-group", target_group), ("--elb", elb)) if v]
    if len(balancers) > 1:
        raise UsageError(f"{balancers[1]}: give one of --alb, --target-group and --elb")
    if (warm_pool_min is not None or warm_pool_max is not None) and warm_pool_state is None:
        raise UsageError("--warm-pool-state: give the warm pool's state (stopped, hibernated or running)")

    types = list(instance_type or [])
    values: dict[str, Any] = {
        "name": name, "min": min_size, "max": max_size, "desired": desired,
        "policy": "none" if no_scaling_policy else "cpu", "cpu_target": cpu_target, "warmup": warmup,
        "health_check_grace": health_check_grace, "on_demand_percent": on_demand_percent,
        "on_demand_base": on_demand_base, "instance_types": types, "subnets": list(subnet or []),
        "launch_template": launch_template, "launch_config": launch_config,
        "target_groups": list(target_group or []), "alb": alb, "elb": elb,
    }
    if warm_pool_state is not None:
        pool: dict[str, Any] = {"state": warm_pool_state, "min": warm_pool_min or 0}
        if warm_pool_max is not None:
            pool["max"] = warm_pool_max
        values["warm_pool"] = pool
    sections: dict[str, Any] = {
        "autoscaling": spec.section(AutoscalingSection, {k: v for k, v in values.items() if v is not None},
                                    "autoscaling"),
    }
    if template is not None:
        from awslb.cli.launch_template import launch_values

        # The stack's launch template keeps the name an earlier `launch-template create` gave it.
        old = recorded.launch
        lt_name = old.name if old is not None and old.kind == "template" else None
        launch = launch_values(kind="template", name=lt_name, template=template, ami=ami,
                               instance_type=types[0] if types else "c5.large", key_name=key_name,
                               security_group=security_group, volume_size=volume_size, sets=set_,
                               vars_file=vars_file, detailed_monitoring=detailed_monitoring, stack=stack)
        sections["launch"] = spec.section(LaunchSection, launch, "launch")
    result = deploy.apply_sections(st.aws(), st.ui, stack, sections, confirm=confirm_apply(yes),
                                   dry_run=dry_run, opts=st.options())
    report(st.ui, result, dry_run)


@app.command("scale")
def scale(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The Auto Scaling group.")],
    desired: Annotated[int, typer.Option("--desired", min=0, help="Number of instances to run.")],
    honor_cooldown: Annotated[bool, typer.Option(
        "--honor-cooldown", help="Let AWS refuse while a scaling cooldown runs.")] = False,
) -> None:
    """Set the number of instances (scaling driven by the application, seed 003).

    The number must lie within the group's min and max. Cooldowns are not honoured by
    default: they pace simple scaling policies, and an application that decided to scale
    should not be refused; --honor-cooldown lets AWS refuse while one runs.
    """
    from awslb.resources.autoscaling_group import scale as set_desired

    st = state(ctx)
    out = set_desired(st.aws(), name, desired, honor_cooldown)
    if st.ui.json:
        st.ui.data(out)
    elif out["changed"]:
        st.ui.success(f"{name}: desired capacity {out['before']} → {desired}")
    else:
        st.ui.success(f"{name}: desired capacity is {desired} already")


@app.command("refresh")
def refresh(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The Auto Scaling group.")],
    min_healthy: Annotated[int, typer.Option(
        "--min-healthy", min=0, max=100, help="Percent of the group kept in service while replacing.")] = 90,
    warmup: Annotated[int | None, typer.Option(
        "--warmup", min=0, help="Seconds a new instance warms up; default: the stack's autoscaling.warmup.")] = None,
    replace_all: Annotated[bool, typer.Option(
        "--replace-all", help="Replace every instance, even those on the current template version.")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Start it and return.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds to follow the refresh.")] = 3600,
    stack: StackOpt = "default",
) -> None:
    """Roll the instances onto a new image or launch template version (instance refresh)."""
    from awslb import deploy
    from awslb.resources.autoscaling_group import group_name
    from awslb.resources.autoscaling_group import refresh as start_refresh

    st = state(ctx)
    if warmup is None:
        recorded = deploy.stack_spec(stack)
        if recorded.autoscaling is not None and group_name(recorded) == name:
            warmup = recorded.autoscaling.warmup
    opts = st.options()
    out = start_refresh(st.aws(), st.ui, name, min_healthy=min_healthy, warmup=warmup,
                        skip_matching=not replace_all, wait=not no_wait, poll=opts.poll, timeout=timeout)
    if st.ui.json:
        st.ui.data(out)
    else:
        st.ui.success(f"instance refresh {out['id']} on {name}: {out['status']}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="asg")
