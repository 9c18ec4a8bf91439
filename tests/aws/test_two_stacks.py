"""Issue 11: two stacks whose names collide, run interleaved, keep each other's resources (moto).

Launch configurations take no tags and are found by name pattern: two stacks with the same
`[launch] name` make names of one pattern (identical content even gives one name). Each
stack may delete only what it can prove is its own, and never what another group uses.
"""

from __future__ import annotations

import pytest

from awslb.aws import Aws
from tests.conftest import REGION, write

STACK = """
[stack]
name = "{name}"

[image]
id = "ami-1e749f67"

[launch]
kind = "{kind}"
name = "wcs-shared"
instance_type = "{itype}"
{extra}
vars = {{ cdn_point_of_entry = "172.31.43.82" }}

[autoscaling]
min = 0
max = 2
desired = 0
"""


def stack_file(tmp_path, name: str, kind: str = "config", itype: str = "c5.large", extra: str = ""):
    return write(tmp_path / f"{name}.toml", STACK.format(name=name, kind=kind, itype=itype, extra=extra))


def configs(aws: Aws) -> set[str]:
    return {lc["LaunchConfigurationName"]
            for lc in aws.paginate("autoscaling", "describe_launch_configurations", "LaunchConfigurations")}


def groups(aws: Aws) -> dict[str, str | None]:
    """{group name: the launch configuration it launches from}."""
    return {g["AutoScalingGroupName"]: g.get("LaunchConfigurationName")
            for g in aws.paginate("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups")}


def templates(aws: Aws) -> dict[str, str]:
    out = {}
    for lt in aws.paginate("ec2", "describe_launch_templates", "LaunchTemplates"):
        tags = {t["Key"]: t["Value"] for t in lt.get("Tags", [])}
        out[lt["LaunchTemplateName"]] = tags.get("awslb:stack", "")
    return out


@pytest.mark.parametrize("same_content", [False, True], ids=["different-content", "same-content"])
def test_colliding_launch_configurations_survive_interleaved_up_up_down_down(
        cli, moto, tmp_path, same_content: bool) -> None:
    aws = Aws(region=REGION)
    extra = ""
    if same_content:  # one security group for both: the same content, so the same name
        sg = aws.call("ec2", "create_security_group", GroupName="shared", Description="shared")["GroupId"]
        extra = f'security_groups = ["{sg}"]'
    alpha = stack_file(tmp_path, "alpha", extra=extra)
    beta = stack_file(tmp_path, "beta", itype="c5.large" if same_content else "c5.xlarge", extra=extra)

    assert (r := cli("up", "-f", str(alpha), "--yes")).exit_code == 0, r.stderr
    alpha_lc = groups(aws)["alpha-asg"]
    assert alpha_lc and alpha_lc.startswith("wcs-shared-")

    assert (r := cli("up", "-f", str(beta), "--yes")).exit_code == 0, r.stderr
    beta_lc = groups(aws)["beta-asg"]
    assert beta_lc and beta_lc.startswith("wcs-shared-")
    assert (alpha_lc == beta_lc) == same_content
    # beta's up left alpha's group and its launch configuration alone
    assert groups(aws)["alpha-asg"] == alpha_lc and alpha_lc in configs(aws)

    # a second up of each changes nothing of the other's
    assert cli("up", "-f", str(alpha), "--yes").exit_code == 0
    assert cli("up", "-f", str(beta), "--yes").exit_code == 0
    assert groups(aws) == {"alpha-asg": alpha_lc, "beta-asg": beta_lc}
    assert {alpha_lc, beta_lc} <= configs(aws)

    assert (r := cli("down", "alpha", "--yes")).exit_code == 0, r.stderr
    assert groups(aws) == {"beta-asg": beta_lc}
    assert beta_lc in configs(aws)  # beta's group still launches from it
    if not same_content:
        assert alpha_lc not in configs(aws)  # alpha's own: gone

    assert (r := cli("down", "beta", "--yes")).exit_code == 0, r.stderr
    assert groups(aws) == {} and configs(aws) == set()  # nothing orphaned


def test_a_launch_configuration_of_another_stack_is_never_claimed(cli, moto, tmp_path) -> None:
    """A name of alpha's pattern that beta's group does not use and beta's ledger never made."""
    aws = Aws(region=REGION)
    assert cli("up", "-f", str(stack_file(tmp_path, "alpha")), "--yes").exit_code == 0
    alpha_lc = groups(aws)["alpha-asg"]
    r = cli("--output", "json", "status", "beta")
    assert r.exit_code == 0 and alpha_lc not in r.stdout
    assert cli("down", "beta", "--yes").exit_code == 0
    assert alpha_lc in configs(aws) and groups(aws)["alpha-asg"] == alpha_lc


def test_a_launch_template_name_of_another_stack_is_refused_in_preflight(cli, moto, calls, tmp_path) -> None:
    aws = Aws(region=REGION)
    assert cli("up", "-f", str(stack_file(tmp_path, "alpha", kind="template")), "--yes").exit_code == 0
    assert templates(aws) == {"wcs-shared": "alpha"}
    calls.clear()
    r = cli("up", "-f", str(stack_file(tmp_path, "beta", kind="template")), "--yes")
    assert r.exit_code == 4
    assert r.stderr.strip() == ("error: launch.name: a launch template named wcs-shared exists and belongs to "
                                "stack alpha: pick another name")
    assert calls.mutating == []  # refused before anything was made
    assert cli("down", "beta", "--yes").exit_code == 0
    assert templates(aws) == {"wcs-shared": "alpha"} and "alpha-asg" in groups(aws)
