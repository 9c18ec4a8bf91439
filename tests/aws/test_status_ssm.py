"""`awslb status --via direct|ssm|auto`: stat pages read through SSM Run Command (issue 13, part 4).

The world is the one of test_alb_status: emulated instances on 127.0.0.0/16, two of them
serving a real stat page on loopback, the third silent (as a server behind a security group
that admits only the balancer is, seen from a laptop).

What moto lacks, faked here with botocore before-call handlers (and only these two calls):
moto 5 implements SendCommand (the real call is made and recorded) but has neither
ListCommandInvocations nor DescribeInstanceInformation (awslb/moto_gaps.py answers the latter
with AWS's answer for instances without an SSM agent: an empty list), and its instances run no
SSM agent. So `FakeSsm` answers DescribeInstanceInformation with the instances we declare Online, and
ListCommandInvocations (Details) with, for each instance of a command moto recorded, the real
stat page body we give for that instance id as the plugin's output (Status Success), or an
InProgress invocation for an instance declared slow. The script SendCommand carries is run for
real (bash + curl on 127.0.0.1) and checked by shellcheck in the unit tests below.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from awslb import aws as aws_mod
from awslb import statpages
from tests.aws.test_alb_status import loopback_world, serve, stack_file  # noqa: F401  (a fixture)
from tests.conftest import Calls, require_binary
from tests.unit.test_stats import PAGE_1, PAGE_2

# The silent server's page, as SSM brings it back from the server itself.
PAGE_3 = """----Connection Stats----
connections=7
connections_websocket=7
----Stream Stats----
streams_webrtc_in=4
streams_webrtc_out=9
"""


class _Empty:
    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield b""


def _answer(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("https://ssm.invalid/", 200, {}, _Empty()), parsed  # type: ignore[arg-type]


def _api_params(request: dict[str, Any]) -> dict[str, Any]:
    """The call's parameters, from the JSON body of the request botocore built (before-call)."""
    body = request.get("body") or b"{}"
    return json.loads(body.decode() if isinstance(body, bytes) else body)


class FakeSsm:
    """The two SSM calls moto lacks (see the module docstring), answered per instance id."""

    def __init__(self, pages: dict[str, str], online: set[str], slow: frozenset[str] = frozenset(),
                 ping: str = "ConnectionLost") -> None:
        self.pages, self.online, self.slow, self.ping = pages, online, slow, ping
        self.commands: dict[str, list[str]] = {}
        self.sent: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.asked = threading.local()

    def before_send(self, params: dict[str, Any], **kwargs: Any) -> None:
        self.asked.ids = _api_params(params)["InstanceIds"]

    def after_send(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        # The instances asked for: moto adds every instance of the region to a command sent
        # without Targets (AWS runs it on the InstanceIds given, and only there).
        cmd = {**(parsed.get("Command") or {}), "InstanceIds": self.asked.ids}
        with self.lock:
            self.commands[cmd["CommandId"]] = list(cmd["InstanceIds"])
            self.sent.append(cmd)

    def describe(self, params: dict[str, Any], **kwargs: Any) -> Any:
        params = _api_params(params)
        wanted = [v for f in params.get("Filters", []) if f["Key"] == "InstanceIds" for v in f["Values"]]
        known = [i for i in wanted if i in self.pages or i in self.online]
        return _answer({"InstanceInformationList": [
            {"InstanceId": i, "PingStatus": "Online" if i in self.online else self.ping,
             "PlatformType": "Linux"} for i in known]})

    def invocations(self, params: dict[str, Any], **kwargs: Any) -> Any:
        params = _api_params(params)
        assert params.get("Details") is True
        out = []
        for iid in self.commands[params["CommandId"]]:
            if iid in self.slow:
                out.append({"CommandId": params["CommandId"], "InstanceId": iid, "Status": "InProgress",
                            "StatusDetails": "InProgress", "CommandPlugins": []})
                continue
            out.append({"CommandId": params["CommandId"], "InstanceId": iid, "Status": "Success",
                        "StatusDetails": "Success", "CommandPlugins": [
                            {"Name": "aws:runShellScript", "Status": "Success", "ResponseCode": 0,
                             "Output": self.pages.get(iid, "NO PAGE FAKED FOR " + iid)}]})
        return _answer({"CommandInvocations": out})

    @contextmanager
    def installed(self) -> Iterator[FakeSsm]:
        with ExitStack() as stack:
            stack.enter_context(aws_mod.hooked("before-call.ssm.SendCommand", self.before_send))
            stack.enter_context(aws_mod.hooked("after-call.ssm.SendCommand", self.after_send))
            stack.enter_context(aws_mod.hooked("before-call.ssm.DescribeInstanceInformation", self.describe))
            stack.enter_context(aws_mod.hooked("before-call.ssm.ListCommandInvocations", self.invocations))
            yield self


@pytest.fixture
def stack_up(cli, loopback_world, tmp_path) -> dict:  # noqa: F811
    w = loopback_world
    f = stack_file(tmp_path, w)
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    return w


def _targets(stdout: str) -> dict[str, dict]:
    tg = next(x for x in json.loads(stdout)["resources"] if x["id"] == "ws-tg")
    return {t["id"]: t for t in tg["targets"]} | {"_tg": tg}


FIG_1 = {"connections_websocket": 1, "streams_webrtc_in": 1, "streams_webrtc_out": 0}
FIG_2 = {"connections_websocket": 3, "streams_webrtc_in": 2, "streams_webrtc_out": 5}
FIG_3 = {"connections_websocket": 7, "streams_webrtc_in": 4, "streams_webrtc_out": 9}


def test_via_ssm_reads_every_server_by_run_command_and_says_so(cli, stack_up) -> None:
    one, two, silent = stack_up["instances"]
    fake = FakeSsm({one: PAGE_1, two: PAGE_2, silent: PAGE_3}, online={one, two, silent})
    rec = Calls()
    with fake.installed(), aws_mod.hooked("before-call", rec):
        r = cli("--output", "json", "status", "stat", "--via", "ssm")
    assert r.exit_code == 0, r.stderr
    t = _targets(r.stdout)
    assert (t[one]["via"], t[one]["stats"]) == ("ssm", FIG_1)
    assert (t[two]["via"], t[two]["stats"]) == ("ssm", FIG_2)
    assert (t[silent]["via"], t[silent]["stats"]) == ("ssm", FIG_3)
    # One command for the three servers, AWS's shell document, the page read on the server itself.
    assert len(fake.sent) == 1 and sorted(fake.sent[0]["InstanceIds"]) == sorted([one, two, silent])
    assert fake.sent[0]["DocumentName"] == "AWS-RunShellScript"
    assert f"http://127.0.0.1:{stack_up['port']}/?action=stat" in fake.sent[0]["Parameters"]["commands"][0]
    # Read-only but for the one command execution.
    assert rec.mutating == [("ssm", "SendCommand")]

    with fake.installed():
        text = cli("status", "stat", "--via", "ssm")
    assert text.exit_code == 0, text.stderr
    row = next(line for line in text.stdout.splitlines() if f"id={silent}" in line)
    assert "via=ssm" in row and "connections_websocket=7" in row


def test_auto_reads_directly_and_falls_back_to_ssm_for_the_unreachable_one(cli, stack_up) -> None:
    one, two, silent = stack_up["instances"]
    fake = FakeSsm({silent: PAGE_3}, online={one, two, silent})
    with fake.installed():
        r = cli("--output", "json", "status", "stat")          # auto is the default
    assert r.exit_code == 0, r.stderr
    t = _targets(r.stdout)
    assert (t[one]["via"], t[one]["stats"]) == ("direct", FIG_1)
    assert (t[two]["via"], t[two]["stats"]) == ("direct", FIG_2)
    assert (t[silent]["via"], t[silent]["stats"]) == ("ssm", FIG_3)
    assert [c["InstanceIds"] for c in fake.sent] == [[silent]]

    # --via direct: what status always did, no SSM call at all.
    with fake.installed():
        r = cli("--output", "json", "status", "stat", "--via", "direct")
    t = _targets(r.stdout)
    assert (t[silent]["via"], t[silent]["stats"]) == ("direct", "unreachable")
    assert len(fake.sent) == 1


def test_a_server_ssm_does_not_manage_is_named_with_a_true_hint(cli, stack_up) -> None:
    one, two, silent = stack_up["instances"]
    fake = FakeSsm({silent: PAGE_3}, online=set(), ping="ConnectionLost")
    with fake.installed():
        r = cli("--output", "json", "status", "stat")
    assert r.exit_code == 0, r.stderr
    t = _targets(r.stdout)
    assert t[one]["via"] == "direct" and t[silent]["via"] == "none"
    assert t[silent]["stats"] == "unreachable directly; not managed by SSM (agent ConnectionLost)"
    assert any("set launch.ssm = true" in n for n in t["_tg"]["stats_notes"])
    assert fake.sent == []                                     # nothing sent to a server SSM cannot reach

    with fake.installed():
        text = cli("status", "stat", "--via", "ssm")
    assert text.exit_code == 0, text.stderr
    assert "via=none stats=not managed by SSM (agent ConnectionLost)" in text.stdout
    assert "set launch.ssm = true" in text.stdout


def test_without_any_fake_moto_servers_are_not_managed_and_nothing_is_sent(cli, stack_up) -> None:
    # moto_gaps' DescribeInstanceInformation (as in the sandbox): no agent registered anywhere.
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        r = cli("--output", "json", "status", "stat", "--via", "ssm")
    assert r.exit_code == 0, r.stderr
    t = _targets(r.stdout)
    assert {(v["via"], v["stats"]) for k, v in t.items() if k != "_tg"} == {
        ("none", "not managed by SSM (no SSM agent registered)")}
    assert ("ssm", "SendCommand") not in rec.made and rec.mutating == []


def test_send_command_denied_shows_the_code_and_the_callers_permission(cli, stack_up) -> None:
    one, two, silent = stack_up["instances"]
    fake = FakeSsm({silent: PAGE_3}, online={silent})

    def deny(**kwargs: Any) -> None:
        raise aws_mod.client_error("SendCommand", "AccessDeniedException", "not authorized to perform ssm:SendCommand")

    with fake.installed(), aws_mod.hooked("before-call.ssm.SendCommand", deny):
        r = cli("--output", "json", "status", "stat")
    assert r.exit_code == 0, r.stderr
    t = _targets(r.stdout)
    assert (t[silent]["via"], t[silent]["stats"]) == ("none", "unreachable directly; ssm: AccessDeniedException")
    assert t[one]["via"] == "direct"
    note = " ".join(t["_tg"]["stats_notes"])
    assert "SendCommand: AccessDeniedException" in note and "lack ssm:SendCommand" in note

    def deny_describe(**kwargs: Any) -> None:
        raise aws_mod.client_error("DescribeInstanceInformation", "AccessDeniedException", "not authorized")

    with fake.installed(), aws_mod.hooked("before-call.ssm.DescribeInstanceInformation", deny_describe, first=True):
        text = cli("status", "stat", "--via", "ssm")
    assert text.exit_code == 0, text.stderr
    assert "via=none stats=ssm: AccessDeniedException" in text.stdout
    assert "lack ssm:DescribeInstanceInformation" in text.stdout
    assert len(fake.sent) == 0


def test_a_server_still_running_at_the_deadline_is_timed_out_not_waited_for(cli, stack_up) -> None:
    one, two, silent = stack_up["instances"]
    fake = FakeSsm({one: PAGE_1, two: PAGE_2}, online={one, two, silent}, slow=frozenset({silent}))
    with fake.installed():
        r = cli("--output", "json", "status", "stat", "--via", "ssm", "--ssm-wait", "1")
    assert r.exit_code == 0, r.stderr
    t = _targets(r.stdout)
    assert (t[silent]["via"], t[silent]["stats"]) == ("ssm", "timed out via ssm")
    assert (t[one]["via"], t[one]["stats"]) == ("ssm", FIG_1)


@pytest.mark.parametrize("args, flag", [(["--via", "laptop"], "--via"), (["--ssm-wait", "0"], "--ssm-wait")])
def test_a_bad_route_flag_is_one_line_exit_2_and_nothing_sent(cli, args, flag) -> None:
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        r = cli("status", "stat", *args)
    assert r.exit_code == 2 and flag in r.stderr and "Traceback" not in r.stderr
    assert rec.made == []


def test_more_than_50_servers_go_in_batches_of_50(aws) -> None:
    ids = [f"i-{n:017x}" for n in range(1, 121)]
    fake = FakeSsm(dict.fromkeys(ids, PAGE_2), online=set(ids))
    with fake.installed():
        out = statpages.via_ssm(aws, ids, statpages.Page("HTTP", 8081, "/?action=stat"), wait=5)
    assert sorted(len(c["InstanceIds"]) for c in fake.sent) == [20, 50, 50]
    assert {r.via for r in out.values()} == {"ssm"} and all(r.stats == FIG_2 for r in out.values())


def test_polling_waits_for_a_command_ssm_does_not_know_yet_and_reports_a_failed_one(aws) -> None:
    ids = ["i-00000000000000001", "i-00000000000000002"]
    fake = FakeSsm({ids[0]: PAGE_1}, online=set(ids))
    answers = iter(["unknown", "running"])
    invocations = fake.invocations

    def eventually(params: dict[str, Any], **kwargs: Any) -> Any:
        step = next(answers, "done")
        if step == "unknown":    # just accepted: SSM's reads do not know the command yet
            raise aws_mod.client_error("ListCommandInvocations", "InvalidCommandId", "Invalid command id.")
        http, parsed = invocations(params)
        for inv in parsed["CommandInvocations"]:
            if step == "running":
                inv.update(Status="InProgress", CommandPlugins=[])
            elif inv["InstanceId"] == ids[1]:
                inv.update(Status="Failed", StatusDetails="Failed", CommandPlugins=[{"Output": "bash: oops"}])
        return http, parsed

    fake.invocations = eventually  # type: ignore[method-assign]
    naps: list[float] = []
    with fake.installed():
        out = statpages.via_ssm(aws, ids, statpages.Page(), wait=60, sleep=naps.append)
    assert out[ids[0]] == statpages.Reading("ssm", FIG_1)
    assert out[ids[1]] == statpages.Reading("ssm", "ssm command Failed (bash: oops)")
    assert len(naps) == 2                       # two polls found nothing final, the third did


# -- the script SSM runs on the servers -------------------------------------------------------

def test_the_script_passes_shellcheck() -> None:
    exe = require_binary("shellcheck")
    body = statpages.script(statpages.Page("HTTPS", 8444, "/?action=stat"))
    r = subprocess.run([exe, "-s", "bash", "-"], input="#!/bin/bash\n" + body, text=True, capture_output=True,
                       check=False)
    assert r.returncode == 0, r.stdout


def test_the_script_reads_a_real_page_on_loopback_and_reports_a_closed_port() -> None:
    server = serve("127.0.0.1", 0, PAGE_1)
    port = server.server_address[1]
    try:
        body = statpages.script(statpages.Page("HTTP", port, "/?action=stat"))
        out = subprocess.run(["bash", "-c", body], text=True, capture_output=True, check=True, timeout=30).stdout
        assert statpages.parse_output(out) == FIG_1
        assert "ports_media_free" not in out                       # only the figure lines come back
    finally:
        server.shutdown()
        server.server_close()
    closed = statpages.script(statpages.Page("HTTP", port, "/?action=stat"))
    out = subprocess.run(["bash", "-c", closed], text=True, capture_output=True, check=True, timeout=30).stdout
    reason = statpages.parse_output(out)
    assert isinstance(reason, str) and reason.startswith("no stat page on the server (curl:")


@pytest.mark.parametrize("path", ["/?action=stat'; reboot; '", "/$(reboot)", "/x\n", "stat", "/a b"])
def test_a_path_no_script_may_carry_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="not a stat page address"):
        statpages.script(statpages.Page("HTTP", 8081, path))


def test_a_health_check_path_no_script_may_carry_sends_nothing(aws) -> None:
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        out, notes = statpages.read(aws, ["i-00000000000000001"], "ssm", direct=dict,
                                    page=statpages.Page("HTTP", 8081, "/?action=stat'; reboot #"))
    assert out["i-00000000000000001"].via == "none"
    assert str(out["i-00000000000000001"].stats).startswith("not read via ssm: not a stat page address")
    assert rec.made == [] and notes == []
