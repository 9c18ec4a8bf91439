"""The fleet's kinds under moto: instance role + profile, DNS role, function, rule (+ target and
permission); `dns sync`; `down` leaves no role, profile, function, rule, hook or record.

Faults at every new write are covered by tests/aws/test_reliability.py, which runs its matrix
over every examples/*.toml, examples/fleet-dns.toml included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from awslb import aws as aws_mod
from awslb.aws import Aws
from awslb.node import dns_handler
from awslb.sandbox import seed_account
from tests.conftest import REGION, ROOT, Calls

EXAMPLE = ROOT / "examples" / "fleet-dns.toml"
STACK = "fleet"


def boto(service: str):  # noqa: ANN201 - a raw client on the same mock
    return Aws(region=REGION).client(service)


def test_up_makes_roles_function_rule_and_down_leaves_nothing(cli, moto) -> None:
    seeded = seed_account(Aws(region=REGION))
    r = cli("up", "-f", str(EXAMPLE), "--yes")
    assert r.exit_code == 0, r.stderr
    iam = boto("iam")

    # The instance role: EC2 trust, its own group only, metrics only in awslb/Media.
    role = iam.get_role(RoleName="fleet-instance-role")["Role"]
    assert role["Path"] == "/awslb/fleet/"
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    doc = iam.get_role_policy(RoleName="fleet-instance-role", PolicyName="awslb")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    by_sid = {st["Sid"]: st for st in doc["Statement"]}
    assert by_sid["OwnGroupLifecycle"]["Resource"].endswith(":autoScalingGroupName/fleet-asg")
    assert sorted(by_sid["OwnGroupLifecycle"]["Action"]) == [
        "autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat",
        "autoscaling:SetInstanceProtection"]
    assert by_sid["MediaMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "awslb/Media"}}
    assert iam.list_attached_role_policies(RoleName="fleet-instance-role")["AttachedPolicies"] == []
    [profile] = iam.list_instance_profiles_for_role(RoleName="fleet-instance-role")["InstanceProfiles"]

    # The launch template launches with that profile.
    [version] = boto("ec2").describe_launch_template_versions(
        LaunchTemplateName="fleet-launch-template", Versions=["$Default"])["LaunchTemplateVersions"]
    assert version["LaunchTemplateData"]["IamInstanceProfile"] == {"Arn": profile["Arn"]}

    # The DNS role: Lambda trust, changes in the one zone only.
    doc = iam.get_role_policy(RoleName="fleet-dns-role", PolicyName="awslb")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    zone = {st["Sid"]: st for st in doc["Statement"]}["RecordsInTheZone"]["Resource"]
    assert zone == f"arn:aws:route53:::hostedzone/{seeded['zone']}"

    # Re-run: nothing to do.
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        again = cli("up", "-f", str(EXAMPLE), "--yes")
    assert again.exit_code == 0 and rec.mutating == [], rec.mutating

    # `dns sync` gives the in-service server its record; status shows it.
    dry = cli("dns", "sync", STACK, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "would CREATE" in dry.stdout
    done = cli("--output", "json", "dns", "sync", STACK)
    assert done.exit_code == 0, done.stderr
    made = json.loads(done.stdout)["changes"]
    assert [c["action"] for c in made] == ["CREATE"]
    assert json.loads(cli("--output", "json", "dns", "sync", STACK).stdout)["changes"] == []
    status = json.loads(cli("--output", "json", "status", STACK).stdout)
    fn = next(x for x in status["resources"] if x["kind"] == "dns_function")
    assert made[0]["record"] in fn["records"] and made[0]["instance_id"] in fn["records"]

    # down: the records go with the function; no role, profile, function, rule or permission left.
    zone_id = zone.rsplit("/", 1)[-1]
    assert cli("down", STACK, "--yes").exit_code == 0
    left = boto("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert {s["Type"] for s in left} == {"NS", "SOA"}
    assert [r for r in iam.list_roles(PathPrefix="/awslb/")["Roles"]] == []
    assert iam.list_instance_profiles(PathPrefix="/awslb/")["InstanceProfiles"] == []
    assert boto("lambda").list_functions()["Functions"] == []
    assert boto("events").list_rules()["Rules"] == []
    assert boto("scheduler").list_schedule_groups(NamePrefix="fleet-")["ScheduleGroups"] == []


def test_down_keeps_records_of_other_stacks_servers(cli, moto) -> None:
    seeded = seed_account(Aws(region=REGION))
    assert cli("up", "-f", str(EXAMPLE), "--yes").exit_code == 0
    # A marked record of a running server of no stack of ours (the seeded one): not provably ours.
    r53 = boto("route53")
    zone = seeded["zone"]
    other = dns_handler.Config(zone_id=zone, naming=dns_handler.dns.Naming("media.media.example.com",
                                                                            "{instance_id}"))
    dns_handler.converge(r53, other, {seeded["instance"]: "10.0.0.9"})
    assert cli("down", STACK, "--yes").exit_code == 0
    names = {s["Name"] for s in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]}
    assert f"{seeded['instance']}.media.media.example.com." in names


def test_launch_configuration_and_ssm_use_the_profile(cli, moto, monkeypatch, tmp_path: Path) -> None:
    seed_account(Aws(region=REGION))
    iam = boto("iam")
    # moto has AWS's managed policies only when asked; AWS always has this one.
    iam.create_policy(PolicyName="AmazonSSMManagedInstanceCore", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:UpdateInstanceInformation",
                                                 "Resource": "*"}]}))
    arn = f"arn:aws:iam::{boto('sts').get_caller_identity()['Account']}:policy/AmazonSSMManagedInstanceCore"
    monkeypatch.setattr("awslb.resources.iam_role.managed_arn", lambda region, name: arn)
    stack = tmp_path / "lc.toml"
    stack.write_text('[stack]\nname = "lc"\n[image]\nid = "ami-1e749f67"\n'
                     '[launch]\nkind = "config"\nuserdata = "none"\nssm = true\n'
                     '[autoscaling]\nmin = 0\nmax = 2\npolicy = "none"\n')
    r = cli("up", "-f", str(stack), "--yes")
    assert r.exit_code == 0, r.stderr
    attached = iam.list_attached_role_policies(RoleName="lc-instance-role")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [arn]
    # No inline policy: nothing but SSM was asked for.
    assert iam.list_role_policies(RoleName="lc-instance-role")["PolicyNames"] == []
    [lc] = boto("autoscaling").describe_launch_configurations()["LaunchConfigurations"]
    [profile] = iam.list_instance_profiles_for_role(RoleName="lc-instance-role")["InstanceProfiles"]
    assert lc["IamInstanceProfile"] in (profile["Arn"], profile["InstanceProfileName"])
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        assert cli("up", "-f", str(stack), "--yes").exit_code == 0
    assert rec.mutating == []
    assert cli("down", "lc", "--yes").exit_code == 0
    assert iam.list_roles(PathPrefix="/awslb/")["Roles"] == []
    assert iam.list_instance_profiles(PathPrefix="/awslb/")["InstanceProfiles"] == []


def test_a_stack_that_enables_nothing_has_no_role(cli, moto) -> None:
    seed_account(Aws(region=REGION))
    r = cli("up", "-f", str(ROOT / "examples" / "alb-autoscaling-edge.toml"), "--yes")
    assert r.exit_code == 0, r.stderr
    assert boto("iam").list_roles(PathPrefix="/awslb/")["Roles"] == []


def test_a_half_made_profile_is_finished_and_then_deleted(cli, moto) -> None:
    # Interrupted between CreateInstanceProfile and AddRoleToInstanceProfile.
    from tests.faults import FailNth

    seed_account(Aws(region=REGION))
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        assert cli("up", "-f", str(EXAMPLE), "--yes").exit_code == 0
    writes = [op for _, op in rec.mutating]
    n = writes.index("AddRoleToInstanceProfile")
    assert cli("down", STACK, "--yes").exit_code == 0
    with aws_mod.hooked("before-call", FailNth(n)):
        assert cli("up", "-f", str(EXAMPLE), "--yes").exit_code == 1
    assert cli("up", "-f", str(EXAMPLE), "--yes").exit_code == 0
    [profile] = boto("iam").list_instance_profiles_for_role(RoleName="fleet-instance-role")["InstanceProfiles"]
    assert profile["InstanceProfileName"] == "fleet-instance-role"
    assert cli("down", STACK, "--yes").exit_code == 0
    assert boto("iam").list_instance_profiles(PathPrefix="/awslb/")["InstanceProfiles"] == []


@pytest.mark.parametrize(("body", "key"), [
    ('[dns]\nzone = "media.example.com"\n', "dns"),
    ('[dns]\nzone = "not a zone"\n', "dns.zone"),
    ('[dns]\nzone = "media.example.com"\nrecord = "edge"\n', "dns.record"),
    ('[dns]\nzone = "media.example.com"\nwebhook_url = "https://h.example.com/x"\n', "dns.webhook_secret_file"),
    ('[dns]\nzone = "media.example.com"\nwebhook_url = "http://h.example.com/x"\nwebhook_secret_env = "S"\n',
     "dns.webhook_url"),
])
def test_bad_dns_sections_name_the_key(cli, tmp_path: Path, calls, body: str, key: str) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[stack]\nname = "x"\n' + body)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4, r.stderr
    assert key in r.stderr and "Traceback" not in r.stderr
    assert calls.mutating == []


def test_a_missing_webhook_secret_is_refused_before_any_write(cli, moto, calls, tmp_path: Path) -> None:
    seed_account(Aws(region=REGION))
    calls.clear()
    f = tmp_path / "s.toml"
    f.write_text(EXAMPLE.read_text() + 'webhook_url = "https://hooks.example.com/media"\n'
                 'webhook_secret_env = "AWSLB_TEST_NO_SUCH_SECRET"\n')
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4 and "dns.webhook_secret_env" in r.stderr, r.stderr
    assert calls.mutating == []


def test_the_webhook_secret_reaches_the_function_and_nowhere_else(cli, moto, monkeypatch, tmp_path: Path) -> None:
    seed_account(Aws(region=REGION))
    secret = "s3cret-s3cret-s3cret"
    (tmp_path / "secret").write_text(secret + "\n")
    f = tmp_path / "s.toml"
    f.write_text(EXAMPLE.read_text() + 'webhook_url = "https://hooks.example.com/media"\n'
                 f'webhook_secret_file = "{tmp_path / "secret"}"\n')
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    env = boto("lambda").get_function_configuration(FunctionName="fleet-dns")["Environment"]["Variables"]
    assert env["WEBHOOK_SECRET"] == secret and env["WEBHOOK_URL"] == "https://hooks.example.com/media"
    ledger = "".join(p.read_text() for p in (tmp_path / ".awslb").rglob("*") if p.is_file())
    assert secret not in ledger and secret not in r.stdout + r.stderr
    # A new secret updates the function's configuration, nothing else.
    (tmp_path / "secret").write_text("another-secret-of-length\n")
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert [op for _, op in rec.mutating] == ["UpdateFunctionConfiguration"]
    assert cli("down", STACK, "--yes").exit_code == 0


def test_hooks_metric_policy_and_boot_unit(cli, moto, tmp_path: Path) -> None:
    import base64

    seed_account(Aws(region=REGION))
    assert cli("up", "-f", str(EXAMPLE), "--yes").exit_code == 0
    asg = boto("autoscaling")
    hooks = {h["LifecycleHookName"]: h for h in
             asg.describe_lifecycle_hooks(AutoScalingGroupName="fleet-asg")["LifecycleHooks"]}
    assert hooks["awslb-drain"]["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    assert (hooks["awslb-drain"]["HeartbeatTimeout"], hooks["awslb-drain"]["DefaultResult"]) == (300, "CONTINUE")
    assert hooks["awslb-launch"]["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING"
    assert hooks["awslb-launch"]["DefaultResult"] == "ABANDON"
    [policy] = asg.describe_policies(AutoScalingGroupName="fleet-asg")["ScalingPolicies"]
    metric = policy["TargetTrackingConfiguration"]["CustomizedMetricSpecification"]
    assert (metric["Namespace"], metric["MetricName"], metric["Period"]) == ("awslb/Media", "Viewers", 10)
    assert policy["TargetTrackingConfiguration"]["TargetValue"] == 200
    # The user-data installs the unit that completes the launch hook on every boot.
    [version] = boto("ec2").describe_launch_template_versions(
        LaunchTemplateName="fleet-launch-template", Versions=["$Default"])["LaunchTemplateVersions"]
    script = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
    assert "awslb-launch-hook.service" in script and "HOOK=awslb-launch" in script and "GROUP=fleet-asg" in script
    # ...and runs the agent with the drain hook and the media metrics of the group.
    assert ("--lifecycle-hook awslb-drain --group fleet-asg --max-drain 3600 --heartbeat 300 "
            "--metrics-group fleet-asg") in script

    # The warm pool's off-peak state: an EventBridge Scheduler schedule calling PutWarmPool, as the
    # stack's schedule role (PutWarmPool on the stack's group only).
    sched = boto("scheduler")
    [group] = sched.list_schedule_groups(NamePrefix="fleet-")["ScheduleGroups"]
    [entry] = sched.list_schedules(GroupName=group["Name"])["Schedules"]
    full = sched.get_schedule(Name=entry["Name"], GroupName=group["Name"])
    assert full["ScheduleExpression"] == "cron(0 12 * * ? *)"
    assert full["Target"]["Arn"] == "arn:aws:scheduler:::aws-sdk:autoscaling:putWarmPool"
    assert json.loads(full["Target"]["Input"]) == {"AutoScalingGroupName": "fleet-asg", "PoolState": "Stopped",
                                                   "MinSize": 1, "MaxGroupPreparedCapacity": 4}
    assert full["Target"]["RoleArn"].endswith(":role/awslb/fleet/fleet-schedule-role")

    # Seed 003's peak hours as scheduled actions on the group.
    actions = {a["ScheduledActionName"]: a for a in asg.describe_scheduled_actions(
        AutoScalingGroupName="fleet-asg")["ScheduledUpdateGroupActions"]}
    assert sorted(actions) == ["awslb-off-peak", "awslb-peak"]
    assert (actions["awslb-peak"]["Recurrence"], actions["awslb-peak"]["MinSize"]) == ("0 11 * * *", 3)

    # No drain any more: the drain hook goes, the launch hook stays; then a re-run does nothing.
    f = tmp_path / "s.toml"
    f.write_text(EXAMPLE.read_text().replace("[autoscaling.drain]", "[unused]").replace(
        "max_time = 3600", "").replace("heartbeat = 300", ""))
    f.write_text(f.read_text().replace("[unused]", ""))
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    names = [h["LifecycleHookName"] for h in asg.describe_lifecycle_hooks(AutoScalingGroupName="fleet-asg")[
        "LifecycleHooks"]]
    assert names == ["awslb-launch"]
    # One schedule entry fewer: its action goes.
    f.write_text(f.read_text().replace('name = "off-peak"\ncron = "0 12 * * *"\nmin = 1\nwarm_pool = "stopped"\n',
                                       "").replace("[[autoscaling.schedule]]\n\n", ""))
    assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert [a["ScheduledActionName"] for a in asg.describe_scheduled_actions(
        AutoScalingGroupName="fleet-asg")["ScheduledUpdateGroupActions"]] == ["awslb-peak"]
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        assert cli("up", "-f", str(f), "--yes").exit_code == 0
    assert rec.mutating == []
    assert cli("down", STACK, "--yes").exit_code == 0


@pytest.mark.parametrize(("extra", "key"), [
    ("[autoscaling.drain]\nmax_time = 40000\nheartbeat = 300\n", "autoscaling.drain.max_time"),
    ('[autoscaling]\nmin = 0\nmetric = "viewers"\n', "autoscaling.target"),
    ('[autoscaling]\nmin = 0\n[[autoscaling.schedule]]\nname = "peak"\ncron = "0 11 * * *"\n',
     "autoscaling.schedule.0.desired"),
    ('[autoscaling]\nmin = 0\n[[autoscaling.schedule]]\nname = "peak"\ncron = "0 11 * *"\ndesired = 2\n',
     "autoscaling.schedule.0.cron"),
])
def test_bad_fleet_keys_name_the_key(cli, tmp_path: Path, calls, extra: str, key: str) -> None:
    f = tmp_path / "s.toml"
    base = '[stack]\nname = "x"\n[image]\nid = "ami-1e749f67"\n[launch]\nuserdata = "none"\n'
    if not extra.startswith("[autoscaling]"):
        base += "[autoscaling]\nmin = 0\n"
    f.write_text(base + extra)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4, r.stderr
    assert key in r.stderr and "Traceback" not in r.stderr
    assert calls.mutating == []


def test_a_drain_longer_than_the_balancer_allows_is_refused(cli, tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[stack]\nname = "x"\n[image]\nid = "ami-1e749f67"\n[launch]\nuserdata = "none"\n'
                 '[load_balancer]\nderegistration_delay = 900\n'
                 '[autoscaling]\nmin = 0\n[autoscaling.drain]\nmax_time = 600\n')
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 4 and "load_balancer.deregistration_delay" in r.stderr, r.stderr


def test_the_drainers_admin_state_switches_the_agents_verdict() -> None:
    from awslb.node import agent

    a = agent.Agent("http://127.0.0.1:9/")
    a.set(agent.Verdict("up", 60, "cpu at 40%"))
    assert a.reply == b"up ready 60%\n"
    a.set_admin("drain")  # what lifecycle.Drainer calls when the group terminates the server
    assert a.reply.startswith(b"up drain")
    a.set(agent.Verdict("up", 90, "idle"))  # a new sample does not undo the drain
    assert a.reply.startswith(b"up drain")
    a.set_admin("ready")
    a.set(agent.Verdict("up", 90, "idle"))
    assert a.reply == b"up ready 90%\n"
    with pytest.raises(ValueError):
        a.set_admin("maint")


@pytest.mark.parametrize(("args", "flag"), [
    (["--lifecycle-hook", "awslb-drain"], "--lifecycle-hook"),
    (["--lifecycle-hook", "awslb-drain", "--group", "g", "--max-drain", "40000", "--heartbeat", "300"],
     "--max-drain"),
    (["--metrics-group", "a b"], "--metrics-group"),
    (["--group", "x;y", "--lifecycle-hook", "h"], "--group"),
])
def test_agent_fleet_flags_are_checked_before_serving(cli, args: list[str], flag: str) -> None:
    r = cli("agent", "serve", "--port", "1", *args)
    assert r.exit_code == 2 and flag in r.stderr, r.stderr
