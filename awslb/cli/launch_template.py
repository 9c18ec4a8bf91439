"""`awslb launch-template create`: the guide's launch template (seed 000, Marketplace image flow)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, confirm_apply, report, state

app = typer.Typer(help="Launch templates: image, instance type, rendered user-data, IMDSv2, encrypted disk.",
                  no_args_is_help=True)

TemplateOpt = Annotated[str, typer.Option("--template", help="User-data template (`awslb userdata list`).")]
AmiOpt = Annotated[str | None, typer.Option("--ami", help="Image id; default: the stack's image.")]
KeyOpt = Annotated[str | None, typer.Option("--key-name", help="EC2 key pair for SSH.")]
GroupOpt = Annotated[list[str] | None, typer.Option(
    "--security-group", help="Security group id (repeat); default: the stack's instance group.")]
VolumeOpt = Annotated[int | None, typer.Option("--volume-size", help="Root volume size in GiB (encrypted gp3).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="User-data variable KEY=VALUE (repeat).")]
VarsFileOpt = Annotated[str | None, typer.Option("--vars-file", help="User-data variables from a TOML file.")]
MonitoringOpt = Annotated[bool, typer.Option("--detailed-monitoring/--basic-monitoring",
                                             help="1-minute CloudWatch metrics (faster CPU scaling).")]


def launch_values(*, kind: str, name: str | None, template: str | None, ami: str | None, instance_type: str,
                  key_name: str | None, security_group: list[str] | None, volume_size: int | None,
                  sets: list[str] | None, vars_file: str | None, detailed_monitoring: bool,
                  stack: str) -> dict:
    """The [launch] section from flags, checked before anything is sent to AWS."""
    from awslb import deploy
    from awslb.errors import UsageError
    from awslb.userdata import load_vars_file, parse_sets, render_userdata

    given: dict = load_vars_file(vars_file) if vars_file else {}
    given.update(parse_sets(sets or []))
    if template is None:
        if given:
            raise UsageError("--set: user-data variables need --template")
    else:
        render_userdata(template, given, key="--set", template_key="--template")
    if ami is None and deploy.stack_spec(stack).image is None:
        raise UsageError(f"--ami: give the image id (ami-...): stack {stack} has no image "
                         "(`awslb ami create` makes one)")
    values: dict = {"kind": kind, "name": name, "userdata": template or "none", "ami": ami,
                    "instance_type": instance_type, "key_name": key_name,
                    "security_groups": list(security_group or []), "volume_size": volume_size,
                    "vars": given, "detailed_monitoring": detailed_monitoring}
    return {k: v for k, v in values.items() if v is not None}


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Launch template name.")],
    instance_type: Annotated[str, typer.Option("--instance-type", help="EC2 instance type, e.g. c5.large.")],
    template: TemplateOpt = "edge",
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
    """Create the launch template (a change makes a new version of it, not a new template)."""
    apply_launch(ctx, kind="template", name=name, template=template, ami=ami, instance_type=instance_type,
                 key_name=key_name, security_group=security_group, volume_size=volume_size, sets=set_,
                 vars_file=vars_file, detailed_monitoring=detailed_monitoring, stack=stack, dry_run=dry_run,
                 yes=yes)


def apply_launch(ctx: typer.Context, *, stack: str, dry_run: bool, yes: bool, **flags: Any) -> None:
    """`launch-template create` and `launch-config create`: flags -> [launch] -> converge."""
    from awslb import deploy, spec
    from awslb.spec import LaunchSection

    st = state(ctx)
    section = spec.section(LaunchSection, launch_values(stack=stack, **flags), "launch")
    result = deploy.apply_sections(st.aws(), st.ui, stack, {"launch": section}, confirm=confirm_apply(yes),
                                   dry_run=dry_run, opts=st.options())
    report(st.ui, result, dry_run)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="launch-template")
