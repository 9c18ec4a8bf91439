"""One engine for every command (issue 10), under moto, as a user types the commands.

No --yes and no terminal (the test runner's stdin is not a terminal): step commands apply
without asking; `up` asks only when its plan deletes or replaces; `down` always asks.
"""

import json

import pytest
from moto import mock_aws

from awslb import aws as aws_mod
from awslb.aws import Aws
from tests.aws.test_alb import MOTO_AMI, read_back, request_cert, run_server
from tests.conftest import REGION, write
from tests.faults import FailNth

STACK = ["--stack", "card"]


def up_to_date(r) -> bool:
    return r.exit_code == 0 and "up to date" in r.stderr


def ingress_ports(aws: Aws, stack: str, logical_id: str = "lb-sg") -> set[int]:
    groups = aws.call("ec2", "describe_security_groups",
                      Filters=[{"Name": "tag:awslb:stack", "Values": [stack]},
                               {"Name": "tag:awslb:id", "Values": [logical_id]}])["SecurityGroups"]
    [group] = groups
    return {p["FromPort"] for p in group["IpPermissions"] if p.get("FromPort") == p.get("ToPort")}


# -- 1. the card's step commands, typed as written, twice -----------------------------------

def test_the_card_step_commands_apply_without_yes_and_say_up_to_date_the_second_time(cli, aws) -> None:
    run_server(aws)
    request_cert(aws, "media.example.com")
    commands = [
        ["create-alb", "--ws-port", "8080"],
        ["asg", "create", "--template", "edge", "--set", "cdn_point_of_entry=10.0.0.5", "--ami", MOTO_AMI],
        ["listener", "https", "--port", "8443", "--domain", "media.example.com"],
    ]
    for args in commands:
        first = cli(*args, *STACK)
        assert first.exit_code == 0, (args, first.stderr)
        assert "pass --yes" not in first.stderr
        again = cli(*args, *STACK)
        assert up_to_date(again), (args, again.stderr)
    # Each later step kept what the earlier made; an earlier step again changes nothing.
    assert up_to_date(cli("create-alb", "--ws-port", "8080", *STACK))
    ws = read_back(aws, "card")["listeners"]["ws-listener"]
    assert (ws["Protocol"], ws["Port"]) == ("HTTPS", 8443)
    assert ingress_ports(aws, "card") == {8443}


def test_a_bare_step_command_keeps_the_recorded_values(cli, aws) -> None:
    # It used to reset a flag left out to its default: a bare create-alb planned to reopen 8080.
    assert cli("create-alb", "--ws-port", "9090", *STACK).exit_code == 0
    assert up_to_date(cli("create-alb", *STACK))
    assert ingress_ports(aws, "card") == {9090}


def test_an_optional_part_turned_off_deletes_what_it_made(cli, aws) -> None:
    assert cli("create-alb", "--http-port", "8081", *STACK).exit_code == 0
    assert set(read_back(aws, "card")["tg"]) == {"ws-tg", "http-tg"}
    assert up_to_date(cli("create-alb", *STACK))  # left out: kept
    r = cli("create-alb", "--http-port", "0", *STACK)
    assert r.exit_code == 0, r.stderr
    back = read_back(aws, "card")
    assert set(back["tg"]) == {"ws-tg"} and set(back["listeners"]) == {"ws-listener"}
    assert ingress_ports(aws, "card") == {8080}
    assert up_to_date(cli("create-alb", *STACK))


def test_ami_create_touches_the_image_only(cli, aws, calls) -> None:
    run_server(aws)
    assert cli("create-alb", *STACK).exit_code == 0
    # The balancer vanishes behind awslb's back: ami create must not bring it back.
    alb = read_back(aws, "card")["alb"]
    aws.call("elbv2", "delete_load_balancer", LoadBalancerArn=alb["LoadBalancerArn"])
    calls.clear()
    r = cli("ami", "create", "--instance-id", "wcs-configured", *STACK)
    assert r.exit_code == 0, r.stderr
    services = {service for service, _op in calls.mutating}
    assert services == {"ec2"} and ("ec2", "CreateImage") in calls.mutating
    assert ("ec2", "CreateSecurityGroup") not in calls.mutating
    assert read_back(aws, "card")["alb"] is None


# -- 3. replacements are part of the plan ---------------------------------------------------

def test_a_new_ws_port_replaces_the_target_group_and_repoints_the_listener(cli, aws) -> None:
    assert cli("create-alb", *STACK).exit_code == 0
    old_tg = read_back(aws, "card")["tg"]["ws-tg"]["TargetGroupArn"]
    plan = json.loads(cli("--output", "json", "create-alb", "--ws-port", "9090", "--dry-run", *STACK).stdout)
    actions = {(s["action"], s["id"]) for s in plan["steps"]}
    assert {("replace", "ws-tg"), ("update", "ws-listener"), ("delete", "ws-tg")} <= actions
    [step] = [s for s in plan["steps"] if s["action"] == "replace"]
    assert step["reason"].startswith("port: 8080 → 9090")
    r = cli("create-alb", "--ws-port", "9090", *STACK)
    assert r.exit_code == 0, r.stderr
    back = read_back(aws, "card")
    ws, tg = back["listeners"]["ws-listener"], back["tg"]["ws-tg"]
    assert ws["Port"] == 9090 and tg["Port"] == 9090 and tg["TargetGroupArn"] != old_tg
    assert ws["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    assert old_tg not in {g["TargetGroupArn"] for g in aws.call("elbv2", "describe_target_groups")["TargetGroups"]}
    assert ingress_ports(aws, "card") == {9090}
    assert up_to_date(cli("create-alb", *STACK))


def test_replacing_the_balancer_needs_allow_replace_and_is_refused_before_any_write(cli, aws, calls) -> None:
    assert cli("create-alb", *STACK).exit_code == 0
    old = read_back(aws, "card")["alb"]["LoadBalancerArn"]
    calls.clear()
    r = cli("create-alb", "--internal", *STACK)
    assert r.exit_code == 4 and "scheme: internet-facing → internal" in r.stderr and "--allow-replace" in r.stderr
    assert "replace" in r.stderr.split("error:")[0]  # the plan was shown first
    assert calls.mutating == []
    r = cli("create-alb", "--internal", "--allow-replace", *STACK)
    assert r.exit_code == 0, r.stderr
    back = read_back(aws, "card")
    assert back["alb"]["Scheme"] == "internal" and back["alb"]["LoadBalancerArn"] != old
    assert set(back["listeners"]) == {"ws-listener"}
    assert up_to_date(cli("create-alb", *STACK))


def test_a_group_whose_launch_template_is_replaced_moves_to_the_new_one(cli, aws) -> None:
    # The known gap: the plan compared the group's reference with the old template: "no change".
    assert cli("asg", "create", "--template", "edge", "--set", "cdn_point_of_entry=10.0.0.5", "--ami", MOTO_AMI,
               *STACK).exit_code == 0
    r = cli("launch-template", "create", "--name", "edge-renamed", *STACK)
    assert r.exit_code == 0, r.stderr
    templates = aws.call("ec2", "describe_launch_templates")["LaunchTemplates"]
    assert [t["LaunchTemplateName"] for t in templates] == ["edge-renamed"]
    [group] = aws.call("autoscaling", "describe_auto_scaling_groups")["AutoScalingGroups"]
    assert group["LaunchTemplate"]["LaunchTemplateId"] == templates[0]["LaunchTemplateId"]
    assert up_to_date(cli("asg", "create", *STACK))


def test_plan_and_up_agree_on_a_replacement(cli, aws, tmp_path) -> None:
    body = '[stack]\nname = "pa"\n[load_balancer]\nws_port = {port}\n'
    f = write(tmp_path / "s.toml", body.format(port=8080))
    assert cli("up", "-f", str(f)).exit_code == 0  # creates only: no question
    write(f, body.format(port=9090))
    plan = json.loads(cli("--output", "json", "plan", "-f", str(f)).stdout)
    planned = sorted((s["action"], s["id"]) for s in plan["steps"] if s["action"] != "noop")
    r = cli("up", "-f", str(f))  # it replaces: a question, no terminal: exit 2 with the plan
    assert r.exit_code == 2 and "replace" in r.stderr and "--yes" in r.stderr
    r = cli("--output", "json", "up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    done = sorted((s["action"], s["id"]) for s in json.loads(r.stdout)["steps"])
    assert done == planned
    assert "pending" in plan and not json.loads(cli("--output", "json", "plan", "-f", str(f)).stdout)["pending"]


# -- 1. confirmation conventions ------------------------------------------------------------

def test_down_always_asks_and_shows_the_plan_first(cli, aws) -> None:
    assert cli("create-alb", *STACK).exit_code == 0
    r = cli("down", "card")
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert r.stderr.index("plan for stack card") < r.stderr.index("error:")
    assert cli("down", "card", input="card\n").exit_code == 2  # still no terminal
    r = cli("down", "card", "--yes")
    assert r.exit_code == 0, r.stderr
    assert read_back(aws, "card")["alb"] is None


# -- 4. no traffic gap: a failure at each write of `listener https` -------------------------

def _writes_of_listener_https(cli, aws, args) -> int:
    counter = FailNth(10**6)
    with aws_mod.hooked("before-call", counter):
        assert cli(*args).exit_code == 0
    return counter.seen


def test_listener_https_never_leaves_the_listener_behind_a_closed_port(cli, monkeypatch) -> None:
    args = ["listener", "https", "--port", "8443", "--domain", "media.example.com", *STACK]
    with mock_aws():
        aws = Aws(region=REGION)
        request_cert(aws)
        assert cli("create-alb", *STACK).exit_code == 0
        writes = _writes_of_listener_https(cli, aws, args)
    assert writes >= 3  # open 8443, modify the listener, close 8080
    for n in range(writes):
        with mock_aws():
            aws = Aws(region=REGION)
            request_cert(aws)
            monkeypatch.setenv("AWSLB_HOME", f".awslb-{n}")
            assert cli("create-alb", *STACK).exit_code == 0
            fault = FailNth(n)
            with aws_mod.hooked("before-call", fault):
                failed = cli(*args)
            assert failed.exit_code == 1 and fault.failed, (n, failed.stderr)
            ws = read_back(aws, "card")["listeners"]["ws-listener"]
            assert ws["Port"] in ingress_ports(aws, "card"), (n, fault.failed, ws["Port"])
            again = cli(*args)
            assert again.exit_code == 0, (n, again.stderr)
            assert up_to_date(cli(*args)), n
            ws = read_back(aws, "card")["listeners"]["ws-listener"]
            assert (ws["Protocol"], ws["Port"]) == ("HTTPS", 8443) and ingress_ports(aws, "card") == {8443}


# -- 5. the ledger is a cache; down and status look where the stack lives --------------------

@pytest.mark.parametrize("text", ["[]", '{"stack": "someone-else", "resources": {}}', '{"resources": [1]}'])
def test_a_ledger_of_the_wrong_shape_is_one_error_and_down_does_not_need_it(cli, aws, text) -> None:
    assert cli("create-alb", *STACK).exit_code == 0
    path = ".awslb/card.json"
    with open(path, "w") as fh:
        fh.write(text)
    r = cli("create-alb", *STACK)
    assert r.exit_code == 4 and path in r.stderr and "Traceback" not in r.stderr + r.stdout
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error:")]) == 1
    st = cli("status", "card")
    assert st.exit_code == 0 and "alb" in st.stdout
    d = cli("down", "card", "--yes")
    assert d.exit_code == 0, d.stderr
    assert read_back(aws, "card")["alb"] is None


def test_down_and_status_use_the_stacks_recorded_region(cli, moto) -> None:
    assert cli("--region", "eu-west-1", "create-alb", *STACK).exit_code == 0
    st = cli("status", "card")  # AWS_DEFAULT_REGION is us-east-1
    assert st.exit_code == 0 and "in eu-west-1" in st.stdout and "alb" in st.stdout
    d = cli("down", "card", "--yes")
    assert d.exit_code == 0 and "in eu-west-1" in d.stderr, d.stderr
    assert read_back(Aws(region="eu-west-1"), "card")["alb"] is None
