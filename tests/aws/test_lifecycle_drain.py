"""Scale-in that waits for sessions (awslb.node.lifecycle), against a fake instance metadata
service and a fake WCS stat page, both real HTTP servers on loopback, and moto's Auto Scaling.

moto 5.2 lacks CompleteLifecycleAction and RecordLifecycleActionHeartbeat: both are faked
with a botocore before-call handler that records the call and answers as AWS does (an empty
200). SetInstanceProtection is moto's own.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awslb.node.lifecycle import Drainer, Hook, Imds, stat_sessions

REGION = "us-east-1"
GROUP = "wcs-edge-asg"
HOOK = "awslb-drain"


class Fake(http.server.BaseHTTPRequestHandler):
    """IMDSv2 (token, then reads with it) and the WCS stat page, on one loopback server."""

    target_state: str | None = "InService"
    stat: str | None = "streams_webrtc_in=1\nstreams_webrtc_out=3\nstreams_hls=0\n"
    token = "tok-123"

    def do_PUT(self) -> None:  # noqa: N802
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._answer(200, self.token)
        else:
            self._answer(400, "")

    def do_GET(self) -> None:  # noqa: N802
        cls = type(self)
        if self.path.startswith("/latest/meta-data/"):
            if self.headers.get("X-aws-ec2-metadata-token") != self.token:
                self._answer(401, "")
            elif self.path.endswith("autoscaling/target-lifecycle-state") and cls.target_state:
                self._answer(200, cls.target_state)
            else:
                self._answer(404, "")
        elif self.path.startswith("/?action=stat") and cls.stat is not None:
            self._answer(200, "----Streams----\n" + cls.stat)
        else:
            self._answer(503, "")

    def _answer(self, code: int, body: str) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[str]:
    Fake.target_state, Fake.stat = "InService", "streams_webrtc_in=1\nstreams_webrtc_out=3\n"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def group() -> Iterator[tuple[Any, str, list[tuple[str, dict[str, Any]]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        asg = boto3.client("autoscaling", region_name=REGION)
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId=ami, InstanceType="t3.micro")
        asg.create_auto_scaling_group(AutoScalingGroupName=GROUP, LaunchConfigurationName="lc", MinSize=1,
                                      MaxSize=2, AvailabilityZones=[f"{REGION}a"])
        iid = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]

        def missing_in_moto(model: Any, params: Any, **kw: Any) -> Any:
            if model.name in ("CompleteLifecycleAction", "RecordLifecycleActionHeartbeat"):
                from botocore.awsrequest import AWSResponse

                calls.append((model.name, dict(kw.get("context", {}).get("params", {}) or {})))
                return AWSResponse("https://autoscaling.amazonaws.com/", 200, {}, None), {}
            return None

        def keep_params(params: dict[str, Any], model: Any, context: dict[str, Any], **kw: Any) -> None:
            context["params"] = dict(params)

        asg.meta.events.register("before-parameter-build.autoscaling", keep_params)
        asg.meta.events.register("before-call.autoscaling", missing_in_moto)
        yield asg, iid, calls


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def protected(asg: Any, iid: str) -> bool:
    return asg.describe_auto_scaling_instances(InstanceIds=[iid])["AutoScalingInstances"][0]["ProtectedFromScaleIn"]


def make(fake: str, group: Any, clock: Clock, admin: list[str], **hook: Any) -> Drainer:
    asg, iid, _ = group
    return Drainer(Hook(GROUP, HOOK, iid, heartbeat_timeout=60, **hook), Imds(fake, timeout=1.0), asg,
                   stat_sessions(f"{fake}/?action=stat", 1.0), admin.append, clock=clock)


def test_sessions_falling_to_zero_complete_the_action(fake: str, group: Any) -> None:
    asg, iid, calls = group
    clock, admin = Clock(), []
    d = make(fake, group, clock, admin, max_drain=600)
    d.tick()
    assert protected(asg, iid) is True  # busy: kept out of scale-in
    Fake.target_state = "Terminated"
    d.tick()
    assert admin == ["drain"] and calls == []
    clock.now += 31  # past half the heartbeat timeout: one heartbeat
    d.tick()
    assert [c[0] for c in calls] == ["RecordLifecycleActionHeartbeat"]
    assert calls[0][1] == {"LifecycleHookName": HOOK, "AutoScalingGroupName": GROUP, "InstanceId": iid}
    Fake.stat = "streams_webrtc_in=0\nstreams_webrtc_out=0\nstreams_hls=0\n"
    clock.now += 5
    d.tick()
    assert [c[0] for c in calls] == ["RecordLifecycleActionHeartbeat", "CompleteLifecycleAction"]
    assert calls[1][1]["LifecycleActionResult"] == "CONTINUE"
    assert d.done == "no sessions left"
    d.tick()
    assert len(calls) == 2  # completed once


def test_the_maximum_drain_time_completes_it_anyway(fake: str, group: Any) -> None:
    _, _, calls = group
    clock, admin = Clock(), []
    d = make(fake, group, clock, admin, max_drain=120)
    Fake.target_state = "Terminated"
    Fake.stat = None  # the stat page stops answering: sessions unknown, never taken for zero
    d.tick()
    for _ in range(3):
        clock.now += 35
        d.tick()
    assert d.done is None and {c[0] for c in calls} == {"RecordLifecycleActionHeartbeat"}
    clock.now += 35
    d.tick()
    assert calls[-1][0] == "CompleteLifecycleAction"
    assert d.done == "maximum drain time reached with unknown session(s)"


def test_a_silent_metadata_service_never_completes_early(group: Any) -> None:
    _, _, calls = group
    clock, admin = Clock(), []
    # Nothing listens on this loopback port: every metadata read fails.
    d = Drainer(Hook(GROUP, HOOK, group[1], heartbeat_timeout=60, max_drain=60), Imds("http://127.0.0.1:9", 0.2),
                group[0], lambda: 0, admin.append, protect=False, clock=clock)
    for _ in range(5):
        clock.now += 100
        d.tick()
    assert calls == [] and admin == [] and d.done is None


def test_idle_servers_lose_their_protection(fake: str, group: Any) -> None:
    asg, iid, _ = group
    clock, admin = Clock(), []
    d = make(fake, group, clock, admin)
    d.tick()
    assert protected(asg, iid) is True
    Fake.stat = "streams_webrtc_in=0\nstreams_webrtc_out=0\n"
    d.tick()
    assert protected(asg, iid) is False


@pytest.mark.parametrize("heartbeat, max_drain", [(60, 6001), (300, 0), (3600, 48 * 3600 + 1)])
def test_a_drain_longer_than_the_hook_can_wait_is_refused(heartbeat: float, max_drain: float) -> None:
    with pytest.raises(ValueError, match="longer than the hook can wait"):
        Hook(GROUP, HOOK, "i-0123456789abcdef0", heartbeat_timeout=heartbeat, max_drain=max_drain).check()
