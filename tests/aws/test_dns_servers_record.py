"""The servers record (``dns.servers_record``): one name, an A record per in-service server's
private address, kept by the DNS function's handler in-process against moto (Route53, EC2,
Auto Scaling), marked as the group's by a TXT record; a name that is not ours is left alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awslb.node import dns, dns_handler
from awslb.node.dns_handler import Config
from tests.aws.test_dns_handler import event

REGION = "us-east-1"
ZONE = "media.internal"
GROUP = "wcs-edge-asg"
NAME = "servers.media.internal."


@pytest.fixture
def world() -> Iterator[dict[str, Any]]:
    with mock_aws():
        r53 = boto3.client("route53", region_name=REGION)
        ec2 = boto3.client("ec2", region_name=REGION)
        asg = boto3.client("autoscaling", region_name=REGION)
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        zone = r53.create_hosted_zone(Name=ZONE, CallerReference="t", HostedZoneConfig={"PrivateZone": True},
                                      VPC={"VPCRegion": REGION, "VPCId": vpc})["HostedZone"]["Id"].split("/")[-1]
        ec2.create_launch_template(LaunchTemplateName="lt-web", LaunchTemplateData={"ImageId": "ami-1e749f67",
                                                                                "InstanceType": "t3.micro"})
        subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        asg.create_auto_scaling_group(AutoScalingGroupName=GROUP, MinSize=2, MaxSize=3, DesiredCapacity=2,
                                      LaunchTemplate={"LaunchTemplateName": "lt-web"}, VPCZoneIdentifier=subnet)
        ids = sorted(i["InstanceId"] for i in asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]["Instances"])
        cfg = Config.from_env({"ZONE_ID": zone, "ZONE_NAME": ZONE, "GROUP_NAME": GROUP,
                               "SERVERS_RECORD": "servers", "ADDRESS": "public"})
        yield {"r53": r53, "ec2": ec2, "asg": asg, "zone": zone, "ids": ids, "cfg": cfg}


def held(w: dict[str, Any]) -> tuple[list[str], list[str]]:
    sets = w["r53"].list_resource_record_sets(HostedZoneId=w["zone"])["ResourceRecordSets"]
    a = [sorted(r["Value"] for r in s["ResourceRecords"]) for s in sets if s["Name"] == NAME and s["Type"] == "A"]
    txt = [r["Value"] for s in sets if s["Name"] == NAME and s["Type"] == "TXT" for r in s["ResourceRecords"]]
    return (a[0] if a else []), txt


def private(w: dict[str, Any], iid: str) -> str:
    return w["ec2"].describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]


def test_launch_and_terminate_keep_every_in_service_address(world: dict[str, Any]) -> None:
    w = world
    a, b = w["ids"]
    out = dns_handler.handle(event("EC2 Instance Launch Successful", a, group=GROUP), w["cfg"], w["r53"], w["ec2"],
                             w["asg"])
    # Private addresses whatever dns.address says: HAProxy connects inside the VPC.
    assert out["servers"] == sorted([private(w, a), private(w, b)])
    assert held(w) == (sorted([private(w, a), private(w, b)]), [f'"{dns.SERVERS_MARKER}{GROUP}"'])

    # Delivered again: nothing to change (at least once delivery).
    before = w["r53"].list_resource_record_sets(HostedZoneId=w["zone"])["ResourceRecordSets"]
    assert dns.servers_batch(before, NAME, GROUP, out["servers"], 60) == []

    w["asg"].detach_instances(AutoScalingGroupName=GROUP, InstanceIds=[b], ShouldDecrementDesiredCapacity=True)
    w["ec2"].terminate_instances(InstanceIds=[b])
    dns_handler.handle(event("EC2 Instance Terminate Successful", b, group=GROUP), w["cfg"], w["r53"], w["ec2"],
                       w["asg"])
    assert held(w)[0] == [private(w, a)]

    # `awslb dns sync` keeps it too; the last server gone takes the record and its marker with it.
    w["asg"].detach_instances(AutoScalingGroupName=GROUP, InstanceIds=[a], ShouldDecrementDesiredCapacity=True)
    dns_handler.sync(w["r53"], w["ec2"], w["asg"], w["cfg"])
    assert held(w) == ([], [])


def test_a_name_that_is_not_ours_is_left_alone(world: dict[str, Any]) -> None:
    w = world
    theirs = {"Name": NAME, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "10.9.9.9"}]}
    w["r53"].change_resource_record_sets(HostedZoneId=w["zone"], ChangeBatch={
        "Changes": [{"Action": "CREATE", "ResourceRecordSet": theirs}]})
    with pytest.raises(dns.DnsConfigError, match="not marked awslb-servers=wcs-edge-asg"):
        dns_handler.keep_servers(w["r53"], w["ec2"], w["asg"], w["cfg"])
    assert held(w) == (["10.9.9.9"], [])


def test_another_groups_record_is_not_ours() -> None:
    sets = [{"Name": NAME, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]},
            {"Name": NAME, "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"awslb-servers=other"'}]}]
    with pytest.raises(dns.DnsConfigError):
        dns.servers_batch(sets, NAME, GROUP, ["10.0.0.2"], 60)
    assert dns.servers_held(sets, NAME, GROUP) == []


@pytest.mark.parametrize("bad", ["-x", "a..b", "ser vers", "x" * 64])
def test_bad_servers_record_names(bad: str) -> None:
    with pytest.raises(dns.DnsConfigError):
        dns.servers_name(ZONE, bad)


def test_config_needs_the_group() -> None:
    with pytest.raises(dns.DnsConfigError, match="GROUP_NAME"):
        Config.from_env({"ZONE_ID": "Z1", "ZONE_NAME": ZONE, "SERVERS_RECORD": "servers"})
