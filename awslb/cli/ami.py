"""`awslb ami create | list | delete`: the image of a configured server (guide 000, step 1)."""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, ask, report, run_step, state

ami = typer.Typer(help="Images (AMIs) of configured media servers.", no_args_is_help=True)

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
    flags = dict(instance_id=instance_id, name=name, reboot=reboot, copy_to=copy_to)
    st, _aws, result = run_step(ctx, "ami create", flags, stack=stack, dry_run=dry_run, yes=yes, wait=wait)
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
    from awslb import ops

    st = state(ctx)
    data = ops.images(st.aws(), stack)
    rows = data["images"]
    if st.ui.json:
        st.ui.data(data)
        return
    if not rows:
        st.ui.info(f"stack {stack}: no images in {data['region']}")
        return
    st.ui.table(f"images of stack {stack} in {data['region']}",
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
    from awslb import ops

    st = state(ctx)
    ops.check_image_id(image_id)
    deleted = ops.delete_image(st.aws(), st.ui, stack, image_id, force=force,
                               confirm=lambda question: ask(yes, question))
    if deleted is None:
        st.ui.info("nothing deleted")
    elif st.ui.json:
        st.ui.data({"deleted": deleted})
    else:
        st.ui.success(f"deleted {', '.join(deleted)}")


def register(app: typer.Typer) -> None:
    app.add_typer(ami, name="ami")
