"""`awslb launch-template create`: the guide's launch template (seed 000, Marketplace image flow)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, report, run_step

app = typer.Typer(help="Launch templates: image, instance type, rendered user-data, IMDSv2, encrypted disk.",
                  no_args_is_help=True)

TemplateOpt = Annotated[str | None, typer.Option("--template", help="User-data template (`awslb userdata list`; default: edge).")]
AmiOpt = Annotated[str | None, typer.Option("--ami", help="Image id; default: the stack's image.")]
KeyOpt = Annotated[str | None, typer.Option("--key-name", help="EC2 key pair for SSH.")]
GroupOpt = Annotated[list[str] | None, typer.Option(
    "--security-group", help="Security group id (repeat); default: the stack's instance group.")]
VolumeOpt = Annotated[int | None, typer.Option("--volume-size", help="Root volume size in GiB (encrypted gp3).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="User-data variable KEY=VALUE (repeat).")]
VarsFileOpt = Annotated[str | None, typer.Option("--vars-file", help="User-data variables from a TOML file.")]
MonitoringOpt = Annotated[bool | None, typer.Option("--detailed-monitoring/--basic-monitoring",
                                                    help="1-minute CloudWatch metrics, faster CPU scaling (default: detailed).")]


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Launch template name (default: STACK-launch-template).")] = None,
    instance_type: Annotated[str | None, typer.Option("--instance-type", help="EC2 instance type (default: c5.large).")] = None,
    template: TemplateOpt = None,
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
    """Create the launch template (a change makes a new version of it, not a new template).

    A flag left out keeps what the stack has; a new --name makes a new template, the
    stack's group moves to it and the old one goes.
    """
    apply_launch(ctx, "launch-template create", stack=stack, dry_run=dry_run, yes=yes, name=name,
                 template=template, ami=ami, instance_type=instance_type, key_name=key_name,
                 security_group=security_group, volume_size=volume_size, set=set_, vars_file=vars_file,
                 detailed_monitoring=detailed_monitoring)


def apply_launch(ctx: typer.Context, command: str, *, stack: str, dry_run: bool, yes: bool, **flags: Any) -> None:
    """`launch-template create` and `launch-config create`: flags -> [launch] -> converge."""
    st, _aws, result = run_step(ctx, command, flags, stack=stack, dry_run=dry_run, yes=yes)
    report(st.ui, result, dry_run)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="launch-template")
