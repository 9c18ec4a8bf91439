"""Bad input to launch-template, launch-config and asg: one line naming the flag or key, no write."""

import pytest

from tests.conftest import write

AMI = "ami-1e749f67"
LT = ["launch-template", "create", "--name", "wcs-edge", "--ami", AMI, "--instance-type", "c5.large", "--yes"]
ASG = ["asg", "create", "--name", "edge", "--template", "edge", "--ami", AMI, "--set", "cdn_point_of_entry=10.0.0.1",
       "--yes"]


@pytest.mark.parametrize("args, code, needle", [
    ([*LT, "--template", "nope", "--set", "a=b"], 4, "--template: no such user-data template 'nope'"),
    ([*LT, "--set", "cdn_point_of_entry=1.2.3.4", "--set", "colour=blue"], 4, "--set: template 'edge' has no variable 'colour'"),
    (LT, 2, "--set: missing: --set cdn_point_of_entry=..."),
    ([*LT, "--set", "cdn_point_of_entry"], 2, "--set: expected KEY=VALUE"),
    ([*LT, "--set", "cdn_point_of_entry=1.2.3.4", "--set", "heap_size=1g", "--set", "update=maybe"], 4,
     "update must be true or false"),
    ([*LT[:-3], "--instance-type", "large", "--set", "cdn_point_of_entry=1.2.3.4"], 4,
     "--instance-type: not an instance type"),
    ([*LT[:4], "--instance-type", "c5.large", "--set", "cdn_point_of_entry=1.2.3.4", "--yes"], 2,
     "--ami: missing: --ami ami-..."),
    ([*LT, "--ami", "ami-xyz", "--set", "cdn_point_of_entry=1.2.3.4"], 4, "--ami: not an image id"),
    (["launch-config", "create", "--name", "lc", "--ami", AMI, "--instance-type", "c5.large", "--set", "a=b"], 2,
     "--set: user-data variables need --template"),
    ([*ASG, "--min", "5", "--max", "2"], 4, "--max: must be ≥ autoscaling.min"),
    ([*ASG, "--min", "1", "--max", "2", "--desired", "3"], 4, "--desired: must be between"),
    ([*ASG, "--instance-type", "c5.large", "--instance-type", "c5.xlarge", "--warm-pool-state", "stopped"], 4,
     "--warm-pool-state: AWS does not support a warm pool on a group with a mixed instances policy"),
    ([*ASG, "--on-demand-percent", "50", "--warm-pool-state", "stopped"], 4, "--warm-pool-state: AWS does not support"),
    ([*ASG, "--on-demand-percent", "120"], 4, "--on-demand-percent:"),
    ([*ASG, "--on-demand-percent", "-1"], 4, "--on-demand-percent:"),
    ([*ASG, "--warm-pool-state", "frozen"], 4, "--warm-pool-state (autoscaling.warm_pool.state):"),
    ([*ASG, "--warm-pool-min", "1"], 2, "--warm-pool-state: give the warm pool's state"),
    ([*ASG, "--launch-template", "x"], 2, "--launch-template: give one of --template"),
    ([*ASG, "--alb", "a", "--elb", "b"], 2, "--elb: give one of --alb, --nlb, --target-group and --elb"),
    (["asg", "create", "--name", "edge", "--launch-template", "lt", "--set", "a=b", "--yes"], 2,
     "--set: only with --template"),
    (["asg", "create", "--name", "edge", "--yes"], 2, "--template: missing: --template edge (or --launch-template"),
    (["asg", "create", "--name", "edge", "--launch-config", "lc", "--instance-type", "c5.large",
      "--instance-type", "c5.xlarge", "--yes"], 4, "--instance-type: a mixed-instances group needs a launch template"),
    (["asg", "scale", "edge"], 2, "--desired"),
    (["asg", "create", "--name", "edge", "--launch-template", "lt", "--instance-type", "c5.large", "--yes"], 4,
     "--instance-type: one type is the existing launch template's"),
])
def test_bad_input(cli, calls, args, code, needle) -> None:
    r = cli(*args)
    assert r.exit_code == code, r.stderr
    assert needle in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert len([line for line in r.stderr.splitlines() if line.startswith("error:")]) == 1
    assert calls.made == []  # checked before anything is sent to AWS


@pytest.mark.parametrize("text, needle", [
    ("[launch]\nuserdata = 'nope'\n", "launch.userdata: no such user-data template 'nope'"),
    ("[launch]\nvars = { colour = 'blue', cdn_point_of_entry = '1.2.3.4' }\n", "launch.vars: template 'edge' has no variable 'colour'"),
    ("[launch]\n", "launch.vars: template 'edge' needs cdn_point_of_entry"),
    ("[launch]\nvars = { cdn_point_of_entry = '1.2.3.4' }\n[autoscaling]\ninstance_types = ['c5.xlarge']\n",
     "autoscaling.instance_types: one type must match launch.instance_type"),
    ("[launch]\nkind = 'config'\nvars = { cdn_point_of_entry = '1.2.3.4' }\n[autoscaling]\n"
     "instance_types = ['c5.large', 'c5.xlarge']\n", "a mixed-instances group needs a launch template"),
])
def test_bad_stack_files_make_no_change(cli, moto, calls, tmp_path, text, needle) -> None:
    f = write(tmp_path / "s.toml", f"[stack]\nname = 'bad'\n[image]\nid = '{AMI}'\n" + text)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4, r.stderr
    assert needle in r.stderr and r.stderr.count("error:") == 1
    assert calls.mutating == []


def test_all_missing_values_at_once_and_the_name_derived(cli, calls) -> None:
    """issue 14: `asg create --template edge` reported --name, then the variable, then --ami, one per run."""
    r = cli("asg", "create", "--template", "edge")
    assert r.exit_code == 2, r.stderr
    [line] = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert "--set cdn_point_of_entry=..." in line and "--ami ami-..." in line
    assert "--name" not in line  # the group's name comes from the stack
    assert calls.made == []
