"""Redirector instances ([redirector]): least-loaded redirect beside the media servers (seed 002).

One small instance per address in ``redirector.addresses``, at that fixed private IPv4
address, so the edges' user-data can name every redirector before any exists and a
replaced redirector keeps its address. Each runs ``awslb redirector serve`` from
``templates/redirector/userdata.sh.j2``: the shared report key (and the admin token) are
read at boot from SSM Parameter Store through the instance profile, never put in the
user-data. The instances sit in ``redirector-sg`` (the redirect API open to
``redirector.clients``, the report port only to the media servers' group), with IMDSv2
required and an encrypted root volume.

With ``elastic_ip = true`` each redirector also gets an Elastic IP (kind ``elastic_ip``),
tagged with the stack, for clients outside the VPC; the edges still report to the private
addresses.

A change of image, type, address, subnet or user-data needs a new instance: it is refused
in place (no gap in the redirect service is opened behind the operator's back); `down` and
`up` again, or change one address at a time.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.errors import AwsError, InputError
from awslb.render import render
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.spec import StackSpec

LIVE_STATES = ["pending", "running", "stopping", "stopped"]
TAG_USERDATA = "awslb:userdata"   # the rendered user-data's digest: a change means a new instance


def report_targets(spec: StackSpec) -> list[str]:
    """``HOST:PORT`` of every redirector: what the edges' agents get as ``--report-to``."""
    red = spec.redirector
    return [] if red is None else [f"{a}:{red.report_port}" for a in red.addresses]


def userdata(spec: StackSpec) -> str:
    red = spec.redirector
    assert red is not None
    return render("templates/redirector/userdata.sh.j2", package=red.package, key_parameter=red.key_parameter,
                  admin_token_parameter=red.admin_token_parameter or "", admin=red.admin_token_parameter is not None,
                  http_port=red.http_port, report_port=red.report_port, server_info=red.server_info)


def with_reports(script: str | None, spec: StackSpec) -> str | None:
    """The edges' user-data, plus the agent reporting to every redirector when there are any."""
    red = spec.redirector
    if red is None:
        return script
    section = render("templates/redirector/edge-report.sh.j2", agent_report_to=report_targets(spec),
                     key_parameter=red.key_parameter, edge_address=red.edge_address,
                     agent_redirect_env=red.edge_address == "private", agent_report_interval=red.report_interval)
    if script is None:
        return "#!/bin/bash\n# awslb user-data: report to the redirectors (rendered by awslb)\nset -u\n" + section
    return script.rstrip("\n") + "\n\n" + section


def place(aws: Aws, net: Network, addresses: list[str], key: str) -> dict[str, str]:
    """The subnet of each fixed private address: one of the stack's, and not one AWS keeps."""
    subnets = aws.paginate("ec2", "describe_subnets", "Subnets", SubnetIds=list(net.subnets))
    blocks = [(s["SubnetId"], ipaddress.IPv4Network(s["CidrBlock"])) for s in subnets]
    where: dict[str, str] = {}
    for a in addresses:
        ip = ipaddress.IPv4Address(a)
        hit = next(((sid, net_) for sid, net_ in blocks if ip in net_), None)
        if hit is None:
            shown = ", ".join(f"{sid} {block}" for sid, block in blocks)
            raise InputError(f"{key}: {a} is in none of the stack's subnets ({shown})")
        sid, block = hit
        # AWS keeps the first four addresses and the last one of every subnet.
        if int(ip) - int(block.network_address) < 4 or ip == block.broadcast_address:
            raise InputError(f"{key}: {a} is one of the five addresses AWS keeps in {sid} "
                             f"({block}): choose another")
        where[a] = sid
    return where


def root_volume(image: Mapping[str, Any]) -> dict[str, Any]:
    """The image's root volume, encrypted, at the image's size (at least 8 GiB)."""
    root = image.get("RootDeviceName", "/dev/xvda")
    size = next((m.get("Ebs", {}).get("VolumeSize") for m in image.get("BlockDeviceMappings", [])
                 if m.get("DeviceName") == root), None)
    return {"DeviceName": root, "Ebs": {"Encrypted": True, "DeleteOnTermination": True, "VolumeType": "gp3",
                                        "VolumeSize": max(8, int(size or 8))}}


class Redirector(Kind):
    kind = "redirector"
    label = "redirector"
    rank = 65
    # An instance cannot change its image, type, address, subnet or user-data in place: a new
    # one takes over. Its fixed address is held by the old one, so the old one goes first;
    # clients and edges use that address, so the plan refuses it without --allow-replace
    # (the other redirectors keep answering meanwhile: edges report to all of them).
    replace_on = ("ami", "instance_type", "private_ip", "subnet", "user_data_digest")
    replace_first = False
    client_facing = True
    prefix = "redirector-"  # the logical ids of this kind's instances (their awslb:id tag)
    section = "redirector"

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        """Each address must be a usable address of one of the stack's subnets."""
        red = spec.redirector
        if red is None:
            return {}
        where = place(aws, net, red.addresses, "redirector.addresses")
        if aws.find("iam", "get_instance_profile", InstanceProfileName=red.instance_profile) is None:
            raise InputError(f"redirector.instance_profile: no instance profile named {red.instance_profile!r}",
                             "create one whose role may ssm:GetParameter the key (aws iam create-instance-profile)")
        return {"redirector_subnets": where}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        red = spec.redirector
        if red is None:
            return []
        script = userdata(spec)
        digest = hashlib.sha256(script.encode()).hexdigest()[:16]
        subnets = net.facts.get("redirector_subnets", {})
        out = []
        for i, address in enumerate(red.addresses, 1):
            rid = f"redirector-{i}"
            name = names.physical(spec.name, rid)
            out.append(Resource(self.kind, rid, name, {
                "ami": red.ami,
                "instance_type": red.instance_type,
                "private_ip": address,
                "subnet": subnets.get(address, net.subnets[0] if net.subnets else ""),
                "security_groups": [Ref("redirector-sg", "id")],
                "instance_profile": red.instance_profile,
                "key_name": red.key_name,
                "user_data": script,
                "user_data_digest": digest,
                "tags": {**names.tags(spec.name, rid, name, spec.stack.tags), TAG_USERDATA: digest},
            }))
        return out

    @staticmethod
    def _run(ctx: Context, params: Mapping[str, Any]) -> Any:
        """RunInstances; a replacement waits while EC2 frees the old instance's fixed address
        (InvalidIPAddress.InUse for a short while after the old one is terminated)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                return ctx.aws.call("ec2", "run_instances", **params)["Instances"][0]
            except AwsError as exc:
                if exc.code != "InvalidIPAddress.InUse" or time.monotonic() > deadline:
                    raise
                ctx.progress(f"waiting for {params['PrivateIpAddress']} to be free")
                time.sleep(max(ctx.poll, 1.0))

    def discover(self, ctx: Context) -> list[Observed]:
        out = []
        for res in ctx.aws.paginate("ec2", "describe_instances", "Reservations",
                                    Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [ctx.stack]},
                                             {"Name": "instance-state-name", "Values": LIVE_STATES}]):
            for inst in res["Instances"]:
                tags = names.tag_dict(inst.get("Tags"))
                rid = tags.get(names.TAG_ID, "")
                if rid.startswith(self.prefix):
                    out.append(self._observed(rid, inst, tags))
        return out

    def _observed(self, rid: str, inst: Mapping[str, Any], tags: Mapping[str, str]) -> Observed:
        return Observed(self.kind, rid, inst["InstanceId"], tags.get("Name", ""), {
            "id": inst["InstanceId"],
            "ami": inst.get("ImageId"),
            "instance_type": inst.get("InstanceType"),
            "private_ip": inst.get("PrivateIpAddress"),
            "subnet": inst.get("SubnetId"),
            "user_data_digest": tags.get(TAG_USERDATA),
            "state": inst.get("State", {}).get("Name"),
        })

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        return []  # everything it has is in replace_on: a change is a new instance

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        image = ctx.aws.call("ec2", "describe_images", ImageIds=[props["ami"]])["Images"]
        if not image:
            raise InputError(f"{self.section}.ami: no such image in {ctx.aws.region}: {props['ami']}")
        params: dict[str, Any] = {
            "ImageId": props["ami"], "InstanceType": props["instance_type"], "MinCount": 1, "MaxCount": 1,
            "SubnetId": props["subnet"], "PrivateIpAddress": props["private_ip"],
            "SecurityGroupIds": list(props["security_groups"]), "UserData": props["user_data"],
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "BlockDeviceMappings": [root_volume(image[0])],
            "TagSpecifications": [{"ResourceType": t, "Tags": names.tag_list(props["tags"])}
                                  for t in ("instance", "volume")],
        }
        if props["key_name"]:
            params["KeyName"] = props["key_name"]
        if props["instance_profile"]:
            params["IamInstanceProfile"] = {"Name": props["instance_profile"]}
        inst = self._run(ctx, params)
        iid = inst["InstanceId"]
        ctx.progress(f"waiting for {iid} ({props['private_ip']}) to run")
        ctx.aws.wait("ec2", "instance_running", delay=ctx.poll, max_attempts=ctx.attempts(ctx.timeout),
                     InstanceIds=[iid])
        return self._observed(res.id, {**inst, "PrivateIpAddress": props["private_ip"]}, props["tags"])

    def delete(self, ctx: Context, obs: Observed) -> None:
        if ctx.aws.find("ec2", "terminate_instances", InstanceIds=[obs.physical_id]) is None:
            return
        ctx.progress(f"waiting for {obs.physical_id} to terminate")
        ctx.aws.wait("ec2", "instance_terminated", delay=ctx.poll, max_attempts=ctx.attempts(ctx.timeout),
                     InstanceIds=[obs.physical_id])

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        return {"state": obs.attrs.get("state"), "address": obs.attrs.get("private_ip")}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["ec2:DescribeInstances", "ec2:DescribeImages", "ec2:DescribeSubnets", "iam:GetInstanceProfile"],
            "write": ["ec2:RunInstances", "ec2:CreateTags", "ec2:TerminateInstances", "iam:PassRole"],
        }


class ElasticIp(Kind):
    """An Elastic IP per redirector (``redirector.elastic_ip``), associated with its instance."""

    kind = "elastic_ip"
    label = "Elastic IP"
    rank = 66

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        out = []
        if spec.haproxy is not None and spec.haproxy.deploy:
            # The HAProxy host's address: its instance associates it at boot (haproxy_host.py).
            name = names.physical(spec.name, "haproxy-eip")
            out.append(Resource(self.kind, "haproxy-eip", name, {
                "tags": names.tags(spec.name, "haproxy-eip", name, spec.stack.tags)}))
        red = spec.redirector
        if red is None or not red.elastic_ip:
            return out
        for i in range(1, len(red.addresses) + 1):
            rid = f"redirector-{i}-eip"
            name = names.physical(spec.name, rid)
            out.append(Resource(self.kind, rid, name, {
                "instance": Ref(f"redirector-{i}", "id"),
                "tags": names.tags(spec.name, rid, name, spec.stack.tags),
            }))
        return out

    def discover(self, ctx: Context) -> list[Observed]:
        found = ctx.aws.call("ec2", "describe_addresses",
                             Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [ctx.stack]}])["Addresses"]
        return [self._observed(a) for a in found]

    def _observed(self, a: Mapping[str, Any]) -> Observed:
        tags = names.tag_dict(a.get("Tags"))
        return Observed(self.kind, tags.get(names.TAG_ID, a["AllocationId"]), a["AllocationId"], tags.get("Name", ""),
                        {"id": a["AllocationId"], "public_ip": a.get("PublicIp"), "instance": a.get("InstanceId")})

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        if "instance" not in props:
            return []  # associated by its instance (the HAProxy host, at boot)
        return changed("instance", props["instance"], obs.attrs.get("instance"))

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        a = ctx.aws.call("ec2", "allocate_address", Domain="vpc", TagSpecifications=[
            {"ResourceType": "elastic-ip", "Tags": names.tag_list(props["tags"])}])
        if "instance" in props:
            ctx.aws.call("ec2", "associate_address", AllocationId=a["AllocationId"], InstanceId=props["instance"])
        return Observed(self.kind, res.id, a["AllocationId"], res.name,
                        {"id": a["AllocationId"], "public_ip": a.get("PublicIp"), "instance": props.get("instance")})

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        # AllowReassociation moves the address in one call: no moment without it.
        ctx.aws.call("ec2", "associate_address", AllocationId=obs.physical_id, InstanceId=props["instance"],
                     AllowReassociation=True)
        return Observed(self.kind, res.id, obs.physical_id, obs.name, {**obs.attrs, "instance": props["instance"]})

    def delete(self, ctx: Context, obs: Observed) -> None:
        found = ctx.aws.find("ec2", "describe_addresses", AllocationIds=[obs.physical_id])
        for a in (found or {}).get("Addresses", []):
            if a.get("AssociationId"):
                ctx.aws.find("ec2", "disassociate_address", AssociationId=a["AssociationId"])
        ctx.aws.find("ec2", "release_address", AllocationId=obs.physical_id)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        instance = obs.attrs.get("instance")
        if not instance and obs.id == "haproxy-eip":
            instance = "none yet (the HAProxy host takes it at the end of its boot)"
        return {"public_ip": obs.attrs.get("public_ip"), "instance": instance}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["ec2:DescribeAddresses"],
            "write": ["ec2:AllocateAddress", "ec2:AssociateAddress", "ec2:DisassociateAddress",
                      "ec2:ReleaseAddress", "ec2:CreateTags"],
        }
