"""Launch templates under moto: the data read back from AWS, versions on change, teardown."""

import base64

import pytest

from awslb.aws import Aws
from awslb.userdata import render_userdata
from tests.conftest import REGION, write

AMI = "ami-1e749f67"  # one of moto's built-in images (Ubuntu, root device /dev/sda1, 15 GiB)
OTHER_AMI = "ami-03cf127a"


def stack(tmp_path, poe="172.31.43.82", ami=AMI, extra=""):
    return write(tmp_path / "lt.toml", f"""
[stack]
name = "wcs-lt"
tags = {{ team = "media" }}

[image]
id = "{ami}"

[launch]
name = "wcs-edge"
userdata = "edge"
instance_type = "c5.large"
volume_size = 30
vars = {{ cdn_point_of_entry = "{poe}", heap_size = "1g" }}
{extra}
""")


def template(aws: Aws, name: str = "wcs-edge") -> tuple[dict, list[dict]]:
    lt = aws.call("ec2", "describe_launch_templates", LaunchTemplateNames=[name])["LaunchTemplates"][0]
    versions = aws.call("ec2", "describe_launch_template_versions",
                        LaunchTemplateId=lt["LaunchTemplateId"])["LaunchTemplateVersions"]
    return lt, sorted(versions, key=lambda v: v["VersionNumber"])


def tagged_templates(aws: Aws, stack_name: str = "wcs-lt") -> list[dict]:
    return aws.call("ec2", "describe_launch_templates",
                    Filters=[{"Name": "tag:awslb:stack", "Values": [stack_name]}])["LaunchTemplates"]


def test_template_data_read_back(cli, moto, tmp_path) -> None:
    r = cli("up", "-f", str(stack(tmp_path)), "--yes")
    assert r.exit_code == 0, r.stderr
    aws = Aws(region=REGION)
    lt, versions = template(aws)
    assert len(versions) == 1 and lt["DefaultVersionNumber"] == 1
    data = versions[0]["LaunchTemplateData"]
    # The user-data decodes to the rendered edge script with the stack's variables.
    script = base64.b64decode(data["UserData"]).decode()
    assert script == render_userdata("edge", {"cdn_point_of_entry": "172.31.43.82", "heap_size": "1g"})
    assert "172.31.43.82" in script and "1g" in script
    assert data["ImageId"] == AMI and data["InstanceType"] == "c5.large"
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    [disk] = data["BlockDeviceMappings"]
    assert disk["DeviceName"] == "/dev/sda1"  # the image's root device, looked up before planning
    assert disk["Ebs"]["Encrypted"] is True and disk["Ebs"]["VolumeSize"] == 30
    assert disk["Ebs"]["DeleteOnTermination"] is True
    assert data["Monitoring"]["Enabled"] is True
    specs = {t["ResourceType"]: {x["Key"]: x["Value"] for x in t["Tags"]} for t in data["TagSpecifications"]}
    for kind in ("instance", "volume"):
        assert specs[kind]["awslb:stack"] == "wcs-lt" and specs[kind]["team"] == "media"
        assert "awslb:id" not in specs[kind]  # instances are not something `down` deletes by tag
    sg = aws.call("ec2", "describe_security_groups",
                  Filters=[{"Name": "tag:awslb:id", "Values": ["instance-sg"]}])["SecurityGroups"][0]
    assert data["SecurityGroupIds"] == [sg["GroupId"]]
    assert "HibernationOptions" not in data
    tags = {t["Key"]: t["Value"] for t in lt["Tags"]}
    assert tags["awslb:stack"] == "wcs-lt" and tags["awslb:id"] == "launch-template"


def test_second_up_changes_nothing_and_a_changed_variable_makes_one_version(cli, moto, calls, tmp_path) -> None:
    f = stack(tmp_path)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    calls.clear()
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0 and calls.mutating == []
    stack(tmp_path, poe="172.31.43.99")
    calls.clear()
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    assert calls.mutating == [("ec2", "CreateLaunchTemplateVersion"), ("ec2", "ModifyLaunchTemplate")]
    aws = Aws(region=REGION)
    lt, versions = template(aws)
    assert len(tagged_templates(aws)) == 1
    assert [v["VersionNumber"] for v in versions] == [1, 2] and lt["DefaultVersionNumber"] == 2
    assert "172.31.43.99" in base64.b64decode(versions[1]["LaunchTemplateData"]["UserData"]).decode()
    assert "asg refresh" in r.stderr
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == []


def test_a_new_image_is_a_new_version_not_a_new_template(cli, moto, tmp_path) -> None:
    f = stack(tmp_path)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    stack(tmp_path, ami=OTHER_AMI)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    aws = Aws(region=REGION)
    _, versions = template(aws)
    assert len(tagged_templates(aws)) == 1
    assert [v["LaunchTemplateData"]["ImageId"] for v in versions] == [AMI, OTHER_AMI]


def test_a_hibernating_warm_pool_configures_hibernation(cli, moto, tmp_path) -> None:
    f = stack(tmp_path, extra="[autoscaling]\nmin = 0\nmax = 2\nwarm_pool = { state = \"hibernated\", min = 1 }\n")
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    _, versions = template(Aws(region=REGION))
    assert versions[-1]["LaunchTemplateData"]["HibernationOptions"] == {"Configured": True}


@pytest.mark.parametrize("lose_ledger", [False, True], ids=["with-ledger", "ledger-deleted"])
def test_down_leaves_nothing(cli, moto, tmp_path, lose_ledger) -> None:
    import shutil

    assert cli("up", "-f", str(stack(tmp_path)), "--yes").exit_code == 0
    if lose_ledger:
        shutil.rmtree(tmp_path / ".awslb")
    assert cli("down", "wcs-lt", "--yes").exit_code == 0
    aws = Aws(region=REGION)
    assert tagged_templates(aws) == []
    assert aws.call("ec2", "describe_security_groups",
                    Filters=[{"Name": "tag:awslb:stack", "Values": ["wcs-lt"]}])["SecurityGroups"] == []


def test_cli_launch_template_create(cli, moto, calls) -> None:
    args = ["launch-template", "create", "--name", "wcs-edge", "--template", "edge", "--ami", AMI,
            "--instance-type", "c5.xlarge", "--volume-size", "40", "--set", "cdn_point_of_entry=10.0.0.5",
            "--set", "update=true", "--stack", "cli-lt", "--yes"]
    r = cli(*args)
    assert r.exit_code == 0, r.stderr
    _, versions = template(Aws(region=REGION))
    data = versions[0]["LaunchTemplateData"]
    assert data["InstanceType"] == "c5.xlarge" and data["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"] == 40
    script = base64.b64decode(data["UserData"]).decode()
    assert script == render_userdata("edge", {"cdn_point_of_entry": "10.0.0.5", "update": "true"})
    calls.clear()
    again = cli(*args)
    assert again.exit_code == 0 and calls.mutating == []
    assert "up to date" in again.stderr


@pytest.mark.parametrize("extra, needle", [
    (["--security-group", "sg-0123456789abcdef0"], "--security-group: no such security group"),
    (["--key-name", "nobody"], "--key-name: no such key pair"),
    (["--volume-size", "10"], "--volume-size: the image's root volume is 15 GiB"),
])
def test_bad_values_found_before_any_change(cli, moto, calls, extra, needle) -> None:
    r = cli("launch-template", "create", "--name", "wcs-edge", "--ami", AMI, "--instance-type", "c5.large",
            "--set", "cdn_point_of_entry=10.0.0.5", "--stack", "bad", "--yes", *extra)
    assert r.exit_code == 4, r.stderr
    assert needle in r.stderr and r.stderr.count("error:") == 1
    assert calls.mutating == []


def test_unknown_image(cli, moto, calls) -> None:
    r = cli("launch-template", "create", "--name", "wcs-edge", "--ami", "ami-0123456789abcdef0",
            "--instance-type", "c5.large", "--set", "cdn_point_of_entry=10.0.0.5", "--stack", "bad", "--yes")
    assert r.exit_code == 4 and "--ami: no such image" in r.stderr
    assert calls.mutating == []
