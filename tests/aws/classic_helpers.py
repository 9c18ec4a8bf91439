"""Shared by the image and Classic balancer tests: a configured server, a certificate, readers."""

from __future__ import annotations

from typing import Any

from moto.ec2.models.amis import AMIS

from awslb.aws import Aws

BASE_AMI = str(AMIS[0]["ami_id"])  # one of the public images moto has in every region


def run_server(aws: Aws, name: str = "wcs-configured") -> str:
    """A running instance named like the sandbox's configured media server."""
    inst = aws.call("ec2", "run_instances", ImageId=BASE_AMI, InstanceType="c5.large", MinCount=1,
                    MaxCount=1, TagSpecifications=[{"ResourceType": "instance",
                                                    "Tags": [{"Key": "Name", "Value": name}]}])
    return str(inst["Instances"][0]["InstanceId"])


def issue_certificate(aws: Aws, domain: str = "media.example.com") -> str:
    return str(aws.call("acm", "request_certificate", DomainName=domain, ValidationMethod="DNS")["CertificateArn"])


def stack_images(aws: Aws, stack: str, region: str | None = None) -> list[dict[str, Any]]:
    return aws.call("ec2", "describe_images", region=region, Owners=["self"],
                    Filters=[{"Name": "tag:awslb:stack", "Values": [stack]}])["Images"]


def tags(obj: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in obj.get("Tags", [])}


def balancer(aws: Aws, name: str) -> dict[str, Any]:
    return aws.call("elb", "describe_load_balancers", LoadBalancerNames=[name])["LoadBalancerDescriptions"][0]


def tagged_balancers(aws: Aws, stack: str) -> list[str]:
    lbs = [b["LoadBalancerName"] for b in aws.call("elb", "describe_load_balancers")["LoadBalancerDescriptions"]]
    if not lbs:
        return []
    found = aws.call("elb", "describe_tags", LoadBalancerNames=lbs)["TagDescriptions"]
    return [d["LoadBalancerName"] for d in found if tags(d).get("awslb:stack") == stack]
