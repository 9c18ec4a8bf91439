"""`--sandbox`: an in-process AWS emulator (moto's server on loopback), seeded like a real account.

It has a default VPC with subnets in two zones, one running instance tagged as a
configured media server, and an issued ACM certificate. Its state lives as long as the
process, so a sandbox run is a whole flow in one command (`awslb --sandbox up -f ...`).
Needs the `sandbox` extra (moto[server]).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from awslb.errors import UsageError
from awslb.ui import UI

SANDBOX_DOMAIN = "media.example.com"


@dataclass
class Sandbox:
    endpoint_url: str
    region: str
    server: Any
    seeded: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        try:
            self.server.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(ui: UI, region: str | None = None, seed: bool = True) -> Sandbox:
    region = region or "us-east-1"
    # Fake credentials and instant certificate validation, for this process only.
    os.environ["AWS_ACCESS_KEY_ID"] = "sandbox"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "sandbox"
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise UsageError(
            "--sandbox needs moto's server: pip install 'awslb[sandbox]'"
        ) from None
    import logging

    from awslb.moto_gaps import install

    install()  # moto's gaps in the Classic flow (snapshot tags, listener instance protocols)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    sb = Sandbox(f"http://127.0.0.1:{port}", region, server)
    if seed:
        from awslb.aws import Aws

        sb.seeded = seed_account(Aws(region=sb.region, endpoint_url=sb.endpoint_url))
        ui.info(
            f"sandbox: AWS emulator at {sb.endpoint_url} ({region}); seeded VPC {sb.seeded['vpc']} "
            f"with subnets in {', '.join(sb.seeded['zones'])}, media server {sb.seeded['instance']} "
            f"({sb.seeded['private_ip']}), certificate for {SANDBOX_DOMAIN}"
        )
    return sb


def seed_account(aws: Any) -> dict[str, Any]:
    """Make an empty emulated account look like a small real one (tests use this too)."""
    vpc = aws.call("ec2", "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    subnets = aws.call("ec2", "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    subnets.sort(key=lambda s: s["AvailabilityZone"])
    keep = subnets[:2]
    for s in subnets[2:]:  # two zones, as a small real account would have them in use
        aws.call("ec2", "delete_subnet", SubnetId=s["SubnetId"])
    images = aws.call("ec2", "describe_images", Owners=["amazon"])["Images"]
    image = sorted(images, key=lambda i: i["ImageId"])[0]["ImageId"]
    inst = aws.call(
        "ec2", "run_instances", ImageId=image, InstanceType="c5.large", MinCount=1, MaxCount=1,
        SubnetId=keep[0]["SubnetId"],
        # The root volume on the image's root device name, as on AWS (moto otherwise
        # attaches it as /dev/sda1 while reporting /dev/xvda as the root device).
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": "wcs-configured"}, {"Key": "Role", "Value": "media-server"}]}],
    )["Instances"][0]
    cert = aws.call("acm", "request_certificate", DomainName=SANDBOX_DOMAIN,
                    SubjectAlternativeNames=[f"*.{SANDBOX_DOMAIN}"], ValidationMethod="DNS")
    # The media servers' zone of examples/fleet-dns.toml (per-instance DNS records).
    zone = aws.call("route53", "create_hosted_zone", Name=f"media.{SANDBOX_DOMAIN}",
                    CallerReference="awslb-sandbox")["HostedZone"]["Id"]
    return {
        "zone": zone.rsplit("/", 1)[-1],
        "vpc": vpc["VpcId"],
        "subnets": [s["SubnetId"] for s in keep],
        "zones": [s["AvailabilityZone"] for s in keep],
        "instance": inst["InstanceId"],
        "private_ip": inst.get("PrivateIpAddress"),
        "certificate": cert["CertificateArn"],
        "image": image,
    }
