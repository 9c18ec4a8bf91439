"""The image (AMI) made from a configured media server (guide 000, step 1), and its copies.

An image is never changed: a different source instance or name means a *new* image. The
old one is not deregistered, because a launch configuration or Auto Scaling group may still
launch from it: it is *retired* (its ``awslb:id`` tag becomes ``image@ami-...``) and stays
until the operator deletes it (`awslb ami delete AMI`, or `awslb down --delete-images`).
Likewise, a plan that drops the image (the stack no longer has an ``[image]`` section)
retires it unless the run was asked to delete images.

Copies to other regions (``copy_to``) are part of the image: the regions are recorded in
the source's ``awslb:copies`` tag *before* each copy is started, and every copy is tagged
in its region (``awslb:source-image``), so discovery finds them and deleting the image
deletes them too. Deleting an image deregisters it and deletes its EBS snapshots.

A copy is also tagged with the stack itself (``awslb:stack``). `down --delete-images` looks
for the stack's copies by that tag in every region the stack copied to (the regions the
stack's images record, the ledger's copies and its ``copy_to``), so a copy whose source is
gone (deregistered by hand, or by an older awslb) is found and deleted too, not orphaned.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.errors import AwsError, InputError
from awslb.resources.base import Context, Kind, Network, Observed, Resource
from awslb.resources.lookup import find_instances
from awslb.spec import StackSpec

LOGICAL_ID = "image"
COPY_ID = "image-copy"
RETIRED_PREFIX = "image@"
TAG_SOURCE_INSTANCE = "awslb:source-instance"
TAG_SOURCE_NAME = "awslb:source-name"
TAG_NAME = "awslb:name"
TAG_COPIES = "awslb:copies"
TAG_SOURCE_IMAGE = "awslb:source-image"
TAG_SOURCE_REGION = "awslb:source-region"
BROKEN_STATES = ("failed", "error", "invalid", "deregistered", "disabled")
NEW_IMAGE = "(a new image; the current one is kept)"


def stack_images(aws: Aws, stack: str, region: str | None = None) -> list[dict[str, Any]]:
    """Every image in ``region`` tagged with the stack: current, retired and copies."""
    return aws.paginate("ec2", "describe_images", "Images", region=region, Owners=["self"],
                        Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [stack]}])


def copy_regions(image: Mapping[str, Any]) -> list[str]:
    value = names.tag_dict(image.get("Tags")).get(TAG_COPIES, "")
    return sorted(r for r in value.split() if r)


def copy_regions_of_stack(images: list[dict[str, Any]], recorded: list[str]) -> list[str]:
    """Every region the stack copied an image to: recorded on its images (current and retired),
    and in its ledger (``recorded``: the copies made, and the stack's image.copy_to)."""
    regions: set[str] = set(recorded)
    for image in images:
        regions.update(copy_regions(image))
    return sorted(regions)


def find_copies(aws: Aws, image_id: str, regions: list[str]) -> dict[str, str | None]:
    """{region: copy id, or None when the region is recorded but holds no copy}."""
    found: dict[str, str | None] = {}
    for region in regions:
        copies = aws.paginate("ec2", "describe_images", "Images", region=region, Owners=["self"],
                              Filters=[{"Name": f"tag:{TAG_SOURCE_IMAGE}", "Values": [image_id]}])
        live = [c for c in copies if c.get("State") not in BROKEN_STATES]
        found[region] = live[0]["ImageId"] if live else None
    return found


def delete_image(aws: Aws, image_id: str, region: str | None = None, report: Any = None) -> list[str]:
    """Deregister one image and delete its EBS snapshots; returns what was deleted."""
    image = _describe(aws, image_id, region)
    if image is None:
        return []
    snapshots = [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", [])
                 if m.get("Ebs", {}).get("SnapshotId")]
    if report:
        report(f"deregistering {image_id}" + (f" in {region}" if region else ""))
    aws.find("ec2", "deregister_image", region=region, ImageId=image_id)
    for snap in snapshots:
        # A snapshot stays "in use" for a moment after its image is deregistered.
        for attempt in range(6):
            try:
                aws.find("ec2", "delete_snapshot", region=region, SnapshotId=snap)
                break
            except AwsError as exc:
                if exc.code != "InvalidSnapshot.InUse" or attempt == 5:
                    raise
                time.sleep(2 * (attempt + 1))
    return [image_id, *snapshots]


def delete_with_copies(aws: Aws, image: Mapping[str, Any], report: Any = None) -> list[str]:
    """Delete an image and every copy recorded on it (copies first)."""
    done: list[str] = []
    for region, copy_id in find_copies(aws, image["ImageId"], copy_regions(image)).items():
        if copy_id:
            done += delete_image(aws, copy_id, region, report)
    done += delete_image(aws, image["ImageId"], None, report)
    return done


def _describe(aws: Aws, image_id: str, region: str | None = None) -> dict[str, Any] | None:
    out = aws.find("ec2", "describe_images", region=region, ImageIds=[image_id])
    images = (out or {}).get("Images", [])
    return images[0] if images else None


class Image(Kind):
    kind = "image"
    label = "image"
    rank = 20

    # -- before planning ---------------------------------------------------------------

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        img = spec.image
        if img is None:
            return {}
        if img.id is not None:
            found = _describe(aws, img.id)
            if found is None:
                raise InputError(f"image.id: no such image in {aws.region}: {img.id}")
            if found.get("State") in BROKEN_STATES:
                raise InputError(f"image.id: {img.id} is {found['State']}: pick an available image")
            return {"image.id": img.id}
        facts = self._source(aws, spec)
        partition = aws.session.get_partition_for_region(aws.region)
        known = set(aws.session.get_available_regions("ec2", partition))
        for region in img.copy_to:
            if region == aws.region:
                raise InputError(f"image.copy_to: {region} is the stack's own region")
            if known and region not in known:
                raise InputError(f"image.copy_to: no such region in the {partition} partition: {region}")
        return facts

    def _source(self, aws: Aws, spec: StackSpec) -> dict[str, Any]:
        assert spec.image is not None and spec.image.from_instance is not None
        ref = spec.image.from_instance
        try:
            inst = find_instances(aws, [ref], "image.from_instance")[0]
        except InputError:
            # The server may be gone once its image exists: that image still satisfies the stack.
            for image in stack_images(aws, spec.name):
                tags = names.tag_dict(image.get("Tags"))
                if tags.get(names.TAG_ID) == LOGICAL_ID and ref in (
                        tags.get(TAG_SOURCE_INSTANCE), tags.get(TAG_SOURCE_NAME)):
                    return {"image.instance": tags[TAG_SOURCE_INSTANCE],
                            "image.instance_name": tags.get(TAG_SOURCE_NAME, "")}
            raise
        return {"image.instance": inst["InstanceId"],
                "image.instance_name": names.tag_dict(inst.get("Tags")).get("Name", "")}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        img = spec.image
        if img is None or img.id is not None:
            return []  # an existing image (image.id) is used as it is
        name = img.name or names.physical(spec.name, "image", 128)
        # Set by preflight; a step command that does not converge the image (asg create after
        # ami create) plans without its preflight, and then the image is not in its selection.
        instance = net.facts.get("image.instance", "")
        source_name = net.facts.get("image.instance_name", "")
        tags = names.tags(spec.name, LOGICAL_ID, name, spec.stack.tags)
        tags.update({TAG_SOURCE_INSTANCE: instance, TAG_NAME: name})
        if source_name:
            tags[TAG_SOURCE_NAME] = source_name
        return [Resource(self.kind, LOGICAL_ID, name, {
            "instance": instance,
            "instance_name": source_name,
            "name": name,
            "reboot": img.reboot,
            "wait": img.wait,
            "copy_to": sorted(img.copy_to),
            "tags": tags,
        })]

    # -- what exists -------------------------------------------------------------------

    def discover(self, ctx: Context) -> list[Observed]:
        out = []
        home = stack_images(ctx.aws, ctx.stack)
        for image in home:
            lid = names.tag_dict(image.get("Tags")).get(names.TAG_ID, "")
            if lid == LOGICAL_ID or (ctx.delete_images and lid.startswith(RETIRED_PREFIX)):
                out.append(self._observed(ctx.aws, image))
        if ctx.delete_images:
            out += self._orphan_copies(ctx, home)
        return out

    def _orphan_copies(self, ctx: Context, home: list[dict[str, Any]]) -> list[Observed]:
        """The stack's copies (by their own awslb:stack tag) whose source is not among its images."""
        sources = {i["ImageId"] for i in home}
        out = []
        recorded = list(ctx.net.facts.get("image.copy_regions", ())) if ctx.net is not None else []
        for region in copy_regions_of_stack(home, recorded):
            if region == ctx.aws.region:
                continue
            for copy in stack_images(ctx.aws, ctx.stack, region):
                tags = names.tag_dict(copy.get("Tags"))
                if tags.get(names.TAG_ID) != COPY_ID or tags.get(TAG_SOURCE_IMAGE) in sources:
                    continue  # a copy of a live image goes with it (delete_with_copies)
                ami = copy["ImageId"]
                out.append(Observed(self.kind, f"{COPY_ID}@{region}/{ami}", ami, copy.get("Name", ""), {
                    "id": ami, "region": region, "source": tags.get(TAG_SOURCE_IMAGE, ""),
                    "state": copy.get("State", ""), "copies": {},
                }))
        return out

    def _observed(self, aws: Aws, image: Mapping[str, Any]) -> Observed:
        tags = names.tag_dict(image.get("Tags"))
        ami = image["ImageId"]
        return Observed(self.kind, tags.get(names.TAG_ID, LOGICAL_ID), ami, image.get("Name", ""), {
            "id": ami,
            "name": tags.get(TAG_NAME, image.get("Name", "")),
            "source_instance": tags.get(TAG_SOURCE_INSTANCE, image.get("SourceInstanceId", "")),
            "state": image.get("State", ""),
            "copies": find_copies(aws, ami, copy_regions(image)),
        })

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        changes = self._replacement(props, obs)
        copies = obs.attrs.get("copies", {})
        changes += [f"copy to {r}" for r in props["copy_to"] if not copies.get(r)]
        return changes

    def _replacement(self, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out = []
        if a.get("state") in BROKEN_STATES:
            out.append(f"{obs.physical_id} is {a['state']} (a new image)")
        if props["instance"] != a.get("source_instance"):
            out.append(f"source instance: {a.get('source_instance')} → {props['instance']} {NEW_IMAGE}")
        if props["name"] != a.get("name"):
            out.append(f"name: {a.get('name')} → {props['name']} {NEW_IMAGE}")
        return out

    # -- writes ------------------------------------------------------------------------

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        ami_name = self._free_name(ctx, props["name"])
        source = props["instance"] + (f" ({props['instance_name']})" if props["instance_name"] else "")
        tags = {**props["tags"], "Name": ami_name}
        ctx.progress(f"creating an image of {source}")
        out = ctx.aws.call(
            "ec2", "create_image",
            InstanceId=props["instance"],
            Name=ami_name,
            Description=f"awslb {ctx.stack}: made from {source}",
            NoReboot=not props["reboot"],
            TagSpecifications=[{"ResourceType": "image", "Tags": names.tag_list(tags)},
                               {"ResourceType": "snapshot", "Tags": names.tag_list(tags)}],
        )
        ami = out["ImageId"]
        obs = Observed(self.kind, res.id, ami, ami_name, {
            "id": ami, "name": props["name"], "source_instance": props["instance"],
            "state": "pending", "copies": {},
        })
        if (ctx.wait and props["wait"]) or props["copy_to"]:  # a copy needs an available source
            self._wait(ctx, ami, None)
            obs.attrs["state"] = "available"
        self._copy_all(ctx, obs, props)
        return obs

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        if self._replacement(props, obs):
            self._retire(ctx, obs)
            return self.create(ctx, res, props)
        if obs.attrs.get("state") != "available":
            self._wait(ctx, obs.physical_id, None)  # a copy needs an available source
        self._copy_all(ctx, obs, props)
        return obs

    def delete(self, ctx: Context, obs: Observed) -> None:
        if not ctx.delete_images:
            self._retire(ctx, obs)
            ctx.ui.warn(f"image {obs.physical_id} kept (an Auto Scaling group may still launch from it): "
                        f"`awslb ami delete {obs.physical_id}` or `awslb down --delete-images` removes it")
            return
        region = obs.attrs.get("region")
        if region:  # a copy whose source is gone
            delete_image(ctx.aws, obs.physical_id, region, ctx.progress)
            return
        image = _describe(ctx.aws, obs.physical_id)
        if image is not None:
            delete_with_copies(ctx.aws, image, ctx.progress)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        image = _describe(ctx.aws, obs.physical_id, obs.attrs.get("region"))
        facts: dict[str, Any] = {"state": image.get("State") if image else "gone"}
        copies = {r: c for r, c in obs.attrs.get("copies", {}).items() if c}
        if copies:
            facts["copies"] = copies
        return facts

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["ec2:DescribeImages", "ec2:DescribeInstances"],
            "write": ["ec2:CreateImage", "ec2:CreateTags", "ec2:CopyImage", "ec2:DeregisterImage",
                      "ec2:DeleteSnapshot"],
        }

    # -- helpers -------------------------------------------------------------------------

    def _free_name(self, ctx: Context, name: str) -> str:
        """``name``, or ``name-<UTC time>`` when one of the stack's older images holds it.

        AMI names are unique per account and region. An image of another owner or stack
        with the name is left to AWS to refuse (InvalidAMIName.Duplicate).
        """
        taken = ctx.aws.paginate("ec2", "describe_images", "Images", Owners=["self"],
                                 Filters=[{"Name": "name", "Values": [name]}])
        if any(names.tag_dict(i.get("Tags")).get(names.TAG_STACK) == ctx.stack for i in taken):
            return f"{name[:112]}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        return name

    def _wait(self, ctx: Context, ami: str, region: str | None) -> None:
        where = f" in {region}" if region else ""
        ctx.progress(f"waiting for {ami}{where} to be available (AWS is snapshotting the volumes)")
        ctx.aws.wait("ec2", "image_available", region=region, delay=ctx.poll,
                     max_attempts=ctx.attempts(ctx.timeout), ImageIds=[ami])

    def _copy_all(self, ctx: Context, obs: Observed, props: Mapping[str, Any]) -> None:
        copies: dict[str, str | None] = dict(obs.attrs.get("copies", {}))
        missing = [r for r in props["copy_to"] if not copies.get(r)]
        if not missing:
            return
        # Record the regions first: a copy started by a run that then stops is still found.
        recorded = sorted(set(copies) | set(missing))
        ctx.aws.call("ec2", "create_tags", Resources=[obs.physical_id],
                     Tags=[{"Key": TAG_COPIES, "Value": " ".join(recorded)}])
        source_region = ctx.aws.region
        tags = {**props["tags"], "Name": obs.name, names.TAG_ID: COPY_ID,
                TAG_SOURCE_IMAGE: obs.physical_id, TAG_SOURCE_REGION: source_region}
        for region in missing:
            ctx.progress(f"copying {obs.physical_id} to {region}")
            out = ctx.aws.call(
                "ec2", "copy_image", region=region,
                SourceImageId=obs.physical_id, SourceRegion=source_region, Name=obs.name,
                Description=f"awslb {ctx.stack}: copy of {obs.physical_id} from {source_region}",
                # The same token returns the same copy if a re-run repeats this call.
                ClientToken=f"awslb-{obs.physical_id}-{region}",
                TagSpecifications=[{"ResourceType": "image", "Tags": names.tag_list(tags)},
                                   {"ResourceType": "snapshot", "Tags": names.tag_list(tags)}],
            )
            # Tag again: not every endpoint applies CopyImage's TagSpecifications.
            ctx.aws.call("ec2", "create_tags", region=region, Resources=[out["ImageId"]],
                         Tags=names.tag_list(tags))
            copies[region] = out["ImageId"]
        if ctx.wait and props["wait"]:
            for region in missing:
                self._wait(ctx, str(copies[region]), region)
        obs.attrs["copies"] = copies

    def _retire(self, ctx: Context, obs: Observed) -> None:
        """The image stops being the stack's current one; it and its copies stay."""
        ctx.aws.find("ec2", "create_tags", Resources=[obs.physical_id],
                     Tags=[{"Key": names.TAG_ID, "Value": f"{RETIRED_PREFIX}{obs.physical_id}"},
                           {"Key": "awslb:retired", "Value": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"}])
