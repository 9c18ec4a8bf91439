"""The launch configuration of the Classic guide (seed 000, "Создание новой конфигурации запуска").

Legacy: AWS no longer offers launch configurations to accounts made after 2023 and adds
no new instance types to them; a launch template (`awslb launch-template create`) is the
replacement. awslb makes them for the guide's Classic flow, with the same defaults as its
templates: IMDSv2 required, the root volume encrypted, 1-minute monitoring (the guide's
"мониторинг с периодичностью до 1 минуты").

Launch configurations are immutable and take no tags. So the physical name is the given
base name plus a short hash of the content (`wcs-lc-1a2b3c4d`): a change makes a new one,
the Auto Scaling group switches to it, and the old one is deleted after. They are found by
that naming pattern and through the stack's groups (see :func:`discover`).

Without tags, a name pattern proves nothing: two stacks with the same ``[launch] name`` make
names of the same pattern (the same content even gives the same name). So a stack claims a
launch configuration only when it can prove it is its own: a group tagged with the stack
launches from it, or its name embeds the stack (the default base ``<stack>-launch-config``),
or this stack's ledger recorded making exactly that name. And it never deletes one that any
group (of any stack, or none) still launches from.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.boot_hook import fleet_userdata
from awslb.errors import AwsError
from awslb.resources.base import Context, Kind, Network, Observed, Resource, changed
from awslb.resources.iam_role import instance_profile
from awslb.resources.launch_template import covers, image_id, rendered_userdata, root_volume, security_groups
from awslb.resources.origin import server_vars
from awslb.spec import StackSpec

LOGICAL_ID = "launch-config"
# Set on the stack's Auto Scaling group when it uses the stack's own launch configuration.
TAG_BASE = "awslb:launch-config"
LEGACY = ("launch configurations are legacy: AWS no longer offers them to new accounts; "
          "`awslb launch-template create` makes the replacement, a launch template")


def base_name(spec: StackSpec) -> str:
    assert spec.launch is not None
    return spec.launch.name or names.physical(spec.name, LOGICAL_ID, 240)


def is_ours(name: str, base: str) -> bool:
    """True for '<base>-<8 hex digits>', the names awslb gives launch configurations."""
    return re.fullmatch(re.escape(base) + r"-[0-9a-f]{8}", name) is not None


def content_name(base: str, props: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(props, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{base}-{digest}"


class LaunchConfig(Kind):
    kind = "launch_config"
    label = "launch configuration"
    rank = 60

    def replace_reasons(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        """A launch configuration cannot change: every change makes a new one."""
        return self.diff(res, props, obs)

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        # The image and key pair checks are shared with launch templates (LaunchTemplate.preflight).
        if spec.launch is None or spec.launch.kind != "config":
            return {}
        return {"launch_config.base": base_name(spec)}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        launch = spec.launch
        if launch is None or launch.kind != "config":
            return []
        base = base_name(spec)
        props: dict[str, Any] = {
            "ImageId": image_id(spec),
            "InstanceType": launch.instance_type,
            "SecurityGroups": security_groups(spec),
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "BlockDeviceMappings": [root_volume(net.facts, launch)],
            "InstanceMonitoring": {"Enabled": launch.detailed_monitoring},
        }
        if launch.key_name:
            props["KeyName"] = launch.key_name
        profile = instance_profile(spec)
        if profile is not None:  # the stack's instance role (awslb/resources/iam_role.py)
            props["IamInstanceProfile"] = profile
        # A warm pool's hook: awslb/boot_hook.py.
        script = fleet_userdata(rendered_userdata(launch, server_vars(spec, net.facts)), spec)
        if script is not None:
            # Plain text: boto3 base64-encodes UserData for CreateLaunchConfiguration itself.
            props["UserData"] = script
        return [Resource(self.kind, LOGICAL_ID, base, {"base": base, "config": props})]

    def discover(self, ctx: Context) -> list[Observed]:
        """The stack's launch configurations: named '<base>-<hash>' for a base this stack uses,
        and provably its own (see the module's docstring; :func:`owned`).

        The bases: the default one, the stack file's (from preflight), the one the stack's
        group records in its `awslb:launch-config` tag, and the ledger's. The one the group
        uses (else the newest) is `launch-config`; others are leftovers, deleted by `up` and `down`.
        """
        groups = ctx.aws.paginate("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups",
                                  Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [ctx.stack]}])
        bases = {names.physical(ctx.stack, LOGICAL_ID, 240)}
        if ctx.net is not None and ctx.net.facts.get("launch_config.base"):
            bases.add(ctx.net.facts["launch_config.base"])
        used = set()
        for g in groups:
            tags = names.tag_dict(g.get("Tags"))
            if TAG_BASE in tags:
                bases.add(tags[TAG_BASE])
                if g.get("LaunchConfigurationName"):
                    used.add(g["LaunchConfigurationName"])
        # What the stack's ledger recorded (deploy passes it as facts; kinds never read the ledger).
        facts = ctx.net.facts if ctx.net is not None else {}
        if facts.get("launch_config.recorded_base"):
            bases.add(facts["launch_config.recorded_base"])
        made = set(facts.get("launch_config.made", ()))
        own_base = names.physical(ctx.stack, LOGICAL_ID, 240)
        found = [lc for lc in ctx.aws.paginate("autoscaling", "describe_launch_configurations",
                                               "LaunchConfigurations")
                 if any(is_ours(lc["LaunchConfigurationName"], b) for b in bases)
                 and owned(lc["LaunchConfigurationName"], own_base, used, made)]
        found.sort(key=lambda lc: (lc["LaunchConfigurationName"] in used, str(lc.get("CreatedTime", ""))),
                   reverse=True)
        out = []
        for i, lc in enumerate(found):
            obs = self._observed(lc, next(b for b in bases if is_ours(lc["LaunchConfigurationName"], b)))
            if i > 0:
                obs.id = f"{LOGICAL_ID}-old"
            out.append(obs)
        return out

    def _observed(self, lc: Mapping[str, Any], base: str) -> Observed:
        name = lc["LaunchConfigurationName"]
        return Observed(self.kind, LOGICAL_ID, name, name, {"name": name, "base": base, "config": normalize(lc)})

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        if obs.attrs.get("base") != props["base"]:
            return changed("name", props["base"], obs.attrs.get("base"))
        want = normalize({**props["config"], "UserData": _b64(props["config"].get("UserData"))})
        have = obs.attrs.get("config", {})
        reasons = []
        for key in sorted(set(want) | set(have)):
            if key == "RootVolume" and covers(have.get(key), want.get(key)):
                continue  # AWS may fill in the image's volume size when none was asked for
            if want.get(key) != have.get(key):
                reasons.extend(["UserData: changed"] if key == "UserData" else changed(key, want.get(key),
                                                                                         have.get(key)))
        return reasons

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        ctx.ui.warn(LEGACY)
        config = props["config"]
        name = content_name(props["base"], config)
        existing = ctx.aws.call("autoscaling", "describe_launch_configurations",
                                LaunchConfigurationNames=[name])["LaunchConfigurations"]
        if not existing:  # the same name means the same content: a crashed run made it already
            ctx.aws.call("autoscaling", "create_launch_configuration", LaunchConfigurationName=name, **config)
        stored = {**config, "UserData": _b64(config.get("UserData"))}
        return Observed(self.kind, res.id, name, name,
                        {"name": name, "base": props["base"], "config": normalize(stored)})

    def delete(self, ctx: Context, obs: Observed) -> None:
        delete_unused(ctx, obs.physical_id)  # a group outside the stack may use it: then it stays

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        config = obs.attrs.get("config", {})
        return {"image": config.get("ImageId"), "instance_type": config.get("InstanceType"), "legacy": True}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeAutoScalingGroups"],
            "write": ["autoscaling:CreateLaunchConfiguration", "autoscaling:DeleteLaunchConfiguration"],
        }


def owned(name: str, own_base: str, used: set[str], made: set[str]) -> bool:
    """Provably the stack's: its group launches from it, its name embeds the stack, or the
    stack's ledger recorded making it (a run stopped before the group switched to it)."""
    return name in used or is_ours(name, own_base) or name in made


def delete_unused(ctx: Context, name: str) -> bool:
    """Delete a launch configuration unless a group launches from it (AWS refuses that too,
    with ResourceInUse; not every endpoint does). True when it is gone."""
    if _in_use(ctx, name):
        ctx.ui.warn(f"launch configuration {name} is still used by a group outside stack {ctx.stack}: it stays")
        return False
    try:
        ctx.aws.find("autoscaling", "delete_launch_configuration", LaunchConfigurationName=name)
    except AwsError as exc:
        if exc.code not in ("ResourceInUse", "ResourceInUseException"):
            raise
        ctx.ui.warn(f"launch configuration {name} is in use: it stays")
        return False
    return True


def _in_use(ctx: Context, name: str) -> bool:
    try:
        groups = ctx.aws.paginate("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups")
    except AwsError:
        return True
    return any(g.get("LaunchConfigurationName") == name for g in groups)


def _b64(text: str | None) -> str | None:
    return None if text is None else base64.b64encode(text.encode()).decode()


def normalize(lc: Mapping[str, Any]) -> dict[str, Any]:
    """What awslb sets in a launch configuration, as AWS describes it (user-data base64)."""
    out: dict[str, Any] = {
        "ImageId": lc.get("ImageId"),
        "InstanceType": lc.get("InstanceType"),
        "KeyName": lc.get("KeyName") or None,
        "SecurityGroups": sorted(lc.get("SecurityGroups") or [], key=str),
        "UserData": lc.get("UserData") or None,
        "HttpTokens": (lc.get("MetadataOptions") or {}).get("HttpTokens"),
        "Monitoring": bool((lc.get("InstanceMonitoring") or {}).get("Enabled", True)),
    }
    if lc.get("IamInstanceProfile"):
        out["IamInstanceProfile"] = lc["IamInstanceProfile"]
    root = (lc.get("BlockDeviceMappings") or [{}])[0]
    ebs = root.get("Ebs") or {}
    volume = {"DeviceName": root.get("DeviceName"), "Encrypted": bool(ebs.get("Encrypted")),
              "VolumeSize": ebs.get("VolumeSize"), "VolumeType": ebs.get("VolumeType")}
    out["RootVolume"] = {k: v for k, v in volume.items() if v is not None}
    return out
