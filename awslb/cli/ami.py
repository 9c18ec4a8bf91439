"""`awslb ami create | list | delete`: the image of a configured server (guide 000, step 1)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, confirm_apply, report, state
from awslb.cli.flags import named_flags

ami = typer.Typer(help="Images (AMIs) of configured media servers.", no_args_is_help=True)

FLAGS = {
    "image.from_instance": "--instance-id",
    "image.name": "--name",
    "image.copy_to": "--copy-to",
}


@ami.command("create")
def create(
    ctx: typer.Context,
    stack: StackOpt = "default",
    instance_id: Annotated[str | None, typer.Option("--instance-id", help="The configured server: instance id "
                                                    "or Name tag.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Image name (default: <stack>-image).")] = None,
    reboot: Annotated[bool | None, typer.Option("--reboot/--no-reboot", help="Reboot the server for a "
                                                "consistent file system (default: no reboot; the "
                                                "server keeps running).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the image is available. "
                                       "Copies always wait for the source image.")] = True,
    copy_to: Annotated[list[str] | None, typer.Option("--copy-to", help="Also copy the image to this "
                                                      "region; repeat.")] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Make an image of a configured server; re-running finds it instead of making another.

    A different server or name makes a new image; the previous one is kept (a group may still launch from it) until `awslb ami delete`.
    """
    from awslb import deploy
    from awslb.errors import UsageError
    from awslb.spec import ImageSection, section

    st = state(ctx)
    recorded = deploy.stack_spec(stack).image
    values: dict[str, Any] = {}
    if recorded is not None and recorded.from_instance is not None:
        values = recorded.model_dump(exclude_none=True)
    if instance_id is not None:
        values["from_instance"] = instance_id
    if "from_instance" not in values:
        raise UsageError("--instance-id: which server? give its instance id (i-...) or Name tag")
    if name is not None:
        values["name"] = name
    if reboot is not None:
        values["reboot"] = reboot
    if copy_to:
        values["copy_to"] = sorted(set(values.get("copy_to", [])) | set(copy_to))

    with named_flags(FLAGS):
        image = section(ImageSection, values, "image")
        result = deploy.apply_sections(st.aws(), st.ui, stack, {"image": image}, confirm=confirm_apply(yes),
                                       dry_run=dry_run, opts=st.options(wait=wait))
    report(st.ui, result, dry_run)
    made = result.outputs.get("image")
    if made is not None and not dry_run and not st.ui.json:
        for region, copy in sorted(made.attrs.get("copies", {}).items()):
            if copy:
                st.ui.info(f"copy in {region}: {copy}")
        st.ui.line(made.physical_id)


@ami.command("list")
def list_(
    ctx: typer.Context,
    stack: StackOpt = "default",
) -> None:
    """The stack's images in this region: the current one, retired ones, copies made here."""
    from awslb import names
    from awslb.resources import image as img

    st = state(ctx)
    aws = st.aws()
    aws.check_credentials()
    rows = []
    for i in sorted(img.stack_images(aws, stack), key=lambda i: i.get("CreationDate", "")):
        tags = names.tag_dict(i.get("Tags"))
        lid = tags.get(names.TAG_ID, "")
        role = ("current" if lid == img.LOGICAL_ID
                else f"copy of {tags.get(img.TAG_SOURCE_IMAGE)} ({tags.get(img.TAG_SOURCE_REGION)})"
                if lid == img.COPY_ID else "retired")
        copies = img.find_copies(aws, i["ImageId"], img.copy_regions(i)) if lid != img.COPY_ID else {}
        rows.append({
            "image": i["ImageId"], "name": i.get("Name", ""), "state": i.get("State", ""), "role": role,
            "source_instance": tags.get(img.TAG_SOURCE_INSTANCE, ""), "created": i.get("CreationDate", ""),
            "copies": {r: c for r, c in copies.items() if c},
        })
    if st.ui.json:
        st.ui.data({"stack": stack, "region": aws.region, "images": rows})
        return
    if not rows:
        st.ui.info(f"stack {stack}: no images in {aws.region}")
        return
    st.ui.table(f"images of stack {stack} in {aws.region}",
                ["image", "name", "state", "role", "source instance", "created", "copies"],
                [[r["image"], r["name"], r["state"], r["role"], r["source_instance"], r["created"],
                  ", ".join(f"{k}={v}" for k, v in r["copies"].items())] for r in rows])


@ami.command("delete")
def delete(
    ctx: typer.Context,
    image_id: Annotated[str, typer.Argument(metavar="AMI", help="The image to delete.")],
    stack: StackOpt = "default",
    force: Annotated[bool, typer.Option("--force", help="Delete it even if it is not the stack's, or "
                                        "servers still run from it.")] = False,
    yes: YesOpt = False,
) -> None:
    """Deregister an image of the stack, delete its snapshots and its copies in other regions.

    Refuses an image the stack did not make (a Marketplace or team image, another stack's) and one that servers or launch configurations still use, unless --force.
    """
    from awslb import names
    from awslb.errors import InputError, UsageError
    from awslb.ledger import Ledger
    from awslb.resources import image as img
    from awslb.spec import AMI_ID

    st = state(ctx)
    if not AMI_ID.match(image_id):
        raise UsageError(f"AMI: not an image id (ami-...): {image_id!r}")
    aws = st.aws()
    aws.check_credentials()
    found = aws.find("ec2", "describe_images", ImageIds=[image_id])
    image = ((found or {}).get("Images") or [None])[0]
    if image is None:
        raise InputError(f"AMI: no such image in {aws.region}: {image_id}")
    tags = names.tag_dict(image.get("Tags"))
    owner = tags.get(names.TAG_STACK)
    if owner != stack and not force:
        why = f"belongs to stack {owner}: pass --stack {owner}" if owner else \
            f"was not made by awslb for stack {stack}"
        raise UsageError(f"AMI: {image_id} {why} (or --force to delete it anyway)")
    users = _users(aws, image_id)
    if users and not force:
        raise UsageError(f"AMI: {image_id} is in use by {', '.join(users[:5])}: pass --force to delete it anyway")
    copies = {r: c for r, c in img.find_copies(aws, image_id, img.copy_regions(image)).items() if c}
    what = f"{image_id} ({image.get('Name', '')}) and its snapshots" + (
        "; copies " + ", ".join(f"{c} in {r}" for r, c in copies.items()) if copies else "")
    st.ui.info(f"will delete {what}")
    if not confirm_apply(yes, "Delete it?")(None):  # --yes, a prompt on a terminal, else a usage error
        st.ui.info("nothing deleted")
        return
    deleted = img.delete_with_copies(aws, image, st.ui.info)
    ledger = Ledger.load(stack)
    for key, obs in list(ledger.resources.items()):
        if obs.physical_id == image_id:
            ledger.forget(key)
    if st.ui.json:
        st.ui.data({"deleted": deleted})
    else:
        st.ui.success(f"deleted {', '.join(deleted)}")


def _users(aws: Any, image_id: str) -> list[str]:
    """Live instances and launch configurations that use the image (read-only)."""
    users = []
    for res in aws.paginate("ec2", "describe_instances", "Reservations",
                            Filters=[{"Name": "image-id", "Values": [image_id]},
                                     {"Name": "instance-state-name", "Values": ["pending", "running", "stopping",
                                                                                "stopped"]}]):
        users += [i["InstanceId"] for i in res["Instances"]]
    for lc in aws.paginate("autoscaling", "describe_launch_configurations", "LaunchConfigurations"):
        if lc.get("ImageId") == image_id:
            users.append(f"launch configuration {lc['LaunchConfigurationName']}")
    return users


def register(app: typer.Typer) -> None:
    app.add_typer(ami, name="ami")
