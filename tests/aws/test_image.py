"""`awslb ami create | list | delete` and the image kind under moto, read back from EC2."""

from __future__ import annotations

import json

import pytest

from awslb import aws as aws_mod
from awslb import deploy, spec
from tests.aws.classic_helpers import BASE_AMI, run_server, stack_images, tags

STACK = "wcs"


def ami_create(cli, *extra: str):
    return cli("ami", "create", "--stack", STACK, "--yes", *extra)


def snapshot_of(aws, image: dict, region: str | None = None) -> dict:
    snap = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    return aws.call("ec2", "describe_snapshots", region=region, SnapshotIds=[snap])["Snapshots"][0]


def test_create_images_the_server_tags_image_and_snapshots_and_runs_once(cli, aws, calls) -> None:
    server = run_server(aws)
    sent: list[dict] = []
    with aws_mod.hooked("provide-client-params.ec2.CreateImage", lambda params, **kw: sent.append(dict(params))):
        r = ami_create(cli, "--instance-id", "wcs-configured", "--name", "wcs-edge-1")
    assert r.exit_code == 0, r.stderr
    [image] = stack_images(aws, STACK)
    assert r.stdout.strip() == image["ImageId"]
    assert image["Name"] == "wcs-edge-1" and image["State"] == "available"
    t = tags(image)
    assert (t["awslb:stack"], t["awslb:id"], t["awslb:source-instance"], t["awslb:source-name"]) == (
        STACK, "image", server, "wcs-configured")
    assert tags(snapshot_of(aws, image))["awslb:stack"] == STACK
    # Default: no reboot of the configured server; both the image and its snapshots tagged at creation.
    assert sent[0]["NoReboot"] is True and sent[0]["InstanceId"] == server
    assert {s["ResourceType"] for s in sent[0]["TagSpecifications"]} == {"image", "snapshot"}

    calls.clear()
    again = ami_create(cli, "--instance-id", "wcs-configured", "--name", "wcs-edge-1")
    assert again.exit_code == 0, again.stderr
    assert calls.mutating == []
    assert again.stdout.strip() == image["ImageId"]
    assert "up to date" in again.stderr
    # Flags left out keep what the stack recorded.
    calls.clear()
    assert ami_create(cli).exit_code == 0
    assert calls.mutating == []


def test_reboot_flag_is_sent(cli, aws) -> None:
    run_server(aws)
    sent: list[dict] = []
    with aws_mod.hooked("provide-client-params.ec2.CreateImage", lambda params, **kw: sent.append(dict(params))):
        assert ami_create(cli, "--instance-id", "wcs-configured", "--reboot").exit_code == 0
    assert sent[0]["NoReboot"] is False
    assert stack_images(aws, STACK)[0]["Name"] == "wcs-image"  # the default name


def test_copy_to_another_region_is_tagged_there_and_found_again(cli, aws, calls) -> None:
    run_server(aws)
    r = ami_create(cli, "--instance-id", "wcs-configured", "--name", "wcs-edge", "--copy-to", "eu-west-1")
    assert r.exit_code == 0, r.stderr
    [source] = stack_images(aws, STACK)
    assert tags(source)["awslb:copies"] == "eu-west-1"
    [copy] = stack_images(aws, STACK, "eu-west-1")
    ct = tags(copy)
    assert (ct["awslb:source-image"], ct["awslb:source-region"], ct["awslb:id"]) == (
        source["ImageId"], "us-east-1", "image-copy")
    assert copy["Name"] == "wcs-edge"

    calls.clear()
    assert ami_create(cli, "--copy-to", "eu-west-1").exit_code == 0
    assert calls.mutating == []

    listed = json.loads(cli("--output", "json", "ami", "list", "--stack", STACK).stdout)
    assert [(i["image"], i["role"], i["copies"]) for i in listed["images"]] == [
        (source["ImageId"], "current", {"eu-west-1": copy["ImageId"]})]
    # A second region later: only that copy is made.
    calls.clear()
    assert ami_create(cli, "--copy-to", "us-west-2").exit_code == 0
    assert [op for _, op in calls.mutating].count("CopyImage") == 1
    assert len(stack_images(aws, STACK, "us-west-2")) == 1
    assert tags(stack_images(aws, STACK)[0])["awslb:copies"] == "eu-west-1 us-west-2"


def test_a_new_name_makes_a_new_image_and_keeps_the_old_one(cli, aws) -> None:
    run_server(aws)
    assert ami_create(cli, "--instance-id", "wcs-configured", "--name", "wcs-v1").exit_code == 0
    [old] = stack_images(aws, STACK)
    plan = json.loads(cli("--output", "json", "ami", "create", "--stack", STACK, "--name", "wcs-v2",
                          "--dry-run").stdout)
    [step] = [s for s in plan["steps"] if s["id"] == "image"]
    assert step["action"] == "update" and step["changes"] == [
        "name: wcs-v1 → wcs-v2 (a new image; the current one is kept)"]
    r = ami_create(cli, "--name", "wcs-v2")
    assert r.exit_code == 0, r.stderr
    found = {i["ImageId"]: i for i in stack_images(aws, STACK)}
    assert len(found) == 2
    assert tags(found[old["ImageId"]])["awslb:id"] == f"image@{old['ImageId']}"
    [new] = [i for i in found.values() if i["ImageId"] != old["ImageId"]]
    assert tags(new)["awslb:id"] == "image" and new["Name"] == "wcs-v2"
    assert r.stdout.strip() == new["ImageId"]


def test_a_new_server_under_the_same_name_gets_a_dated_name(cli, aws) -> None:
    run_server(aws)
    second = run_server(aws, "wcs-configured-2")
    assert ami_create(cli, "--instance-id", "wcs-configured", "--name", "wcs-edge").exit_code == 0
    r = ami_create(cli, "--instance-id", second)
    assert r.exit_code == 0, r.stderr
    current = [i for i in stack_images(aws, STACK) if tags(i)["awslb:id"] == "image"]
    assert len(current) == 1
    assert current[0]["Name"].startswith("wcs-edge-2") and tags(current[0])["awslb:source-instance"] == second


def test_down_keeps_images_unless_asked_then_removes_copies_retired_and_snapshots(cli, aws) -> None:
    run_server(aws)
    assert ami_create(cli, "--instance-id", "wcs-configured", "--name", "wcs-v1",
                      "--copy-to", "eu-west-1").exit_code == 0
    assert ami_create(cli, "--name", "wcs-v2").exit_code == 0
    snaps = [snapshot_of(aws, i)["SnapshotId"] for i in stack_images(aws, STACK)]
    r = cli("down", STACK, "--yes")
    assert r.exit_code == 0, r.stderr
    # Both images were copied (copy_to stays in the stack); all of them are kept.
    assert len(stack_images(aws, STACK)) == 2 and len(stack_images(aws, STACK, "eu-west-1")) == 2
    r = cli("down", STACK, "--yes", "--delete-images")
    assert r.exit_code == 0, r.stderr
    assert stack_images(aws, STACK) == [] and stack_images(aws, STACK, "eu-west-1") == []
    left = aws.call("ec2", "describe_snapshots", OwnerIds=["self"])["Snapshots"]
    assert not {s["SnapshotId"] for s in left} & set(snaps)
    assert not [s for s in left if tags(s).get("awslb:stack") == STACK]


def test_the_image_still_counts_when_its_server_is_gone(cli, aws, calls) -> None:
    server = run_server(aws)
    assert ami_create(cli, "--instance-id", "wcs-configured").exit_code == 0
    aws.call("ec2", "terminate_instances", InstanceIds=[server])
    calls.clear()
    r = ami_create(cli)
    assert r.exit_code == 0, r.stderr
    assert calls.mutating == []


@pytest.mark.parametrize("args, needle", [
    (["--instance-id", "no-such-server"], "--instance-id: no such instance"),
    (["--instance-id", "i-0123456789abcdef0"], "--instance-id: no such instance"),
    (["--instance-id", "i-xyz"], "--instance-id: not an instance id"),
    (["--instance-id", "wcs-configured", "--copy-to", "mars"], "--copy-to: not a region name"),
    (["--instance-id", "wcs-configured", "--copy-to", "us-east-1"], "--copy-to: us-east-1 is the stack's own region"),
    (["--instance-id", "wcs-configured", "--name", "x"], "--name: an image name is 3-128"),
    ([], "--instance-id: which server?"),
])
def test_bad_input_is_one_line_naming_the_flag_and_changes_nothing(cli, aws, calls, args, needle) -> None:
    run_server(aws)
    calls.clear()
    r = ami_create(cli, *args)
    assert r.exit_code in (2, 4), r.stderr
    assert needle in r.stderr
    assert len([x for x in r.stderr.splitlines() if x.startswith("error:")]) == 1
    assert "Traceback" not in r.stderr
    assert calls.mutating == []


def test_an_existing_image_id_must_exist(aws, ui, opts, calls) -> None:
    s = spec.parse({"stack": {"name": STACK}, "image": {"id": "ami-0123456789abcdef0"}})
    with pytest.raises(Exception, match=r"image.id: no such image in us-east-1"):
        deploy.up(aws, ui, s, opts=opts)
    assert calls.mutating == []
    s = spec.parse({"stack": {"name": STACK}, "image": {"id": BASE_AMI}})
    result = deploy.up(aws, ui, s, opts=opts)
    assert "image" not in {st.id for st in result.plan.steps}  # nothing to make: the image exists


class TestDelete:
    def made(self, cli, aws, *extra: str) -> dict:
        run_server(aws)
        assert ami_create(cli, "--instance-id", "wcs-configured", *extra).exit_code == 0
        return stack_images(aws, STACK)[0]

    def test_deregisters_and_deletes_snapshots_and_copies(self, cli, aws) -> None:
        image = self.made(cli, aws, "--copy-to", "eu-west-1")
        copy = stack_images(aws, STACK, "eu-west-1")[0]
        snaps = [snapshot_of(aws, image)["SnapshotId"]]
        copy_snap = snapshot_of(aws, copy, "eu-west-1")["SnapshotId"]
        r = cli("ami", "delete", image["ImageId"], "--stack", STACK, "--yes")
        assert r.exit_code == 0, r.stderr
        assert stack_images(aws, STACK) == [] and stack_images(aws, STACK, "eu-west-1") == []
        left = {s["SnapshotId"] for s in aws.call("ec2", "describe_snapshots", OwnerIds=["self"])["Snapshots"]}
        assert not left & set(snaps)
        left_eu = {s["SnapshotId"] for s in aws.call("ec2", "describe_snapshots", region="eu-west-1",
                                                     OwnerIds=["self"])["Snapshots"]}
        assert copy_snap not in left_eu
        # The stack now has no image: the next `ami create` makes one again.
        assert ami_create(cli).exit_code == 0
        assert len(stack_images(aws, STACK)) == 1

    def test_refuses_an_image_the_stack_did_not_make(self, cli, aws, calls) -> None:
        server = run_server(aws)
        foreign = aws.call("ec2", "create_image", InstanceId=server, Name="team-golden")["ImageId"]
        calls.clear()
        r = cli("ami", "delete", foreign, "--stack", STACK, "--yes")
        assert r.exit_code == 2 and "--force" in r.stderr and "was not made by awslb" in r.stderr
        assert calls.mutating == []
        assert cli("ami", "delete", foreign, "--stack", STACK, "--yes", "--force").exit_code == 0
        assert aws.call("ec2", "describe_images", Owners=["self"],
                        Filters=[{"Name": "name", "Values": ["team-golden"]}])["Images"] == []

    def test_refuses_another_stacks_image_and_an_image_in_use(self, cli, aws, calls) -> None:
        image = self.made(cli, aws)
        calls.clear()
        r = cli("ami", "delete", image["ImageId"], "--stack", "other", "--yes")
        assert r.exit_code == 2 and f"belongs to stack {STACK}" in r.stderr
        aws.call("ec2", "run_instances", ImageId=image["ImageId"], MinCount=1, MaxCount=1, InstanceType="c5.large")
        calls.clear()
        r = cli("ami", "delete", image["ImageId"], "--stack", STACK, "--yes")
        assert r.exit_code == 2 and "is in use by i-" in r.stderr
        assert calls.mutating == []
        assert cli("ami", "delete", image["ImageId"], "--stack", STACK, "--yes", "--force").exit_code == 0

    def test_unknown_or_malformed_image(self, cli, aws, calls) -> None:
        r = cli("ami", "delete", "ami-0123456789abcdef0", "--yes")
        assert r.exit_code == 4 and "AMI: no such image" in r.stderr
        r = cli("ami", "delete", "my-image", "--yes")
        assert r.exit_code == 2 and "AMI: not an image id" in r.stderr
        assert calls.mutating == []


def test_list_shows_current_and_retired(cli, aws) -> None:
    run_server(aws)
    assert ami_create(cli, "--instance-id", "wcs-configured", "--name", "wcs-v1").exit_code == 0
    assert ami_create(cli, "--name", "wcs-v2").exit_code == 0
    data = json.loads(cli("--output", "json", "ami", "list", "--stack", STACK).stdout)
    assert sorted((i["name"], i["role"], i["state"]) for i in data["images"]) == [
        ("wcs-v1", "retired", "available"), ("wcs-v2", "current", "available")]
    text = cli("ami", "list", "--stack", STACK)
    assert "wcs-v2" in text.stdout and "current" in text.stdout
    assert "no images" in cli("ami", "list", "--stack", "empty").stderr


def test_a_stack_that_drops_its_image_retires_it_instead_of_deregistering(cli, aws, tmp_path) -> None:
    run_server(aws)
    f = tmp_path / "s.toml"
    f.write_text(f'[stack]\nname = "{STACK}"\n[image]\nfrom_instance = "wcs-configured"\n')
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    [image] = stack_images(aws, STACK)
    f.write_text(f'[stack]\nname = "{STACK}"\n')
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    assert "kept (an Auto Scaling group may still launch from it)" in r.stderr
    [kept] = stack_images(aws, STACK)
    assert kept["ImageId"] == image["ImageId"] and kept["State"] == "available"
    assert tags(kept)["awslb:id"] == f"image@{image['ImageId']}"
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0 and "up to date" in again.stderr


@pytest.mark.parametrize("ledger", [True, False], ids=["with-ledger", "without-ledger"])
def test_down_delete_images_finds_copies_whose_source_is_gone(cli, aws, ledger, clean_env) -> None:
    """Issue 11: a copy is found by its own awslb:stack tag in every region the stack copied to."""
    run_server(aws)
    assert ami_create(cli, "--instance-id", "wcs-configured", "--name", "wcs-v1",
                      "--copy-to", "eu-west-1").exit_code == 0
    [v1] = stack_images(aws, STACK)
    if not ledger:  # then the regions come from the stack's other image (copy_to stays)
        assert ami_create(cli, "--name", "wcs-v2").exit_code == 0
        for f in (clean_env / ".awslb").glob("*.json"):
            f.unlink()
    assert len(stack_images(aws, STACK, "eu-west-1")) == (1 if ledger else 2)
    aws.call("ec2", "deregister_image", ImageId=v1["ImageId"])  # the source, gone by hand
    r = cli("down", STACK, "--yes", "--delete-images")
    assert r.exit_code == 0, r.stderr
    assert stack_images(aws, STACK, "eu-west-1") == []  # no orphaned copy
    assert stack_images(aws, STACK) == []
