"""One-shot operations outside the plan: images (list, delete) and groups (scale, refresh).

The CLI calls one function here per command; like :mod:`awslb.deploy`, anything the CLI
does, Python can do by calling these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.errors import InputError, UsageError
from awslb.ledger import Ledger
from awslb.resources import autoscaling_group as asg
from awslb.resources import image as img
from awslb.spec import AMI_ID
from awslb.ui import UI


def images(aws: Aws, stack: str) -> dict[str, Any]:
    """The stack's images in this region: the current one, retired ones, copies made here."""
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
    return {"stack": stack, "region": aws.region, "images": rows}


def check_image_id(image_id: str) -> None:
    if not AMI_ID.fullmatch(image_id):
        raise UsageError(f"AMI: not an image id (ami-...): {image_id!r}")


def delete_image(aws: Aws, ui: UI, stack: str, image_id: str, *, force: bool,
                 confirm: Callable[[str], bool]) -> list[str] | None:
    """Deregister a stack's image with its snapshots and copies; None when ``confirm`` says no.

    Refuses an image the stack did not make and one that servers or launch configurations
    still use, unless ``force``.
    """
    check_image_id(image_id)
    aws.check_credentials()
    found = aws.find("ec2", "describe_images", ImageIds=[image_id])
    image = ((found or {}).get("Images") or [None])[0]
    if image is None:
        raise InputError(f"AMI: no such image in {aws.region}: {image_id}")
    owner = names.tag_dict(image.get("Tags")).get(names.TAG_STACK)
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
    ui.info(f"will delete {what}")
    if not confirm("Delete it?"):
        return None
    deleted = img.delete_with_copies(aws, image, ui.info)
    ledger = Ledger.load(stack)
    for key, obs in list(ledger.resources.items()):
        if obs.physical_id == image_id:
            ledger.forget(key)
    return deleted


def _users(aws: Aws, image_id: str) -> list[str]:
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


def scale(aws: Aws, name: str, desired: int, honor_cooldown: bool = False) -> dict[str, Any]:
    """Set a group's desired capacity (seed 003: the application decides when to scale)."""
    return asg.scale(aws, name, desired, honor_cooldown)


def refresh(aws: Aws, ui: UI, stack: str, name: str, *, min_healthy: int = 90, warmup: int | None = None,
            skip_matching: bool = True, wait: bool = True, poll: float = 15.0,
            timeout: float = 3600.0) -> dict[str, Any]:
    """Roll a group's instances onto its current template version; warm-up defaults to the stack's."""
    from awslb.deploy import stack_spec

    if warmup is None:
        recorded = stack_spec(stack)
        if recorded.autoscaling is not None and asg.group_name(recorded) == name:
            warmup = recorded.autoscaling.warmup
    return asg.refresh(aws, ui, name, min_healthy=min_healthy, warmup=warmup, skip_matching=skip_matching,
                       wait=wait, poll=poll, timeout=timeout)


def dns_sync(aws: Aws, stack: str, *, dry_run: bool = False) -> list[dict[str, Any]]:
    """`awslb dns sync`: the stack's per-instance records reconciled from here (resources/dns_function)."""
    from awslb.resources.dns_function import sync_records

    return sync_records(aws, stack, dry_run=dry_run)
