"""`awslb launch-config create`: the Classic guide's launch configuration (legacy; seed 000)."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt
from awslb.cli.launch_template import AmiOpt, GroupOpt, KeyOpt, MonitoringOpt, SetOpt, VarsFileOpt, VolumeOpt

app = typer.Typer(help="Launch configurations (legacy: prefer `awslb launch-template create`).",
                  no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Base name; awslb adds a short hash of the content (default: STACK-launch-config).")] = None,
    instance_type: Annotated[str | None, typer.Option("--instance-type", help="EC2 instance type (default: c5.large).")] = None,
    ami: AmiOpt = None,
    template: Annotated[str | None, typer.Option(
        "--template", help="User-data template (`awslb userdata list`); default: no user-data.")] = None,
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
    """Create a launch configuration for the Classic flow.

    AWS no longer offers launch configurations to new accounts: `awslb launch-template
    create` makes the replacement. A launch configuration cannot change: a change makes a
    new one (a new hash in its name), the stack's group switches to it, the old one goes.
    Making one prints the warning.
    """
    from awslb.cli.launch_template import apply_launch

    apply_launch(ctx, "launch-config create", stack=stack, dry_run=dry_run, yes=yes, name=name,
                 template=template, ami=ami, instance_type=instance_type, key_name=key_name,
                 security_group=security_group, volume_size=volume_size, set=set_, vars_file=vars_file,
                 detailed_monitoring=detailed_monitoring)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="launch-config")
