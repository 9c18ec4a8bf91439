"""The Auto Scaling group under moto: read back from AWS, idempotency, scale, refresh, teardown.

These stacks have no [load_balancer] section: the balancer kinds are built on other
branches. Attaching is tested with target groups and a Classic balancer made directly.
"""

import shutil

import pytest

from awslb import aws as aws_mod
from awslb.aws import Aws
from tests.conftest import REGION, fake_call, write

AMI = "ami-1e749f67"
BASE = """
[stack]
name = "wcs-asg"

[image]
id = "ami-1e749f67"

[launch]
name = "wcs-edge"
instance_type = "c5.large"
vars = { cdn_point_of_entry = "172.31.43.82" }
"""


def stack(tmp_path, autoscaling: str):
    return write(tmp_path / "asg.toml", BASE + "\n[autoscaling]\n" + autoscaling)


def group(aws: Aws, name: str = "wcs-edge-asg") -> dict:
    [g] = aws.call("autoscaling", "describe_auto_scaling_groups", AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return g


def stack_groups(aws: Aws, stack_name: str = "wcs-asg") -> list[dict]:
    return aws.call("autoscaling", "describe_auto_scaling_groups",
                    Filters=[{"Name": "tag:awslb:stack", "Values": [stack_name]}])["AutoScalingGroups"]


def default_subnets(aws: Aws) -> list[str]:
    vpc = aws.call("ec2", "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    subnets = aws.call("ec2", "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                                           {"Name": "default-for-az", "Values": ["true"]}])
    return sorted(s["SubnetId"] for s in subnets["Subnets"])


MIXED = """name = "wcs-edge-asg"
min = 1
max = 10
desired = 2
cpu_target = 70
warmup = 240
instance_types = ["c5.large", "c5.xlarge"]
"""


def test_mixed_group_read_back(cli, moto, tmp_path) -> None:
    r = cli("up", "-f", str(stack(tmp_path, MIXED)), "--yes")
    assert r.exit_code == 0, r.stderr
    aws = Aws(region=REGION)
    g = group(aws)
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (1, 10, 2)
    lt = aws.call("ec2", "describe_launch_templates", LaunchTemplateNames=["wcs-edge"])["LaunchTemplates"][0]
    mip = g["MixedInstancesPolicy"]
    spec = mip["LaunchTemplate"]["LaunchTemplateSpecification"]
    assert spec["LaunchTemplateId"] == lt["LaunchTemplateId"] and spec["Version"] == "$Latest"
    assert [o["InstanceType"] for o in mip["LaunchTemplate"]["Overrides"]] == ["c5.large", "c5.xlarge"]
    assert mip["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 100
    assert mip["InstancesDistribution"]["OnDemandBaseCapacity"] == 0
    # Subnets in every zone of the default VPC; no balancer, so EC2 health checks.
    assert sorted(g["VPCZoneIdentifier"].split(",")) == default_subnets(aws)
    assert g["HealthCheckType"] == "EC2" and g["TargetGroupARNs"] == [] and g["LoadBalancerNames"] == []
    [policy] = aws.call("autoscaling", "describe_policies", AutoScalingGroupName="wcs-edge-asg")["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    cfg = policy["TargetTrackingConfiguration"]
    assert cfg["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ASGAverageCPUUtilization"
    assert cfg["TargetValue"] == 70.0 and policy["EstimatedInstanceWarmup"] == 240
    tags = {t["Key"]: t for t in g["Tags"]}
    assert tags["awslb:stack"]["Value"] == "wcs-asg" and tags["awslb:stack"]["PropagateAtLaunch"] is True
    assert tags["awslb:id"]["Value"] == "asg" and tags["awslb:id"]["PropagateAtLaunch"] is False
    assert aws.call("autoscaling", "describe_warm_pool", AutoScalingGroupName="wcs-edge-asg").get(
        "WarmPoolConfiguration") is None


WARM = """name = "wcs-edge-asg"
min = 1
max = 4
warm_pool = { state = "hibernated", min = 1, max = 3 }
"""


def test_warm_pool_read_back(cli, moto, tmp_path) -> None:
    assert cli("up", "-f", str(stack(tmp_path, WARM)), "--yes").exit_code == 0
    aws = Aws(region=REGION)
    g = group(aws)
    assert "MixedInstancesPolicy" not in g and g["LaunchTemplate"]["Version"] == "$Latest"
    pool = aws.call("autoscaling", "describe_warm_pool", AutoScalingGroupName="wcs-edge-asg")["WarmPoolConfiguration"]
    assert pool["PoolState"] == "Hibernated" and pool["MinSize"] == 1 and pool["MaxGroupPreparedCapacity"] == 3


def test_second_up_changes_nothing_then_changes_are_in_place(cli, moto, calls, tmp_path) -> None:
    f = stack(tmp_path, WARM)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == []
    stack(tmp_path, WARM.replace('state = "hibernated"', 'state = "running"') + "cpu_target = 60\n")
    calls.clear()
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    # Hibernation is no longer needed: a new template version; the group changes in place.
    assert sorted(calls.mutating) == sorted([
        ("ec2", "CreateLaunchTemplateVersion"), ("ec2", "ModifyLaunchTemplate"),
        ("autoscaling", "PutScalingPolicy"), ("autoscaling", "PutWarmPool")])
    aws = Aws(region=REGION)
    pool = aws.call("autoscaling", "describe_warm_pool", AutoScalingGroupName="wcs-edge-asg")["WarmPoolConfiguration"]
    assert pool["PoolState"] == "Running"
    [policy] = aws.call("autoscaling", "describe_policies", AutoScalingGroupName="wcs-edge-asg")["ScalingPolicies"]
    assert policy["TargetTrackingConfiguration"]["TargetValue"] == 60.0
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == []


def test_policy_none_and_warm_pool_removed(cli, moto, calls, tmp_path) -> None:
    f = stack(tmp_path, WARM)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    stack(tmp_path, 'name = "wcs-edge-asg"\nmin = 1\nmax = 4\npolicy = "none"\n')
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    aws = Aws(region=REGION)
    assert aws.call("autoscaling", "describe_policies", AutoScalingGroupName="wcs-edge-asg")["ScalingPolicies"] == []
    assert aws.call("autoscaling", "describe_warm_pool", AutoScalingGroupName="wcs-edge-asg").get(
        "WarmPoolConfiguration") is None


@pytest.mark.parametrize("lose_ledger", [False, True], ids=["with-ledger", "ledger-deleted"])
def test_down_leaves_nothing(cli, moto, tmp_path, lose_ledger) -> None:
    assert cli("up", "-f", str(stack(tmp_path, MIXED)), "--yes").exit_code == 0
    aws = Aws(region=REGION)
    instances = [i["InstanceId"] for i in group(aws)["Instances"]]
    assert len(instances) == 2
    if lose_ledger:
        shutil.rmtree(tmp_path / ".awslb")
    r = cli("down", "wcs-asg", "--yes")
    assert r.exit_code == 0, r.stderr
    assert stack_groups(aws) == []
    assert aws.call("ec2", "describe_launch_templates",
                    Filters=[{"Name": "tag:awslb:stack", "Values": ["wcs-asg"]}])["LaunchTemplates"] == []
    assert aws.call("ec2", "describe_security_groups",
                    Filters=[{"Name": "tag:awslb:stack", "Values": ["wcs-asg"]}])["SecurityGroups"] == []
    states = {i["State"]["Name"] for r in aws.call("ec2", "describe_instances", InstanceIds=instances)["Reservations"]
              for i in r["Instances"]}
    assert states <= {"shutting-down", "terminated"}


# -- the step command --------------------------------------------------------------------------

def make_target_group(aws: Aws, name: str = "ext-ws") -> str:
    vpc = aws.call("ec2", "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    return aws.call("elbv2", "create_target_group", Name=name, Protocol="HTTP", Port=8080, VpcId=vpc,
                    TargetType="instance", ProtocolVersion="HTTP1")["TargetGroups"][0]["TargetGroupArn"]


def asg_create(cli, *extra: str):
    return cli("asg", "create", "--name", "edge", "--template", "edge", "--ami", AMI,
               "--set", "cdn_point_of_entry=172.31.43.82", "--min", "1", "--max", "5", "--stack", "steps",
               "--yes", *extra)


def test_asg_create_attaches_an_existing_target_group(cli, moto, calls) -> None:
    aws = Aws(region=REGION)
    arn = make_target_group(aws)
    r = asg_create(cli, "--target-group", "ext-ws", "--health-check-grace", "400", "--warmup", "120")
    assert r.exit_code == 0, r.stderr
    g = group(aws, "edge")
    assert g["TargetGroupARNs"] == [arn]
    assert g["HealthCheckType"] == "ELB" and g["HealthCheckGracePeriod"] == 400
    [policy] = aws.call("autoscaling", "describe_policies", AutoScalingGroupName="edge")["ScalingPolicies"]
    assert policy["EstimatedInstanceWarmup"] == 120
    calls.clear()
    again = asg_create(cli, "--target-group", "ext-ws", "--health-check-grace", "400", "--warmup", "120")
    assert again.exit_code == 0 and calls.mutating == []
    # Another target group: attached and the old one detached, in place.
    other = make_target_group(aws, "ext-ws-2")
    calls.clear()
    assert asg_create(cli, "--target-group", other, "--health-check-grace", "400", "--warmup", "120").exit_code == 0
    assert group(aws, "edge")["TargetGroupARNs"] == [other]
    assert ("autoscaling", "CreateAutoScalingGroup") not in calls.mutating


def test_asg_create_with_a_changed_variable_makes_one_template_version(cli, moto, calls) -> None:
    assert asg_create(cli).exit_code == 0
    calls.clear()
    r = cli("asg", "create", "--name", "edge", "--template", "edge", "--ami", AMI,
            "--set", "cdn_point_of_entry=172.31.43.99", "--min", "1", "--max", "5", "--stack", "steps", "--yes")
    assert r.exit_code == 0, r.stderr
    assert calls.mutating == [("ec2", "CreateLaunchTemplateVersion"), ("ec2", "ModifyLaunchTemplate")]


def test_asg_create_attaches_a_classic_balancer(cli, moto) -> None:
    aws = Aws(region=REGION)
    aws.call("elb", "create_load_balancer", LoadBalancerName="wcs-classic",
             Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 8080, "InstanceProtocol": "TCP", "InstancePort": 8080}],
             AvailabilityZones=["us-east-1a"])
    r = asg_create(cli, "--elb", "wcs-classic")
    assert r.exit_code == 0, r.stderr
    g = group(aws, "edge")
    assert g["LoadBalancerNames"] == ["wcs-classic"] and g["HealthCheckType"] == "ELB"


@pytest.mark.parametrize("flag, value, needle", [
    ("--target-group", "nope", "--target-group: no such target group"),
    ("--elb", "nope", "--elb: no such Classic Load Balancer"),
    ("--alb", "nope", "--alb: no such Application Load Balancer"),
    ("--subnet", "subnet-0123456789abcdef0", "--subnet: no such subnet"),
])
def test_unknown_things_to_attach(cli, moto, calls, flag, value, needle) -> None:
    r = asg_create(cli, flag, value)
    assert r.exit_code == 4 and needle in r.stderr, r.stderr
    assert calls.mutating == []


def test_existing_launch_template_by_name(cli, moto) -> None:
    assert cli("launch-template", "create", "--name", "shared-lt", "--ami", AMI, "--instance-type", "c5.large",
               "--set", "cdn_point_of_entry=10.0.0.1", "--stack", "other", "--yes").exit_code == 0
    r = cli("asg", "create", "--name", "edge", "--launch-template", "shared-lt", "--stack", "steps", "--yes")
    assert r.exit_code == 0, r.stderr
    aws = Aws(region=REGION)
    lt = aws.call("ec2", "describe_launch_templates", LaunchTemplateNames=["shared-lt"])["LaunchTemplates"][0]
    assert group(aws, "edge")["LaunchTemplate"]["LaunchTemplateId"] == lt["LaunchTemplateId"]
    missing = cli("asg", "create", "--name", "edge2", "--launch-template", "nope", "--stack", "steps", "--yes")
    assert missing.exit_code == 4 and "--launch-template: no such launch template" in missing.stderr
    # The other stack's template is not this stack's: its teardown leaves it alone.
    assert cli("down", "steps", "--yes").exit_code == 0
    assert aws.call("ec2", "describe_launch_templates", LaunchTemplateNames=["shared-lt"])["LaunchTemplates"]


# -- asg scale ------------------------------------------------------------------------------

def test_scale(cli, moto, calls) -> None:
    assert asg_create(cli).exit_code == 0
    aws = Aws(region=REGION)
    calls.clear()
    r = cli("asg", "scale", "edge", "--desired", "3")
    assert r.exit_code == 0, r.stderr
    assert calls.mutating == [("autoscaling", "SetDesiredCapacity")]
    assert group(aws, "edge")["DesiredCapacity"] == 3
    calls.clear()
    assert cli("asg", "scale", "edge", "--desired", "3").exit_code == 0
    assert calls.mutating == []
    # The step run again does not undo what the application decided.
    assert asg_create(cli).exit_code == 0
    assert calls.mutating == [] and group(aws, "edge")["DesiredCapacity"] == 3
    out = cli("asg", "scale", "edge", "--desired", "6")
    assert out.exit_code == 4 and "--desired: 6 is outside the group's size 1-5" in out.stderr
    unknown = cli("asg", "scale", "nope", "--desired", "1")
    assert unknown.exit_code == 4 and "no such Auto Scaling group" in unknown.stderr
    assert calls.mutating == []


# -- asg refresh (moto lacks the instance-refresh calls: they are faked here) -----------------

class FakeRefresh:
    """Answers StartInstanceRefresh and DescribeInstanceRefreshes, which moto does not implement.

    `record` sees the call's parameters as awslb passed them (before-parameter-build);
    `start` and `describe` answer the calls instead of moto (before-call).
    """

    def __init__(self, statuses: list[str], reason: str | None = None):
        self.statuses = list(statuses)
        self.started: list[dict] = []
        self.reason = reason

    def record(self, params, **kwargs):
        self.started.append(dict(params))

    def start(self, **kwargs):
        return fake_call({"InstanceRefreshId": "ir-1"})

    def describe(self, **kwargs):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        item = {"InstanceRefreshId": "ir-1", "AutoScalingGroupName": "edge",
                "Status": status, "PercentageComplete": 100 if status == "Successful" else 50,
                "InstancesToUpdate": 0 if status == "Successful" else 1}
        if self.reason:
            item["StatusReason"] = self.reason
        return fake_call({"InstanceRefreshes": [item]})


def hooked_refresh(fake: FakeRefresh):
    from contextlib import ExitStack

    stack = ExitStack()
    stack.enter_context(aws_mod.hooked("before-parameter-build.auto-scaling.StartInstanceRefresh", fake.record))
    stack.enter_context(aws_mod.hooked("before-call.auto-scaling.StartInstanceRefresh", fake.start))
    stack.enter_context(aws_mod.hooked("before-call.auto-scaling.DescribeInstanceRefreshes", fake.describe))
    return stack


def test_refresh_follows_until_done(cli, moto) -> None:
    assert asg_create(cli, "--warmup", "200").exit_code == 0
    fake = FakeRefresh(["Pending", "InProgress", "InProgress", "Successful"])
    with hooked_refresh(fake):
        r = cli("--output", "json", "asg", "refresh", "edge", "--stack", "steps")
    assert r.exit_code == 0, r.stderr
    assert '"status": "Successful"' in r.stdout
    [params] = fake.started
    assert params["AutoScalingGroupName"] == "edge" and params["Strategy"] == "Rolling"
    # Keep 90 % in service, the stack's warm-up, and skip instances already on the current version.
    assert params["Preferences"] == {"MinHealthyPercentage": 90, "InstanceWarmup": 200, "SkipMatching": True}
    assert fake.statuses == ["Successful"]


def test_refresh_failure_is_exit_1(cli, moto) -> None:
    assert asg_create(cli).exit_code == 0
    fake = FakeRefresh(["InProgress", "Failed"], reason="instances failed health checks")
    with hooked_refresh(fake):
        r = cli("asg", "refresh", "edge", "--stack", "steps", "--replace-all")
    assert r.exit_code == 1
    assert "ended Failed: instances failed health checks" in r.stderr
    assert "SkipMatching" not in fake.started[0]["Preferences"]


def test_refresh_no_wait(cli, moto) -> None:
    assert asg_create(cli).exit_code == 0
    fake = FakeRefresh(["Pending", "Successful"])
    with hooked_refresh(fake):
        r = cli("asg", "refresh", "edge", "--stack", "steps", "--no-wait")
    assert r.exit_code == 0 and "Pending" in r.stderr
    assert fake.statuses == ["Successful"]  # looked once, did not follow


def test_renamed_template_moves_the_group_then_goes(cli, moto, calls, tmp_path) -> None:
    f = stack(tmp_path, MIXED)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    write(f, BASE.replace('name = "wcs-edge"', 'name = "wcs-edge-v2"') + "\n[autoscaling]\n" + MIXED)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    aws = Aws(region=REGION)
    [lt] = aws.call("ec2", "describe_launch_templates",
                    Filters=[{"Name": "tag:awslb:stack", "Values": ["wcs-asg"]}])["LaunchTemplates"]
    assert lt["LaunchTemplateName"] == "wcs-edge-v2"
    mip = group(aws)["MixedInstancesPolicy"]
    assert mip["LaunchTemplate"]["LaunchTemplateSpecification"]["LaunchTemplateId"] == lt["LaunchTemplateId"]
    assert [o["InstanceType"] for o in mip["LaunchTemplate"]["Overrides"]] == ["c5.large", "c5.xlarge"]
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == []


def test_an_emulator_without_instance_refresh_is_one_line(cli, moto) -> None:
    # moto's server answers calls it lacks with an HTML error page; botocore cannot parse it.
    import botocore.parsers

    assert asg_create(cli).exit_code == 0

    def html_page(**kwargs):
        raise botocore.parsers.ResponseParserError("Unable to parse response, invalid XML received:\nb'<html>'")

    with aws_mod.hooked("before-call.auto-scaling.StartInstanceRefresh", html_page):
        r = cli("asg", "refresh", "edge", "--stack", "steps")
    assert r.exit_code == 1
    assert "StartInstanceRefresh: InvalidResponse" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("error:") == 1


def test_a_clean_run_of_the_warm_stack_makes_eight_writes(cli, moto, calls, tmp_path) -> None:
    assert cli("up", "-f", str(stack(tmp_path, WARM)), "--yes").exit_code == 0
    assert len(calls.mutating) == 8, calls.mutating


def test_single_type_with_warm_pool_to_mixed_in_place(cli, moto, calls, tmp_path) -> None:
    f = stack(tmp_path, WARM)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    stack(tmp_path, 'name = "wcs-edge-asg"\nmin = 1\nmax = 4\ninstance_types = ["c5.large", "m5.large"]\n'
                    "on_demand_percent = 50\non_demand_base = 1\n")
    calls.clear()
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    ops = [op for _, op in calls.mutating]
    assert "CreateAutoScalingGroup" not in ops
    # The warm pool goes first: AWS refuses one beside a mixed-instances policy.
    assert ops.index("DeleteWarmPool") < ops.index("UpdateAutoScalingGroup")
    aws = Aws(region=REGION)
    dist = group(aws)["MixedInstancesPolicy"]["InstancesDistribution"]
    assert dist["OnDemandPercentageAboveBaseCapacity"] == 50 and dist["OnDemandBaseCapacity"] == 1
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == []


def test_desired_in_the_stack_file_is_applied_when_it_changes(cli, moto, calls, tmp_path) -> None:
    f = stack(tmp_path, MIXED)
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    aws = Aws(region=REGION)
    # The application (or the CPU policy) scales to 4: the unchanged stack file leaves that alone.
    assert cli("asg", "scale", "wcs-edge-asg", "--desired", "4").exit_code == 0
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == [] and group(aws)["DesiredCapacity"] == 4
    # A new value in the stack file is applied.
    stack(tmp_path, MIXED.replace("desired = 2", "desired = 3"))
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert group(aws)["DesiredCapacity"] == 3
    calls.clear()
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert calls.mutating == []


def test_alb_by_name_picks_its_websocket_target_group(cli, moto) -> None:
    aws = Aws(region=REGION)
    ws = make_target_group(aws, "ext-ws")
    vpc = aws.call("ec2", "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    stat = aws.call("elbv2", "create_target_group", Name="ext-stat", Protocol="HTTP", Port=8081, VpcId=vpc,
                    TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    lb = aws.call("elbv2", "create_load_balancer", Name="ext-alb", Subnets=default_subnets(aws)[:2],
                  Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    for port, tg in ((8080, ws), (8081, stat)):
        aws.call("elbv2", "create_listener", LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                 DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    r = asg_create(cli, "--alb", "ext-alb")
    assert r.exit_code == 0, r.stderr
    assert group(aws, "edge")["TargetGroupARNs"] == [ws]
