"""`awslb asg create | scale | refresh`: the Auto Scaling group of the guides (seeds 000 and 003)."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, report, run_step, state
from awslb.cli.launch_template import AmiOpt, GroupOpt, KeyOpt, MonitoringOpt, SetOpt, VarsFileOpt, VolumeOpt

app = typer.Typer(help="Auto Scaling groups: create, scale (application-driven), refresh (new image).",
                  no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Auto Scaling group name (default: STACK-asg).")] = None,
    template: Annotated[str | None, typer.Option(
        "--template", help="Make the stack's launch template with this user-data template (e.g. edge).")] = None,
    launch_template: Annotated[str | None, typer.Option(
        "--launch-template", help="Use this existing launch template (by name).")] = None,
    launch_config: Annotated[str | None, typer.Option(
        "--launch-config", help="Use this launch configuration (legacy; by name).")] = None,
    min_size: Annotated[int | None, typer.Option("--min", help="Minimum number of instances (default: 1).")] = None,
    max_size: Annotated[int | None, typer.Option("--max", help="Maximum number of instances (default: 10).")] = None,
    desired: Annotated[int | None, typer.Option("--desired", help="Starting number (default: --min).")] = None,
    cpu_target: Annotated[float | None, typer.Option(
        "--cpu-target", help="Average CPU percent to keep, target tracking (default: 70).")] = None,
    no_scaling_policy: Annotated[bool, typer.Option(
        "--no-scaling-policy", help="No CPU policy: the application scales the group (`awslb asg scale`); "
                                    "--cpu-target brings it back.")] = False,
    warmup: Annotated[int | None, typer.Option("--warmup", help="Seconds before a new instance's CPU counts (default: 300).")] = None,
    health_check_grace: Annotated[int | None, typer.Option(
        "--health-check-grace", help="Seconds before a new instance's health checks count (default: 300).")] = None,
    instance_type: Annotated[list[str] | None, typer.Option(
        "--instance-type", help="Instance type (repeat for a mixed-instances group).")] = None,
    on_demand_percent: Annotated[int | None, typer.Option(
        "--on-demand-percent", help="On-demand share above the base (default and the guide: 100).")] = None,
    on_demand_base: Annotated[int | None, typer.Option("--on-demand-base", help="On-demand instances first (default: 0).")] = None,
    warm_pool_state: Annotated[str | None, typer.Option(
        "--warm-pool-state", help="Warm pool: stopped, hibernated or running; none removes it.")] = None,
    warm_pool_min: Annotated[int | None, typer.Option("--warm-pool-min", help="Instances kept warm.")] = None,
    warm_pool_max: Annotated[int | None, typer.Option(
        "--warm-pool-max", help="Instances in the group and the pool together, at most.")] = None,
    alb: Annotated[str | None, typer.Option("--alb", help="Attach to this ALB's target group.")] = None,
    nlb: Annotated[str | None, typer.Option("--nlb", help="Attach to this NLB's target groups (WebSocket, and RTMP/UDP if any).")] = None,
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
    detailed_monitoring: MonitoringOpt = None,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Create the Auto Scaling group: launch template, CPU policy, warm pool, balancer.

    With --template, the stack's launch template is made too (from the stack's image or
    --ami). Without a balancer flag, the group joins the stack's balancer if it has one.
    A flag left out keeps what the stack has.
    """
    flags = dict(name=name, template=template, launch_template=launch_template, launch_config=launch_config,
                 min=min_size, max=max_size, desired=desired, cpu_target=cpu_target,
                 no_scaling_policy=no_scaling_policy, warmup=warmup, health_check_grace=health_check_grace,
                 instance_type=instance_type, on_demand_percent=on_demand_percent, on_demand_base=on_demand_base,
                 warm_pool_state=warm_pool_state, warm_pool_min=warm_pool_min, warm_pool_max=warm_pool_max,
                 alb=alb, nlb=nlb, target_group=target_group, elb=elb, subnet=subnet, ami=ami, key_name=key_name,
                 security_group=security_group, volume_size=volume_size, set=set_, vars_file=vars_file,
                 detailed_monitoring=detailed_monitoring)
    st, _aws, result = run_step(ctx, "asg create", flags, stack=stack, dry_run=dry_run, yes=yes)
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
    from awslb import ops

    st = state(ctx)
    out = ops.scale(st.aws(), name, desired, honor_cooldown)
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
    from awslb import ops

    st = state(ctx)
    opts = st.options()
    out = ops.refresh(st.aws(), st.ui, stack, name, min_healthy=min_healthy, warmup=warmup,
                      skip_matching=not replace_all, wait=not no_wait, poll=opts.poll, timeout=timeout)
    if st.ui.json:
        st.ui.data(out)
    else:
        st.ui.success(f"instance refresh {out['id']} on {name}: {out['status']}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="asg")
