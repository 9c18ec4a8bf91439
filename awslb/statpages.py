"""Reading the servers' stat pages by a route that reaches them: direct, or SSM Run Command.

The stat page (``:8081/?action=stat``) is open only to the balancer's security group, so
from a laptop a direct GET finds every server "unreachable". SSM Run Command reaches a
server from the inside instead: ``ssm:SendCommand`` with AWS's ``AWS-RunShellScript``
document runs a short script on each server that GETs the page from 127.0.0.1 (curl, or
wget) with a short timeout and prints only the figure lines; ``ListCommandInvocations``
(``Details``) brings the output back, polled until a bounded deadline. The output is parsed
by the stat page parser the servers' side uses (:mod:`awslb.node.stats`).

Routes (``awslb status --via``):

- ``direct``: the GET from this machine only (what status always did);
- ``ssm``: SSM only, for every server SSM manages (``DescribeInstanceInformation`` shows its
  agent Online); the others are reported "not managed by SSM";
- ``auto`` (default): direct first; the servers it cannot reach and SSM manages are read
  via SSM.

Why SSM and not the agent: the agent (awslb/node/agent.py) answers HAProxy's agent-check on a
port HAProxy alone may reach, and says only up/down/drain and a weight; reading figures
through it would mean one more port open to wherever status runs. SSM needs no inbound port
at all (the servers' SSM agent calls out), and IAM says who may run it.

Every server's row says which route its figures came from (``via``: direct, ssm, or none
with the reason). SendCommand is not a change to any resource: it runs a read-only command
on the servers, and it is the only call status makes that is not a Describe/List/Get. It
needs the caller's ``ssm:SendCommand`` on the instances and the document, and the servers
need an instance profile with ``AmazonSSMManagedInstanceCore`` (``[launch] ssm = true``)
and a running SSM agent.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from awslb.errors import AwsError
from awslb.node import stats

ROUTES = ("auto", "direct", "ssm")
DOCUMENT = "AWS-RunShellScript"
BATCH = 50                      # SendCommand takes at most 50 instance ids
DEFAULT_WAIT = 20.0             # seconds status waits for the servers' answers
SCRIPT_TIMEOUT = 5              # seconds the server's own GET may take
# Statuses of a command invocation that are final (the others: Pending, InProgress, Delayed, Cancelling).
FINAL = {"Success", "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated", "DeliveryTimedOut",
         "ExecutionTimedOut", "InvalidPlatform", "AccessDenied"}
ERROR_KEY = "awslb_error"
TIMED_OUT = "timed out via ssm"
NOT_MANAGED = "not managed by SSM"
# The only paths that reach the script: a stat page path of URL characters (no quote, space,
# `$` or backquote); the URL is also shell-quoted.
_PATH = re.compile(r"/[A-Za-z0-9._~/?=&%+:-]{0,200}")

HINT_NOT_MANAGED = (
    "servers SSM does not manage cannot be read through it: set launch.ssm = true in the stack file "
    "and run `awslb up` (the servers' instance role gets AmazonSSMManagedInstanceCore; servers launched "
    "before keep their old profile until replaced), check the image runs the SSM agent and the servers "
    "reach the SSM endpoints (HTTPS out); servers listed in load_balancer.targets need such a profile "
    "attached by you. Or run `awslb status --via direct` on a host the servers' security group admits "
    "on the stat port")
HINT_SEND_DENIED = (
    "your credentials lack ssm:SendCommand (on the stack's instances and the AWS-RunShellScript document) "
    "or ssm:ListCommandInvocations: add them to the caller's IAM policy, or use `--via direct` on a host "
    "the servers' security group admits on the stat port")
HINT_DESCRIBE_DENIED = (
    "your credentials lack ssm:DescribeInstanceInformation: add it to the caller's IAM policy, or use "
    "`--via direct` on a host the servers' security group admits on the stat port")


@dataclass
class Reading:
    """One server's figures (or why none) and the route they came by: direct, ssm or none."""

    via: str
    stats: dict[str, Any] | str


@dataclass
class Page:
    """Where the stat page is on each server (the target group's health check)."""

    protocol: str = "HTTP"
    port: int | str | None = 8081   # as the target group's health check has it
    path: str = "/?action=stat"


def script(page: Page, seconds: int = SCRIPT_TIMEOUT) -> str:
    """The shell script SSM runs on each server: the page's figure lines, or one error line."""
    port = str(page.port)
    if page.protocol.upper() not in ("HTTP", "HTTPS") or not _PATH.fullmatch(page.path) \
            or not re.fullmatch(r"[1-9][0-9]{0,4}", port) or int(port) > 65535:
        raise ValueError(f"not a stat page address: {page.protocol} {page.port} {page.path!r}")
    url = shlex.quote(f"{page.protocol.lower()}://127.0.0.1:{port}{page.path}")
    return "\n".join([
        f"url={url}",
        "if command -v curl >/dev/null 2>&1; then",
        f'  page=$(curl -fsSk --noproxy "*" --max-time {seconds} "$url" 2>&1) || '
        f'{{ echo "{ERROR_KEY}=$(printf %s "$page" | head -n 1 | cut -c 1-200)"; exit 0; }}',
        "elif command -v wget >/dev/null 2>&1; then",
        f'  page=$(wget -q -O - --no-proxy --no-check-certificate -T {seconds} -t 1 "$url" 2>&1) || '
        f'{{ echo "{ERROR_KEY}=wget: no answer from $url"; exit 0; }}',
        "else",
        f'  echo "{ERROR_KEY}=neither curl nor wget on the server"; exit 0',
        "fi",
        "printf '%s\\n' \"$page\" | grep -iE "
        "'^[[:space:]]*(connections[ _]websocket|streams[ _]webrtc[ _](in|out))[[:space:]]*=' "
        f'|| echo "{ERROR_KEY}=not a stat page"',
        "",
    ])


def parse_output(text: str) -> dict[str, Any] | str:
    """The figures in a command's output, or the server's own reason why there are none."""
    page = stats.parse(text)
    if any(k in page for k in stats.FIGURES):
        return stats.figures(page)
    if ERROR_KEY in page:
        return f"no stat page on the server ({page[ERROR_KEY]})"
    return "not a stat page"


def managed(aws: Any, ids: Iterable[str]) -> dict[str, str]:
    """{instance id: SSM ping status} for the ids SSM knows (Online, ConnectionLost, Inactive)."""
    out: dict[str, str] = {}
    ids = list(ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        for info in aws.paginate("ssm", "describe_instance_information", "InstanceInformationList",
                                 Filters=[{"Key": "InstanceIds", "Values": chunk}]):
            if info.get("InstanceId") in chunk:
                out[info["InstanceId"]] = str(info.get("PingStatus") or "Unknown")
    return out


def via_ssm(aws: Any, ids: list[str], page: Page, *, wait: float = DEFAULT_WAIT, comment: str = "",
            sleep: Callable[[float], None] = time.sleep) -> dict[str, Reading]:
    """Each server's figures read through SSM Run Command (the ids must be SSM-managed).

    One SendCommand per 50 ids; then ListCommandInvocations (Details) per command until every
    invocation is final or ``wait`` seconds have passed: a server still running is "timed out
    via ssm" (no cancel is sent: status changes nothing).
    """
    body = script(page)
    deadline = time.monotonic() + max(0.0, wait)
    commands: dict[str, list[str]] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        cmd = aws.call("ssm", "send_command", InstanceIds=chunk, DocumentName=DOCUMENT,
                       Comment=comment[:100], TimeoutSeconds=60, MaxConcurrency="100%", MaxErrors="100%",
                       Parameters={"commands": [body], "executionTimeout": ["30"]})["Command"]
        commands[cmd["CommandId"]] = chunk
    out: dict[str, Reading] = {}
    pause = 0.5
    while True:
        for command_id, chunk in commands.items():
            if all(i in out for i in chunk):
                continue
            for inv in _invocations(aws, command_id):
                iid = inv.get("InstanceId")
                if iid in chunk and iid not in out and inv.get("Status") in FINAL:
                    out[iid] = _reading(inv)
        left = max(0.0, deadline - time.monotonic())
        if all(i in out for i in ids) or left <= 0:
            break
        sleep(min(pause, left))
        pause = min(pause * 2, 2.0)
    for iid in ids:
        out.setdefault(iid, Reading("ssm", TIMED_OUT))
    return out


def _invocations(aws: Any, command_id: str) -> list[dict[str, Any]]:
    """The command's invocations with their output; none yet while SSM does not know the
    command it has just accepted (its reads are eventually consistent)."""
    try:
        return aws.paginate("ssm", "list_command_invocations", "CommandInvocations",
                            CommandId=command_id, Details=True)
    except AwsError as exc:
        if exc.code in ("InvalidCommandId", "InvocationDoesNotExist"):
            return []
        raise


def _reading(inv: Mapping[str, Any]) -> Reading:
    plugins = inv.get("CommandPlugins") or []
    output = "\n".join(str(p.get("Output") or "") for p in plugins)
    if inv.get("Status") == "Success":
        return Reading("ssm", parse_output(output))
    detail = str(inv.get("StatusDetails") or inv.get("Status"))
    first = next((line.strip() for line in output.splitlines() if line.strip()), "")
    return Reading("ssm", f"ssm command {detail}" + (f" ({first[:120]})" if first else ""))


def read(aws: Any, ids: list[str], route: str, *, direct: Callable[[list[str]], Mapping[str, Any]],
         page: Page, wait: float = DEFAULT_WAIT, comment: str = "") -> tuple[dict[str, Reading], list[str]]:
    """Every server's reading by ``route`` (auto, direct, ssm), and the notes to show once
    (a true hint for what kept SSM from answering)."""
    if route not in ROUTES:
        raise ValueError(f"route: one of {', '.join(ROUTES)}: {route!r}")
    out: dict[str, Reading] = {}
    if route != "ssm":
        out = {i: Reading("direct", v) for i, v in direct(ids).items()}
    if route == "direct":
        return out, []
    todo = [i for i in ids if route == "ssm" or out.get(i, Reading("direct", "")).stats == stats.UNREACHABLE]
    if not todo:
        return out, []
    before = "unreachable directly; " if route == "auto" else ""
    try:
        script(page)                            # before any call: a page no script may carry
    except ValueError as exc:
        out.update({i: Reading("none", f"{before}not read via ssm: {exc}") for i in todo})
        return out, []
    notes: list[str] = []
    try:
        known = managed(aws, todo)
    except AwsError as exc:
        out.update({i: Reading("none", f"{before}ssm: {exc.code}") for i in todo})
        return out, [_note(exc, HINT_DESCRIBE_DENIED)]
    online = [i for i in todo if known.get(i) == "Online"]
    for i in todo:
        if i not in online:
            why = f"agent {known[i]}" if i in known else "no SSM agent registered"
            out[i] = Reading("none", f"{before}{NOT_MANAGED} ({why})")
    if len(online) < len(todo):
        notes.append(HINT_NOT_MANAGED)
    if not online:
        return out, notes
    try:
        out.update(via_ssm(aws, online, page, wait=wait, comment=comment))
    except AwsError as exc:
        out.update({i: Reading("none", f"{before}ssm: {exc.code}") for i in online})
        notes.append(_note(exc, HINT_SEND_DENIED))
    return out, notes


def _note(exc: AwsError, denied: str) -> str:
    """One line: the failed call, its AWS code and message (first line), and a true hint."""
    hint = denied if "denied" in exc.code.lower() else exc.hint
    message = (exc.message.splitlines() or [""])[0][:300]
    return message + (f" (hint: {hint})" if hint else "")
