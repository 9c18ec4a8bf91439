"""The HAProxy tier on AWS (``[haproxy] deploy = true``, ``awslb haproxy up``; seeds 001 and 004).

Topology: **an Auto Scaling group of one, with an Elastic IP the instance re-associates
at boot.** Why this one, of the three the issue offers:

- *one plain instance*: a dead host stays dead until someone notices; its public address
  changes if it is ever replaced. Nothing makes it come back.
- *two behind an NLB*: failover without a pause, but two hosts at all times, an NLB and its
  per-hour and per-LCU charge, one more hop and its idle timeout (350 s on a TLS listener)
  on every WebSocket, and two HAProxy processes that each see half the load, so the
  per-server ``maxconn`` of seed 001 is no longer enforced by one process.
- *a group of one with an Elastic IP*: EC2 health checks replace a failed host within
  minutes, the replacement takes the same public address (``AssociateAddress`` with
  ``AllowReassociation`` from its user-data, through its own role), clients reconnect to
  the same name, and nothing sits between clients and HAProxy. The cost is the gap while
  a replacement boots (a few minutes): that is the trade against the NLB's price and hop,
  and the NLB design remains possible later on top of the same launch template.

What is made (each found again by the stack's tags; `down` removes all of it):

- ``haproxy-sg`` (security_group.py): 443/80 from ``haproxy.clients``, 22 only from
  ``stack.ssh_cidr``; the media servers' group admits it on the WebSocket/stat ports and
  the agent port.
- ``haproxy-role`` (iam_role.py): ``secretsmanager:GetSecretValue`` on the PEM's secret
  only, ``ec2:AssociateAddress`` only on the stack's ``haproxy-eip`` and its own instance.
- ``haproxy-eip`` (redirector.py's ``elastic_ip`` kind): the stable public address.
- ``haproxy-lt`` (kind ``haproxy_template``, here): a launch template, IMDSv2 required,
  encrypted root volume, ``SecondaryPrivateIpAddressCount`` on the interface, user-data from
  ``templates/haproxy/host.sh.j2`` with the rendered haproxy.cfg in it.
- ``haproxy-group`` (kind ``haproxy_group``, here): min = max = desired = 1 over the stack's
  subnets (public subnets: the host needs a route out to install packages and call AWS).

The PEM is never in the user-data (16 KB at most, readable by anyone who may describe the
instance): the user-data holds the secret's id, and the host reads the secret at every boot
with its role. haproxy.cfg is rendered here by :func:`awslb.haproxy.render_config`, with
``secondary_addresses`` placeholder source addresses from TEST-NET-1 (192.0.2.1...); the
host puts its real secondary addresses in their place at boot (it learns them from IMDS),
so the rendered config is checked like any other and the host never needs awslb.

HAProxy follows the media group through DNS (``server-template`` over ``dns.servers_record``,
a multi-value A record the DNS function keeps): a scale event changes the record, not the
configuration, so the host never reloads for it.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.errors import AwsError, InputError
from awslb.render import render
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.resources.launch_template import stack_templates
from awslb.spec import HaproxySection, StackSpec, host_port

TEMPLATE_ID = "haproxy-lt"
GROUP_ID = "haproxy-group"
EIP_ID = "haproxy-eip"
ROLE_ID = "haproxy-role"
SG_ID = "haproxy-sg"
HOST_ID = "haproxy-host"  # the instance's awslb:id (and its interface's and volume's)
PREFIX = "haproxy-"  # every logical id of the tier: other kinds' discovery leaves these alone
TAGGED = ("instance", "volume", "network-interface")
PLACEHOLDER_NET = "192.0.2."  # RFC 5737 TEST-NET-1: never a host's address; replaced at boot
USERDATA_LIMIT = 16384
HOST_TEMPLATE = "templates/haproxy/host.sh.j2"


def deployed(spec: StackSpec) -> bool:
    return spec.haproxy is not None and spec.haproxy.deploy


def placeholders(count: int) -> list[str]:
    return [f"{PLACEHOLDER_NET}{i}" for i in range(1, count + 1)]


def servers_fqdn(spec: StackSpec, zone_name: str | None = None) -> str | None:
    """The servers record's name without the final dot (``servers.media.internal``), or None."""
    from awslb.node.dns import servers_name

    d = spec.dns
    if d is None or d.servers_record is None:
        return None
    zone = zone_name or d.zone
    return servers_name(zone, d.servers_record).rstrip(".")


def cfg_section(spec: StackSpec, zone_name: str | None = None) -> HaproxySection:
    """The [haproxy] section the host's haproxy.cfg is rendered from: placeholder sources and,
    unless ``haproxy.discover`` or fixed servers say otherwise, the servers record to resolve
    (server-template) on the stack's WebSocket port."""
    hp = spec.haproxy
    assert hp is not None
    update: dict[str, Any] = {"source_addresses": placeholders(hp.secondary_addresses)}
    fqdn = servers_fqdn(spec, zone_name)
    if fqdn is not None and hp.discover is None and not hp.servers:
        update["discover"] = fqdn
        if "discover_port" not in hp.model_fields_set and spec.load_balancer is not None:
            update["discover_port"] = spec.load_balancer.ws_port
    return hp.model_copy(update=update)


def haproxy_cfg(spec: StackSpec, zone_name: str | None = None) -> str:
    from awslb.haproxy import render_config

    return render_config(cfg_section(spec, zone_name), spec.stack.media_ports)


def userdata(spec: StackSpec, allocation_id: str, zone_name: str | None = None) -> str:
    """The host's user-data: install, PEM from Secrets Manager, addresses, haproxy.cfg, EIP."""
    hp = spec.haproxy
    assert hp is not None
    web_host, web_port = host_port(hp.web_backend)
    cfg = haproxy_cfg(spec, zone_name)
    assert cfg.endswith("\n")  # the here-document's end marker starts a line
    script = render(HOST_TEMPLATE, stack=spec.name, haproxy_cfg=cfg,
                    sources=hp.secondary_addresses, placeholder_net=PLACEHOLDER_NET,
                    tls=hp.tls, tls_cert=hp.tls_cert, pem_secret=hp.pem_secret or "",
                    web_listen=f"[{web_host}]:{web_port}" if ":" in web_host else f"{web_host}:{web_port}",
                    websdk_url=hp.websdk_url, stats_dir=hp.stats_socket.rsplit("/", 1)[0] or "/",
                    websdk_sha256=hp.websdk_sha256 or "", allocation_id=allocation_id)
    size = len(script.encode())
    if size > USERDATA_LIMIT:
        raise InputError(f"haproxy: the host's user-data is {size} bytes, over EC2's limit of {USERDATA_LIMIT}",
                         "fewer haproxy.servers (use dns.servers_record) or fewer secondary_addresses")
    return script


def _interface(groups: list[Any], secondary: int) -> dict[str, Any]:
    nic: dict[str, Any] = {"DeviceIndex": 0, "Groups": groups, "DeleteOnTermination": True,
                           # a route out before the Elastic IP is taken (packages, Secrets Manager)
                           "AssociatePublicIpAddress": True}
    if secondary:
        nic["SecondaryPrivateIpAddressCount"] = secondary
    return nic


class HaproxyTemplate(Kind):
    """The HAProxy host's launch template (``haproxy-lt``)."""

    kind = "haproxy_template"
    label = "HAProxy launch template"
    rank = 67  # after the Elastic IP its user-data names

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        """The image, the key pair, the PEM's secret and the private zone exist (read-only)."""
        if not deployed(spec):
            return {}
        hp = spec.haproxy
        assert hp is not None and hp.ami is not None
        facts: dict[str, Any] = {}
        if spec.dns is not None and spec.dns.servers_record is not None:
            from awslb.resources.dns_function import find_zone

            zone_id, zone_name = find_zone(aws, spec.dns.zone)
            zone = aws.call("route53", "get_hosted_zone", Id=zone_id)
            if not zone["HostedZone"].get("Config", {}).get("PrivateZone"):
                raise InputError(f"dns.zone: {zone_name} is a public zone; dns.servers_record puts the servers' "
                                 "private addresses in it: use a private hosted zone associated with the VPC")
            vpcs = {v.get("VPCId") for v in zone.get("VPCs", [])}
            if net.vpc_id and net.vpc_id not in vpcs:
                raise InputError(f"dns.zone: the private zone {zone_name} is not associated with {net.vpc_id}, "
                                 "so the HAProxy host cannot resolve dns.servers_record (aws route53 "
                                 f"associate-vpc-with-hosted-zone --hosted-zone-id {zone_id} "
                                 f"--vpc VPCRegion={aws.region},VPCId={net.vpc_id})")
            facts["haproxy.zone_name"] = zone_name
        userdata(spec, "eipalloc-00000000", facts.get("haproxy.zone_name"))  # renders and fits in 16 KB
        images = (aws.find("ec2", "describe_images", ImageIds=[hp.ami]) or {}).get("Images", [])
        if not images:
            raise InputError(f"haproxy.ami: no such image in {aws.region}: {hp.ami}")
        from awslb.resources.redirector import root_volume

        facts["haproxy.root"] = root_volume(images[0])
        if hp.key_name and aws.find("ec2", "describe_key_pairs", KeyNames=[hp.key_name]) is None:
            raise InputError(f"haproxy.key_name: no such key pair in {aws.region}: {hp.key_name}")
        if hp.pem_secret and hp.tls:
            if aws.find("secretsmanager", "describe_secret", SecretId=hp.pem_secret) is None:
                raise InputError(f"haproxy.pem_secret: no such secret in {aws.region}: {hp.pem_secret}",
                                 "aws secretsmanager create-secret --name NAME --secret-string file://cert.pem")
        return facts

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        if not deployed(spec):
            return []
        hp = spec.haproxy
        assert hp is not None
        name = names.physical(spec.name, TEMPLATE_ID, 128)
        host_tags = names.tags(spec.name, HOST_ID, names.physical(spec.name, "haproxy"), spec.stack.tags)
        return [Resource(self.kind, TEMPLATE_ID, name, {
            "ami": hp.ami, "instance_type": hp.instance_type, "key_name": hp.key_name,
            "secondary": hp.secondary_addresses,
            "groups": [Ref(SG_ID, "id")],
            "profile": Ref(ROLE_ID, "profile_arn"),
            "allocation_id": Ref(EIP_ID, "id"),
            "zone_name": net.facts.get("haproxy.zone_name"),
            "root": net.facts.get("haproxy.root") or {"DeviceName": "/dev/xvda", "Ebs": {
                "Encrypted": True, "DeleteOnTermination": True, "VolumeType": "gp3", "VolumeSize": 8}},
            "spec": spec,
            "host_tags": host_tags,
            "tags": names.tags(spec.name, TEMPLATE_ID, name, spec.stack.tags),
        })]

    def data(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """LaunchTemplateData from resolved props (the user-data names the Elastic IP)."""
        script = userdata(props["spec"], props["allocation_id"], props["zone_name"])
        tags = names.tag_list(dict(props["host_tags"]))
        data: dict[str, Any] = {
            "ImageId": props["ami"], "InstanceType": props["instance_type"],
            "NetworkInterfaces": [_interface(list(props["groups"]), props["secondary"])],
            "IamInstanceProfile": {"Arn": props["profile"]},
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "BlockDeviceMappings": [dict(props["root"])],
            "TagSpecifications": [{"ResourceType": t, "Tags": tags} for t in TAGGED],
            # Base64 already: boto3 encodes UserData only for RunInstances.
            "UserData": base64.b64encode(script.encode()).decode(),
        }
        if props["key_name"]:
            data["KeyName"] = props["key_name"]
        return data

    def discover(self, ctx: Context) -> list[Observed]:
        return [self._observed(lt, data) for lt, data in stack_templates(ctx)
                if names.tag_dict(lt.get("Tags")).get(names.TAG_ID) == TEMPLATE_ID]

    def _observed(self, lt: Mapping[str, Any], data: Mapping[str, Any]) -> Observed:
        return Observed(self.kind, TEMPLATE_ID, lt["LaunchTemplateId"], lt["LaunchTemplateName"], {
            "id": lt["LaunchTemplateId"], "version": str(lt.get("DefaultVersionNumber", 1)),
            "digest": _digest(data)})

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        pending = [k for k in ("groups", "profile", "allocation_id") if _unresolved(props[k])]
        if pending:
            return [f"{', '.join(pending)}: being made"]
        return changed("template data (digest)", _digest(self.data(props)), obs.attrs.get("digest"))

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        data = self.data(props)
        try:
            lt = ctx.aws.call("ec2", "create_launch_template", LaunchTemplateName=res.name,
                              VersionDescription="awslb: the HAProxy host", LaunchTemplateData=data,
                              TagSpecifications=[{"ResourceType": "launch-template",
                                                  "Tags": names.tag_list(dict(props["tags"]))}])["LaunchTemplate"]
        except AwsError as exc:
            if exc.code == "InvalidLaunchTemplateName.AlreadyExistsException":
                raise AwsError(exc.operation, exc.code, exc.message,
                               f"a launch template named {res.name} is not tagged as this stack's: delete it "
                               "or use another stack name") from None
            raise
        return self._observed(lt, data)

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        data = self.data(props)
        version = ctx.aws.call("ec2", "create_launch_template_version", LaunchTemplateId=obs.physical_id,
                               VersionDescription="awslb: the HAProxy host",
                               LaunchTemplateData=data)["LaunchTemplateVersion"]
        number = str(version["VersionNumber"])
        ctx.aws.call("ec2", "modify_launch_template", LaunchTemplateId=obs.physical_id, DefaultVersion=number)
        ctx.ui.info(f"HAProxy launch template: version {number} is the default; the running host keeps its "
                    "configuration until it is replaced (terminate it: the group starts a new one, which takes "
                    "the Elastic IP)")
        return Observed(self.kind, obs.id, obs.physical_id, obs.name,
                        {**obs.attrs, "version": number, "digest": _digest(data)})

    def delete(self, ctx: Context, obs: Observed) -> None:
        ctx.aws.find("ec2", "delete_launch_template", LaunchTemplateId=obs.physical_id)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        return {"default_version": obs.attrs.get("version")}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeImages",
                     "ec2:DescribeKeyPairs", "secretsmanager:DescribeSecret", "route53:GetHostedZone"],
            "write": ["ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate",
                      "ec2:DeleteLaunchTemplate", "ec2:CreateTags", "iam:PassRole"],
        }


def _unresolved(value: Any) -> bool:
    return isinstance(value, Ref) or (isinstance(value, list | tuple) and any(isinstance(v, Ref) for v in value))


def _digest(data: Mapping[str, Any]) -> str:
    """What the template says, in a form AWS returns unchanged: the keys awslb sets.

    AWS adds defaults to what it returns (Ebs.Iops, ...), so only the values set here are
    read back, each at its own path.
    """
    nic = (data.get("NetworkInterfaces") or [{}])[0]
    ebs = ((data.get("BlockDeviceMappings") or [{}])[0]).get("Ebs", {})
    tags = sorted((t.get("ResourceType"), sorted((x["Key"], x["Value"]) for x in t.get("Tags", [])))
                  for t in data.get("TagSpecifications", []) if t.get("ResourceType") in TAGGED)
    parts = [data.get("ImageId"), data.get("InstanceType"), data.get("KeyName"), sorted(nic.get("Groups", [])),
             nic.get("SecondaryPrivateIpAddressCount", 0), nic.get("AssociatePublicIpAddress"),
             (data.get("IamInstanceProfile") or {}).get("Arn"),
             (data.get("MetadataOptions") or {}).get("HttpTokens"), ebs.get("Encrypted"), ebs.get("VolumeSize"),
             tags, hashlib.sha256(str(data.get("UserData", "")).encode()).hexdigest()]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class HaproxyGroup(Kind):
    """The group of one that keeps the HAProxy host running (``haproxy-group``)."""

    kind = "haproxy_group"
    label = "HAProxy group"
    rank = 71  # after the launch template; deleted first, with its instance

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        if not deployed(spec):
            return []
        name = names.physical(spec.name, GROUP_ID, 255)
        return [Resource(self.kind, GROUP_ID, name, {
            "template": Ref(TEMPLATE_ID, "id"),
            "subnets": sorted(net.subnets),
            "tags": names.tags(spec.name, GROUP_ID, name, spec.stack.tags),
        })]

    def discover(self, ctx: Context) -> list[Observed]:
        # The query of the servers' group kind (one answer for both in a planning pass).
        groups = ctx.aws.paginate("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups",
                                  Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [ctx.stack]}])
        return [self._observed(g) for g in groups if names.tag_dict(g.get("Tags")).get(names.TAG_ID) == GROUP_ID]

    def _observed(self, g: Mapping[str, Any]) -> Observed:
        lt = g.get("LaunchTemplate") or {}
        subnets = sorted(s for s in str(g.get("VPCZoneIdentifier", "")).split(",") if s)
        instances = [i for i in g.get("Instances", [])]
        return Observed(self.kind, GROUP_ID, g["AutoScalingGroupName"], g["AutoScalingGroupName"], {
            "name": g["AutoScalingGroupName"], "template": lt.get("LaunchTemplateId"), "subnets": subnets,
            "size": [g.get("MinSize"), g.get("MaxSize"), g.get("DesiredCapacity")],
            "instances": {i["InstanceId"]: i.get("LifecycleState") for i in instances}})

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        return (changed("launch template", props["template"], a.get("template"))
                + changed("subnets", props["subnets"], a.get("subnets"))
                + changed("min/max/desired", [1, 1, 1], a.get("size")))

    def _params(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {"LaunchTemplate": {"LaunchTemplateId": props["template"], "Version": "$Default"},
                "MinSize": 1, "MaxSize": 1, "DesiredCapacity": 1,
                "VPCZoneIdentifier": ",".join(props["subnets"])}

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        tags = [{"Key": k, "Value": v, "PropagateAtLaunch": False, "ResourceId": res.name,
                 "ResourceType": "auto-scaling-group"} for k, v in dict(props["tags"]).items()]
        ctx.aws.call("autoscaling", "create_auto_scaling_group", AutoScalingGroupName=res.name,
                     HealthCheckType="EC2", HealthCheckGracePeriod=300, Tags=tags, **self._params(props))
        return self._wait_in_service(ctx, res.name)

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        ctx.aws.call("autoscaling", "update_auto_scaling_group", AutoScalingGroupName=obs.physical_id,
                     **self._params(props))
        return self._wait_in_service(ctx, obs.physical_id)

    def _group(self, ctx: Context, name: str) -> Mapping[str, Any] | None:
        found = ctx.aws.call("autoscaling", "describe_auto_scaling_groups", AutoScalingGroupNames=[name])
        groups = found.get("AutoScalingGroups", [])
        return groups[0] if groups else None

    def _wait_in_service(self, ctx: Context, name: str) -> Observed:
        deadline = time.monotonic() + ctx.timeout
        while True:
            g = self._group(ctx, name)
            if g is None:
                raise AwsError("DescribeAutoScalingGroups", "NotFound", f"group {name} went away",
                               "run the same command again")
            if not ctx.wait or any(i.get("LifecycleState") == "InService" for i in g.get("Instances", [])):
                return self._observed(g)
            if time.monotonic() > deadline:
                raise AwsError("DescribeAutoScalingGroups", "Timeout",
                               f"no HAProxy host in service in {name} after {int(ctx.timeout)} s",
                               f"aws autoscaling describe-scaling-activities --auto-scaling-group-name {name}")
            ctx.progress("waiting for the HAProxy host to be in service")
            time.sleep(ctx.poll)

    def delete(self, ctx: Context, obs: Observed) -> None:
        g = self._group(ctx, obs.physical_id)
        ids = [i["InstanceId"] for i in (g or {}).get("Instances", [])]
        if g is not None:
            ctx.aws.find("autoscaling", "delete_auto_scaling_group", AutoScalingGroupName=obs.physical_id,
                         ForceDelete=True)
        # Its instance too, so that the security group and the Elastic IP are free to go.
        ids += [i["InstanceId"] for r in ctx.aws.paginate(
            "ec2", "describe_instances", "Reservations",
            Filters=[{"Name": f"tag:{names.TAG_STACK}", "Values": [ctx.stack]},
                     {"Name": f"tag:{names.TAG_ID}", "Values": [HOST_ID]},
                     {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped",
                                                                "shutting-down"]}])
            for i in r["Instances"] if i["InstanceId"] not in ids]
        if ids:
            ctx.aws.find("ec2", "terminate_instances", InstanceIds=ids)
            ctx.progress(f"waiting for {', '.join(ids)} to terminate")
            ctx.aws.wait("ec2", "instance_terminated", delay=ctx.poll, max_attempts=ctx.attempts(ctx.timeout),
                         InstanceIds=ids)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        g = self._group(ctx, obs.physical_id)
        if g is None:
            return {"host": "none"}
        out: dict[str, Any] = {}
        for inst in g.get("Instances", []):
            found = ctx.aws.find("ec2", "describe_instances", InstanceIds=[inst["InstanceId"]]) or {}
            for r in found.get("Reservations", []):
                for i in r["Instances"]:
                    nic = (i.get("NetworkInterfaces") or [{}])[0]
                    private = [a["PrivateIpAddress"] for a in nic.get("PrivateIpAddresses", [])]
                    out[inst["InstanceId"]] = (f"{inst.get('LifecycleState')}, public {i.get('PublicIpAddress')}, "
                                               f"private {' '.join(private) or i.get('PrivateIpAddress')}")
        return out or {"host": "none in service yet"}

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances"],
            "write": ["autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup",
                      "autoscaling:DeleteAutoScalingGroup", "autoscaling:CreateOrUpdateTags",
                      "ec2:RunInstances", "ec2:TerminateInstances", "ec2:CreateTags", "iam:PassRole"],
        }
