"""What awslb appends to the user-data of a group with a warm pool: the launch hook's completion.

AWS stops a warm-pool instance once its launch lifecycle action completes (or at once, with
no hook), without waiting for its user-data; and cloud-init runs user-data once per
instance, on its first boot only. So the group has a launch hook (``awslb-launch``), and the
user-data installs a systemd unit that completes it on *every* boot, after the configuration
that must hold on every boot: on the first boot (entering the warm pool configured) and on
each start from the pool (entering service), where no user-data runs.

The unit asks IMDSv2 for the instance id and region, and completes the action with the AWS
CLI when the image has one, else with boto3 (the awslb agent's virtualenv has it). A boot
with no pending action gets a ValidationError from AWS, which is logged and ignored. When
neither is installed, the hook's timeout ABANDONs the launch: no half-configured server
enters service.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from awslb.errors import InputError
from awslb.spec import StackSpec
from awslb.userdata import USERDATA_LIMIT

UNIT = "awslb-launch-hook.service"
SCRIPT = "/usr/local/sbin/awslb-launch-hook"

_BODY = r"""
# --- awslb: complete the launch lifecycle hook on every boot (warm pool safe) ---
awslb_launch_hook_install() {
  cat > __SCRIPT__ <<'AWSLB_HOOK'
#!/bin/bash
# Completes the Auto Scaling launch lifecycle action of this instance (awslb).
set -u
GROUP=__GROUP__
HOOK=__HOOK__
imds() {
  curl -sf -m 2 -H "X-aws-ec2-metadata-token: $TOKEN" "http://169.254.169.254/latest/meta-data/$1"
}
TOKEN=$(curl -sf -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) || exit 0
IID=$(imds instance-id) || exit 0
REGION=$(imds placement/region) || exit 0
if command -v aws >/dev/null 2>&1; then
  aws --region "$REGION" autoscaling complete-lifecycle-action --auto-scaling-group-name "$GROUP" \
    --lifecycle-hook-name "$HOOK" --instance-id "$IID" --lifecycle-action-result CONTINUE || true
  exit 0
fi
for py in /opt/awslb-agent/bin/python3 python3; do
  if "$py" -c 'import boto3' >/dev/null 2>&1; then
    "$py" -c 'import sys, boto3
c = boto3.client("autoscaling", region_name=sys.argv[1])
try:
    c.complete_lifecycle_action(AutoScalingGroupName=sys.argv[2], LifecycleHookName=sys.argv[3],
                                InstanceId=sys.argv[4], LifecycleActionResult="CONTINUE")
except Exception as exc:
    print("awslb-launch-hook:", exc)' "$REGION" "$GROUP" "$HOOK" "$IID"
    exit 0
  fi
done
echo "awslb-launch-hook: neither the AWS CLI nor boto3 is installed: the hook times out (ABANDON)" >&2
AWSLB_HOOK
  chmod 0755 __SCRIPT__
  cat > /etc/systemd/system/__UNIT__ <<'AWSLB_UNIT'
[Unit]
Description=awslb: complete the Auto Scaling launch lifecycle action on every boot
Wants=network-online.target
After=network-online.target multi-user.target

[Service]
Type=oneshot
ExecStart=__SCRIPT__

[Install]
WantedBy=multi-user.target
AWSLB_UNIT
  systemctl daemon-reload
  systemctl enable __UNIT__
  systemctl start __UNIT__
}
awslb_launch_hook_install
"""


def footer(group: str, hook: str) -> str:
    """The shell text appended at the end of the user-data (the last thing it does)."""
    return (_BODY.replace("__SCRIPT__", SCRIPT).replace("__UNIT__", UNIT)
            .replace("__GROUP__", shlex.quote(group)).replace("__HOOK__", shlex.quote(hook)))


# Names that go into the agent's systemd ExecStart line unquoted: no space, quote, % or $.
AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,254}")


def agent_vars(spec: StackSpec) -> dict[str, Any]:
    """The agent's fleet flags for the stack: drain on scale-in, media metrics (or {})."""
    from awslb.resources.autoscaling_group import DRAIN_HOOK, group_name
    from awslb.resources.iam_role import MEDIA_METRICS

    asg = spec.autoscaling
    if asg is None or (asg.drain is None and asg.metric not in MEDIA_METRICS):
        return {}
    group = group_name(spec)
    if not AGENT_NAME.fullmatch(group):
        raise InputError(f"autoscaling.name: the agent's group name must be letters, digits and _.@+=- only: "
                         f"{group!r}")
    out: dict[str, Any] = {}
    if asg.drain is not None:
        out.update(agent_lifecycle_hook=DRAIN_HOOK, agent_group=group, agent_max_drain=asg.drain.max_time,
                   agent_heartbeat=asg.drain.heartbeat)
    if asg.metric in MEDIA_METRICS:
        out["agent_metrics_group"] = group
    return out


def fleet_userdata(script: str | None, spec: StackSpec) -> str | None:
    """``script`` with what the fleet needs appended: the agent running with its fleet flags
    (drain, metrics), and the launch hook's boot unit; unchanged when the stack needs neither."""
    from awslb.render import render
    from awslb.resources.autoscaling_group import LAUNCH_HOOK, group_name
    from awslb.resources.iam_role import launch_hook_used

    if script is None:
        return script
    out = script.rstrip("\n") + "\n"
    fleet = agent_vars(spec)
    if fleet:
        out += "\n" + render("userdata/partials/agent.sh.j2", **fleet).rstrip("\n") + "\n"
    if launch_hook_used(spec):
        out += footer(group_name(spec), LAUNCH_HOOK)
    if len(out.encode()) > USERDATA_LIMIT:
        raise InputError(f"launch.userdata: with the fleet's agent and boot unit the script is "
                         f"{len(out.encode())} bytes; EC2 user-data is limited to {USERDATA_LIMIT}")
    return out
