"""The launch template of the Marketplace-image guide (seed 000, "Создание шаблона запуска").

The guide's fields: the image, the instance type, the SSH key pair, the security group,
the disk size, and the user-data script (rendered from `userdata/<name>.sh.j2`). awslb adds
what the guide leaves to the reader: IMDSv2 required, the root volume encrypted (and
deleted with the instance), 1-minute monitoring for CPU scaling, and the stack's tags on
every instance and volume launched from it. A warm pool that hibernates its instances
(seed 003) needs hibernation configured in the template, so it is set then.

A change (a new image, another variable, another instance type) makes a new *version* of
the same template and makes it the default; the Auto Scaling group launches `$Latest`, as
the guide says, so new instances use it and `awslb asg refresh` rolls the running ones.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.boot_hook import fleet_userdata
from awslb.errors import InputError
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.resources.iam_role import instance_profile
from awslb.resources.lookup import find_instances, find_security_groups
from awslb.resources.origin import server_vars, with_implied
from awslb.resources.redirector import with_reports
from awslb.spec import LaunchSection, StackSpec
from awslb.userdata import render_userdata

LOGICAL_ID = "launch-template"
# The LaunchTemplateData keys awslb sets and compares; anything else in a version is left alone.
MANAGED = ("ImageId", "InstanceType", "KeyName", "SecurityGroupIds", "UserData", "MetadataOptions",
           "BlockDeviceMappings", "TagSpecifications", "HibernationOptions", "Monitoring", "IamInstanceProfile")
TAGGED_TYPES = ("instance", "volume")
NO_USERDATA = "none"


# -- shared with the launch configuration -------------------------------------------------

def image_id(spec: StackSpec) -> Any:
    """The image to launch: launch.ami, an existing [image] id, else the stack's own image."""
    assert spec.launch is not None
    if spec.launch.ami:
        return spec.launch.ami
    if spec.image is not None and spec.image.id:
        return spec.image.id
    return Ref("image", "id")


def security_groups(spec: StackSpec) -> list[Any]:
    assert spec.launch is not None
    return list(spec.launch.security_groups) or [Ref("instance-sg", "id")]


def rendered_userdata(launch: LaunchSection, implied: Mapping[str, Any] | None = None) -> str | None:
    """The rendered user-data script (unknown or missing variables name the key), or None.

    ``implied``: what the stack sets for the servers (:func:`awslb.resources.origin.server_vars`:
    the HAProxy headers, the origin's address), under ``launch.vars``.
    """
    if launch.userdata == NO_USERDATA:
        return None
    given = with_implied(launch.userdata, dict(launch.vars), dict(implied)) if implied else launch.vars
    return render_userdata(launch.userdata, given, key="launch.vars", template_key="launch.userdata")


def instance_tags(spec: StackSpec) -> dict[str, str]:
    """Tags for the instances and volumes the group launches.

    The stack tag (cost allocation, finding the stack's servers) but no `awslb:id`: no
    kind manages instances or volumes by tag, so `down` never mistakes them for its own;
    the group terminates them.
    """
    out = dict(spec.stack.tags)
    out[names.TAG_STACK] = spec.name
    out["Name"] = names.physical(spec.name, "instance")
    return out


def root_volume(facts: Mapping[str, Any], launch: LaunchSection) -> dict[str, Any]:
    """The root device mapping: encrypted gp3, deleted with the instance, sized if asked."""
    ebs: dict[str, Any] = {"Encrypted": True, "VolumeType": "gp3", "DeleteOnTermination": True}
    # The image's own size unless a bigger one is asked for: always explicit, so the template
    # says what instances get.
    size = launch.volume_size or facts.get("launch.root_size")
    if size is not None:
        ebs["VolumeSize"] = size
    return {"DeviceName": facts.get("launch.root_device") or "/dev/xvda", "Ebs": ebs}


def image_facts(aws: Aws, spec: StackSpec) -> dict[str, Any]:
    """Preflight: the image's root device (and size), from the image or its source server."""
    launch = spec.launch
    if launch is None:
        return {}
    ami = image_id(spec)
    if isinstance(ami, str):
        key = "launch.ami" if launch.ami else "image.id"
        found = aws.find("ec2", "describe_images", ImageIds=[ami])
        images = (found or {}).get("Images", [])
        if not images:
            raise InputError(f"{key}: no such image in {aws.region}: {ami}")
        image = images[0]
        if image.get("State") not in (None, "available", "pending"):
            raise InputError(f"{key}: image {ami} is {image.get('State')}, not available")
        root = image.get("RootDeviceName") or "/dev/xvda"
        size = next((m.get("Ebs", {}).get("VolumeSize") for m in image.get("BlockDeviceMappings", [])
                     if m.get("DeviceName") == root), None)
        if size is not None and launch.volume_size is not None and launch.volume_size < size:
            raise InputError(f"launch.volume_size: the image's root volume is {size} GiB; "
                             f"give at least {size}")
        return {"launch.root_device": root, "launch.root_size": size}
    # The image is made by this stack from a configured server: it keeps that server's root device.
    assert spec.image is not None and spec.image.from_instance is not None
    inst = find_instances(aws, [spec.image.from_instance], "image.from_instance")[0]
    root = inst.get("RootDeviceName") or "/dev/xvda"
    volume = next((m.get("Ebs", {}).get("VolumeId") for m in inst.get("BlockDeviceMappings", [])
                   if m.get("DeviceName") == root), None)
    size = None
    if volume:
        found = aws.find("ec2", "describe_volumes", VolumeIds=[volume])
        size = next((v.get("Size") for v in (found or {}).get("Volumes", [])), None)
    if size is not None and launch.volume_size is not None and launch.volume_size < size:
        raise InputError(f"launch.volume_size: the server's root volume is {size} GiB; give at least {size}")
    return {"launch.root_device": root, "launch.root_size": size}


def check_launch_inputs(aws: Aws, spec: StackSpec) -> None:
    """Preflight: the key pair and security groups named in [launch] exist."""
    launch = spec.launch
    assert launch is not None
    if launch.key_name and not aws.find("ec2", "describe_key_pairs", KeyNames=[launch.key_name]):
        raise InputError(f"launch.key_name: no such key pair in {aws.region}: {launch.key_name}")
    find_security_groups(aws, launch.security_groups, "launch.security_groups")


# -- the kind --------------------------------------------------------------------------------

def stack_templates(ctx: Context) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Every launch template tagged with the stack, with its default version's data.

    One query for every kind that makes templates (the servers', the HAProxy host's): a
    planning pass answers the second kind from memory (awslb/reads.py).
    """
    found = ctx.aws.paginate("ec2", "describe_launch_templates", "LaunchTemplates",
                             Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [ctx.stack]}])
    out = []
    for lt in found:
        version = ctx.aws.call("ec2", "describe_launch_template_versions",
                               LaunchTemplateId=lt["LaunchTemplateId"], Versions=["$Default"])
        out.append((lt, (version.get("LaunchTemplateVersions") or [{}])[0].get("LaunchTemplateData", {})))
    return out


class LaunchTemplate(Kind):
    kind = "launch_template"
    label = "launch template"
    rank = 60
    # A template cannot be renamed: a new name is a new template (the group moves to it).
    replace_on = ("name",)

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        if spec.launch is None:
            return {}
        # Unknown or missing variables: an error before any look-up.
        rendered_userdata(spec.launch, server_vars(spec, net.facts, checking=True))
        check_launch_inputs(aws, spec)
        if spec.launch.kind == "template":
            self._name_is_free(aws, spec)
        return image_facts(aws, spec)

    def _name_is_free(self, aws: Aws, spec: StackSpec) -> None:
        """A launch template of that name outside the stack: refused now, not after 7 resources."""
        assert spec.launch is not None
        name = spec.launch.name or names.physical(spec.name, LOGICAL_ID, 128)
        found = aws.find("ec2", "describe_launch_templates", LaunchTemplateNames=[name])
        for lt in (found or {}).get("LaunchTemplates", []):
            tags = names.tag_dict(lt.get("Tags"))
            if tags.get(names.TAG_STACK) != spec.name:
                owner = f"stack {tags[names.TAG_STACK]}" if names.TAG_STACK in tags else "no awslb stack"
                key = "launch.name" if spec.launch.name else "stack.name"
                raise InputError(f"{key}: a launch template named {name} exists and belongs to {owner}: "
                                 "pick another name")

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        launch = spec.launch
        if launch is None or launch.kind != "template":
            return []
        name = launch.name or names.physical(spec.name, LOGICAL_ID, 128)
        tags = names.tag_list(instance_tags(spec))
        data: dict[str, Any] = {
            "ImageId": image_id(spec),
            "InstanceType": launch.instance_type,
            "SecurityGroupIds": security_groups(spec),
            # IMDSv2 only: a session token for every metadata request.
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "BlockDeviceMappings": [root_volume(net.facts, launch)],
            "TagSpecifications": [{"ResourceType": t, "Tags": tags} for t in TAGGED_TYPES],
            "Monitoring": {"Enabled": launch.detailed_monitoring},
        }
        if launch.key_name:
            data["KeyName"] = launch.key_name
        profile = instance_profile(spec)
        if profile is not None:  # the stack's instance role (awslb/resources/iam_role.py)
            data["IamInstanceProfile"] = {"Arn": profile}
        elif spec.redirector is not None:  # the edges read the report key from SSM ([redirector])
            data["IamInstanceProfile"] = {"Name": spec.redirector.instance_profile}
        # A warm pool's hook (awslb/boot_hook.py), then the redirector's reports.
        script = with_reports(fleet_userdata(rendered_userdata(launch, server_vars(spec, net.facts)), spec), spec)
        if script is not None:
            # LaunchTemplateData.UserData must be base64 already: boto3 encodes it only for RunInstances.
            data["UserData"] = base64.b64encode(script.encode()).decode()
        asg = spec.autoscaling
        if asg is not None and asg.warm_pool is not None and asg.warm_pool.state == "hibernated":
            data["HibernationOptions"] = {"Configured": True}
        return [Resource(self.kind, LOGICAL_ID, name, {
            "data": data,
            "description": f"awslb {spec.name}: {launch.userdata} on {launch.instance_type}",
            "tags": names.tags(spec.name, LOGICAL_ID, name, spec.stack.tags),
        })]

    def discover(self, ctx: Context) -> list[Observed]:
        return [self._observed(lt, data) for lt, data in stack_templates(ctx)
                # the HAProxy host's are its own kind (awslb/resources/haproxy_host.py)
                if not names.tag_dict(lt.get("Tags")).get(names.TAG_ID, "").startswith("haproxy-")]

    def _observed(self, lt: Mapping[str, Any], data: Mapping[str, Any]) -> Observed:
        tags = names.tag_dict(lt.get("Tags"))
        return Observed(self.kind, tags.get(names.TAG_ID, lt["LaunchTemplateId"]), lt["LaunchTemplateId"],
                        lt["LaunchTemplateName"], {
                            "id": lt["LaunchTemplateId"],
                            "name": lt["LaunchTemplateName"],
                            "version": str(lt.get("DefaultVersionNumber", 1)),
                            "latest": str(lt.get("LatestVersionNumber", 1)),
                            "data": normalize(data),
                        })

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        return data_changes(props["data"], obs.attrs.get("data", {}))

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        out = ctx.aws.call(
            "ec2", "create_launch_template",
            LaunchTemplateName=res.name,
            VersionDescription=props["description"],
            LaunchTemplateData=props["data"],
            TagSpecifications=[{"ResourceType": "launch-template", "Tags": names.tag_list(props["tags"])}],
        )
        lt = out["LaunchTemplate"]
        return self._observed({**lt, "Tags": names.tag_list(props["tags"])}, props["data"])

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        version = ctx.aws.call(
            "ec2", "create_launch_template_version",
            LaunchTemplateId=obs.physical_id,
            VersionDescription=props["description"],
            LaunchTemplateData=props["data"],
        )["LaunchTemplateVersion"]
        number = str(version["VersionNumber"])
        ctx.aws.call("ec2", "modify_launch_template", LaunchTemplateId=obs.physical_id, DefaultVersion=number)
        ctx.ui.info(f"launch template {obs.name}: version {number} is the default now; running instances "
                    f"keep the old one until `awslb asg refresh` replaces them")
        return Observed(self.kind, obs.id, obs.physical_id, obs.name,
                        {**obs.attrs, "version": number, "latest": number, "data": normalize(props["data"])})

    def delete(self, ctx: Context, obs: Observed) -> None:
        ctx.aws.find("ec2", "delete_launch_template", LaunchTemplateId=obs.physical_id)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        data = obs.attrs.get("data", {})
        return {"default_version": obs.attrs.get("version"), "latest_version": obs.attrs.get("latest"),
                "image": data.get("ImageId"), "instance_type": data.get("InstanceType")}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeImages",
                     "ec2:DescribeKeyPairs", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
                     "ec2:DescribeVolumes"],
            "write": ["ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate",
                      "ec2:DeleteLaunchTemplate", "ec2:CreateTags"],
        }


# -- comparing template data ---------------------------------------------------------------

def normalize(data: Mapping[str, Any]) -> dict[str, Any]:
    """The managed keys of LaunchTemplateData in one canonical order (tags and groups sorted)."""
    out: dict[str, Any] = {}
    for key in MANAGED:
        if key not in data or data[key] is None:
            continue
        value = data[key]
        if key == "SecurityGroupIds":
            value = sorted(value, key=str)
        elif key == "TagSpecifications":
            value = sorted(
                ({"ResourceType": t["ResourceType"],
                  "Tags": sorted(t.get("Tags", []), key=lambda x: x["Key"])}
                 for t in value if t.get("ResourceType") in TAGGED_TYPES),
                key=lambda t: t["ResourceType"],
            )
        out[key] = value
    return out


def covers(have: Any, want: Any) -> bool:
    """True when ``have`` holds everything in ``want`` (AWS adds defaults to what it returns)."""
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(covers(have.get(k), v) for k, v in want.items())
    if isinstance(want, list | tuple):
        return (isinstance(have, list | tuple) and len(have) == len(want)
                and all(covers(h, w) for h, w in zip(have, want, strict=True)))
    return bool(have == want)


def data_changes(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[str]:
    """Human reasons why the template's default version differs from what the stack wants."""
    want_n, have_n = normalize(want), normalize(have)
    reasons = []
    for key in MANAGED:
        w, h = want_n.get(key), have_n.get(key)
        if w is None and h is None:
            continue
        if w is None or not covers(h, w):
            if key in ("UserData", "BlockDeviceMappings", "TagSpecifications", "MetadataOptions"):
                reasons.append(f"{key}: changed")
            else:
                reasons.extend(changed(key, w, h))
    return reasons
