"""The Lambda function that keeps per-instance DNS records (``[dns]``, seed 003).

Its code is ``awslb/node`` zipped by :mod:`awslb.lambda_zip` (reproducible, so the zip's
SHA-256 equals the ``CodeSha256`` Lambda reports when the deployed code is current); its
handler is :func:`awslb.node.dns_handler.handler`, its configuration the environment made
from ``[dns]``. It is updated only when the code's hash or the configuration differ.

The webhook secret is read when the function is made or updated, from
``dns.webhook_secret_file`` or ``dns.webhook_secret_env``; it is never in the stack file,
the plan or the ledger (they hold its SHA-256 only), and lives in the function's
environment (encrypted at rest by Lambda).

The records are not stack resources - the function makes and deletes them as the group
scales - but ``down`` leaves none: before the function goes, every record of the zone's
pattern that carries awslb's ownership marker for an instance of this stack (or for an
instance that no longer exists) is deleted.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from awslb import lambda_zip, names
from awslb.aws import Aws
from awslb.errors import AwsError, InputError
from awslb.node import dns
from awslb.resources.base import Context, Kind, Network, Observed, Ref, Resource, changed
from awslb.spec import StackSpec

LOGICAL_ID = "dns-function"
RUNTIME = "python3.12"
HANDLER = "awslb.node.dns_handler.handler"
TIMEOUT = 30
MEMORY = 128
SECRET = "WEBHOOK_SECRET"
# A role made a moment ago is not yet usable by Lambda (IAM is eventually consistent).
ROLE_NOT_READY = "cannot be assumed by Lambda"


def function_name(spec: StackSpec) -> str:
    return names.physical(spec.name, "dns", 64)


# -- preflight: the zone and the secret -----------------------------------------------------

def find_zone(aws: Aws, zone: str) -> tuple[str, str]:
    """(zone id, zone name) of ``dns.zone`` given by id or by name."""
    from awslb.spec import ZONE_ID

    m = ZONE_ID.fullmatch(zone)
    if m:
        found = aws.find("route53", "get_hosted_zone", Id=m.group(2))
        if not found:
            raise InputError(f"dns.zone: no such hosted zone: {zone}")
        return m.group(2), str(found["HostedZone"]["Name"]).rstrip(".")
    want = zone.rstrip(".").lower() + "."
    hits = [z for z in aws.paginate("route53", "list_hosted_zones", "HostedZones") if z["Name"].lower() == want]
    if not hits:
        raise InputError(f"dns.zone: no hosted zone named {zone}")
    if len(hits) > 1:
        ids = ", ".join(z["Id"].rsplit("/", 1)[-1] for z in hits)
        raise InputError(f"dns.zone: {len(hits)} hosted zones are named {zone} ({ids}): give the id")
    return str(hits[0]["Id"]).rsplit("/", 1)[-1], want.rstrip(".")


def read_secret(spec: StackSpec) -> str | None:
    """The webhook secret from its file or environment variable (never from the stack file)."""
    d = spec.dns
    if d is None or d.webhook_url is None:
        return None
    if d.webhook_secret_env is not None:
        value = os.environ.get(d.webhook_secret_env)
        key = "dns.webhook_secret_env"
        if value is None:
            raise InputError(f"{key}: environment variable {d.webhook_secret_env} is not set")
    else:
        key = "dns.webhook_secret_file"
        path = Path(str(d.webhook_secret_file)).expanduser()
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise InputError(f"{key}: cannot read {path}: {exc.strerror}") from None
    if len(value) < 16 or any(ord(c) < 32 for c in value):
        raise InputError(f"{key}: the secret must be at least 16 characters, without control characters")
    return value


def secret_digest(secret: str | None) -> str | None:
    return None if secret is None else hashlib.sha256(secret.encode()).hexdigest()


def environment(spec: StackSpec, zone_id: str, zone_name: str) -> dict[str, str]:
    from awslb.resources.autoscaling_group import group_name

    d = spec.dns
    assert d is not None
    env = {"ZONE_ID": zone_id, "ZONE_NAME": zone_name, "RECORD_PATTERN": d.record, "ADDRESS": d.address,
           "TTL": str(d.ttl), "GROUP_NAME": group_name(spec)}
    if d.webhook_url:
        env["WEBHOOK_URL"] = d.webhook_url
    if d.servers_record:
        env["SERVERS_RECORD"] = d.servers_record
    return env


# -- the kind --------------------------------------------------------------------------------

class DnsFunction(Kind):
    kind = "dns_function"
    label = "DNS function"
    rank = 64  # before the group: its first launches already get records

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        if spec.dns is None:
            return {}
        zone_id, zone_name = find_zone(aws, spec.dns.zone)
        try:
            dns.Naming(zone_name, spec.dns.record)
        except dns.DnsConfigError as exc:
            raise InputError(f"dns.record: {exc}") from None
        return {"dns.zone_id": zone_id, "dns.zone_name": zone_name,
                "dns.secret_sha256": secret_digest(read_secret(spec))}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        if spec.dns is None:
            return []
        name = function_name(spec)
        zone_id = str(net.facts.get("dns.zone_id", "(the zone's id)"))
        zone_name = str(net.facts.get("dns.zone_name", spec.dns.zone))
        return [Resource(self.kind, LOGICAL_ID, name, {
            "role": Ref("dns-role", "arn"),
            "env": environment(spec, zone_id, zone_name),
            "secret_sha256": net.facts.get("dns.secret_sha256"),
            "secret_source": ({"env": spec.dns.webhook_secret_env} if spec.dns.webhook_secret_env else
                              {"file": spec.dns.webhook_secret_file} if spec.dns.webhook_secret_file else {}),
            "code_sha256": lambda_zip.code_sha256(lambda_zip.build()),
            "tags": names.tags(spec.name, LOGICAL_ID, name, spec.stack.tags),
        })]

    # -- reading -----------------------------------------------------------------------

    def discover(self, ctx: Context) -> list[Observed]:
        out = []
        for fn in ctx.aws.paginate("lambda", "list_functions", "Functions"):
            if not fn["FunctionName"].startswith(f"{ctx.stack}-"):
                continue
            tags = ctx.aws.call("lambda", "list_tags", Resource=fn["FunctionArn"]).get("Tags", {})
            if tags.get(names.TAG_STACK) == ctx.stack:
                out.append(self._observed(fn, tags))
        return out

    def _observed(self, fn: Mapping[str, Any], tags: Mapping[str, str]) -> Observed:
        env = dict((fn.get("Environment") or {}).get("Variables") or {})
        secret = env.pop(SECRET, None)
        name = fn["FunctionName"]
        return Observed(self.kind, tags.get(names.TAG_ID, name), name, name, {
            "name": name, "arn": fn["FunctionArn"], "role": fn.get("Role"), "runtime": fn.get("Runtime"),
            "handler": fn.get("Handler"), "env": env, "secret_sha256": secret_digest(secret),
            "code_sha256": fn.get("CodeSha256"), "tags": dict(tags)})

    def diff(self, res: Resource, props: Mapping[str, Any], obs: Observed) -> list[str]:
        a = obs.attrs
        out = changed("code", props["code_sha256"], a.get("code_sha256"))
        out += changed("runtime", RUNTIME, a.get("runtime")) + changed("handler", HANDLER, a.get("handler"))
        out += changed("role", str(props["role"]), a.get("role"))
        want, have = dict(props["env"]), dict(a.get("env", {}))
        out += [f"environment {k}: {have.get(k)} → {want.get(k)}" for k in sorted(set(want) | set(have))
                if want.get(k) != have.get(k)]
        if props["secret_sha256"] != a.get("secret_sha256"):
            out.append("webhook secret: changed")
        if dict(props["tags"]) != dict(a.get("tags", {})):
            out.append("tags: changed")
        return out

    # -- writing -----------------------------------------------------------------------

    def _env(self, ctx: Context, props: Mapping[str, Any]) -> dict[str, Any]:
        env = dict(props["env"])
        if props["secret_sha256"] is not None:
            env[SECRET] = _secret_again(props["secret_source"], props["secret_sha256"])
        return {"Variables": env}

    def create(self, ctx: Context, res: Resource, props: Mapping[str, Any]) -> Observed:
        code = lambda_zip.build()
        params = {"FunctionName": res.name, "Runtime": RUNTIME, "Role": props["role"], "Handler": HANDLER,
                  "Code": {"ZipFile": code}, "Timeout": TIMEOUT, "MemorySize": MEMORY,
                  "Description": f"awslb {ctx.stack}: per-instance DNS records",
                  "Environment": self._env(ctx, props), "Tags": dict(props["tags"])}
        found = ctx.aws.find("lambda", "get_function", FunctionName=res.name)
        if found is None:  # else: an interrupted run made it; the update below finishes it
            for attempt in range(ctx.attempts(120)):
                try:
                    ctx.aws.call("lambda", "create_function", **params)
                    break
                except AwsError as exc:
                    if ROLE_NOT_READY not in exc.message or attempt == ctx.attempts(120) - 1:
                        raise
                    ctx.progress("waiting for the new role to reach Lambda")
                    time.sleep(ctx.poll)
        self._wait(ctx, res.name)
        obs = self._read(ctx, res.name)
        changes = self.diff(res, props, obs)
        return self.update(ctx, res, props, obs, changes) if changes else obs

    def update(self, ctx: Context, res: Resource, props: Mapping[str, Any], obs: Observed,
               changes: list[str]) -> Observed:
        a = obs.attrs
        if props["code_sha256"] != a.get("code_sha256"):
            ctx.aws.call("lambda", "update_function_code", FunctionName=obs.name, ZipFile=lambda_zip.build())
            self._wait(ctx, obs.name, "function_updated_v2")
        if (str(props["role"]), RUNTIME, HANDLER, dict(props["env"]), props["secret_sha256"]) != (
                a.get("role"), a.get("runtime"), a.get("handler"), a.get("env"), a.get("secret_sha256")):
            ctx.aws.call("lambda", "update_function_configuration", FunctionName=obs.name, Role=props["role"],
                         Runtime=RUNTIME, Handler=HANDLER, Environment=self._env(ctx, props))
            self._wait(ctx, obs.name, "function_updated_v2")
        if dict(props["tags"]) != dict(a.get("tags", {})):
            ctx.aws.call("lambda", "tag_resource", Resource=a["arn"], Tags=dict(props["tags"]))
        return self._read(ctx, obs.name)

    def _wait(self, ctx: Context, name: str, waiter: str = "function_active_v2") -> None:
        if ctx.wait:
            ctx.aws.wait("lambda", waiter, FunctionName=name, delay=max(1, int(ctx.poll)),
                         max_attempts=ctx.attempts(300))

    def _read(self, ctx: Context, name: str) -> Observed:
        fn = ctx.aws.call("lambda", "get_function", FunctionName=name)
        tags = fn.get("Tags") or ctx.aws.call("lambda", "list_tags",
                                              Resource=fn["Configuration"]["FunctionArn"]).get("Tags", {})
        return self._observed(fn["Configuration"], tags)

    def delete(self, ctx: Context, obs: Observed) -> None:
        env = obs.attrs.get("env") or {}
        if env.get("ZONE_ID") and env.get("ZONE_NAME"):
            left = delete_records(ctx.aws, ctx.stack, env) + delete_servers_record(ctx.aws, env)
            if left:
                ctx.progress(f"deleted {left} DNS record(s) of the stack's servers")
        ctx.aws.find("lambda", "delete_function", FunctionName=obs.physical_id)

    def status(self, ctx: Context, obs: Observed) -> dict[str, Any]:
        env = obs.attrs.get("env", {})
        out: dict[str, Any] = {"zone": env.get("ZONE_NAME"), "pattern": env.get("RECORD_PATTERN"),
                               "address": env.get("ADDRESS"), "webhook": env.get("WEBHOOK_URL", "none")}
        if env.get("ZONE_ID") and env.get("ZONE_NAME"):
            naming = dns.Naming(env["ZONE_NAME"], env.get("RECORD_PATTERN", "{instance_id}"))
            sets = ctx.aws.paginate("route53", "list_resource_record_sets", "ResourceRecordSets",
                                    HostedZoneId=env["ZONE_ID"])
            # Each server's record: "i-0abc → i-0abc.media.example.com 203.0.113.7".
            out["records"] = "; ".join(f"{r.instance_id} → {r.name.rstrip('.')} {r.address or '(no address)'}"
                                       for r in dns.owned(sets, naming)) or "none"
            if env.get("SERVERS_RECORD"):
                name = dns.servers_name(env["ZONE_NAME"], env["SERVERS_RECORD"])
                held = dns.servers_held(sets, name, env.get("GROUP_NAME", ""))
                out["servers_record"] = f"{name.rstrip('.')} {' '.join(held) or '(none in service)'}"
        return out

    def operations(self) -> dict[str, list[str]]:
        return {
            "read": ["lambda:ListFunctions", "lambda:ListTags", "lambda:GetFunction", "route53:GetHostedZone",
                     "route53:ListHostedZones"],
            "write": ["lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
                      "lambda:TagResource", "lambda:DeleteFunction", "iam:PassRole",
                      "route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets",
                      "ec2:DescribeInstances"],
        }


def _secret_again(source: Mapping[str, str], digest: str) -> str:
    """The secret, read again at write time from where the stack file says (the plan holds its digest)."""
    from awslb.spec import DnsSection, StackSpec

    fake = StackSpec.model_construct(dns=DnsSection.model_construct(
        webhook_url="https://x", webhook_secret_file=source.get("file"), webhook_secret_env=source.get("env")))
    secret = read_secret(fake)
    if secret is None or secret_digest(secret) != digest:
        raise InputError("dns.webhook_secret_file: the webhook secret changed while awslb ran; run again")
    return secret


def delete_records(aws: Aws, stack: str, env: Mapping[str, str]) -> int:
    """Delete the marked records of the pattern whose instance is this stack's or gone; how many."""
    naming = dns.Naming(env["ZONE_NAME"], env.get("RECORD_PATTERN", "{instance_id}"))
    sets = aws.paginate("route53", "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=env["ZONE_ID"])
    owned = dns.owned(sets, naming)
    if not owned:
        return 0
    ids = sorted({r.instance_id for r in owned})
    mine: set[str] = set()
    alive: set[str] = set()
    for iid in ids:  # one at a time: a terminated-and-forgotten id fails a batch lookup
        found = aws.find("ec2", "describe_instances", InstanceIds=[iid]) or {}
        for reservation in found.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                if inst.get("State", {}).get("Name") in ("terminated", "shutting-down"):
                    continue
                alive.add(iid)
                if names.tag_dict(inst.get("Tags")).get(names.TAG_STACK) == stack:
                    mine.add(iid)
    doomed = [r for r in owned if r.instance_id in mine or r.instance_id not in alive]
    for r in doomed:
        change = dns.Change("DELETE", r.name, r.instance_id, r.address, r.ttl, f"awslb down {stack}")
        aws.call("route53", "change_resource_record_sets", HostedZoneId=env["ZONE_ID"],
                 ChangeBatch={"Comment": change.reason, "Changes": change.batch()})
    return len(doomed)


def delete_servers_record(aws: Aws, env: Mapping[str, str]) -> int:
    """Delete the servers record (``dns.servers_record``) when it is marked as the group's; how many sets."""
    if not env.get("SERVERS_RECORD") or not env.get("GROUP_NAME"):
        return 0
    name = dns.servers_name(env["ZONE_NAME"], env["SERVERS_RECORD"])
    sets = aws.paginate("route53", "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=env["ZONE_ID"])
    try:
        batch = dns.servers_batch(sets, name, env["GROUP_NAME"], [], 60)
    except dns.DnsConfigError:
        return 0  # not ours: left alone
    if batch:
        aws.call("route53", "change_resource_record_sets", HostedZoneId=env["ZONE_ID"],
                 ChangeBatch={"Comment": "awslb down: the servers record", "Changes": batch})
    return len(batch)


def function_env(aws: Aws, stack: str) -> dict[str, str]:
    """The stack's DNS function's configuration (its environment without the webhook secret)."""
    from awslb.ui import UI

    ctx = Context(aws, stack, UI("text", color=False))
    found = [o for o in DnsFunction().discover(ctx) if o.id == LOGICAL_ID]
    if not found:
        raise InputError(f"STACK: stack {stack} has no DNS function in {aws.region} (no [dns] section, or not up)")
    return dict(found[0].attrs.get("env") or {})


def sync_records(aws: Aws, stack: str, dry_run: bool = False) -> list[dict[str, str]]:
    """`awslb dns sync`: records for every InService instance of the group, none for any other.

    The same reconcile as the function's (awslb.node.dns_handler.sync), run from the operator's
    machine with awslb's clients; the webhook is not called. Returns the changes (made, or to make).
    """
    from awslb.aws import mapped
    from awslb.node import dns_handler

    env = function_env(aws, stack)
    env.pop("WEBHOOK_URL", None)
    cfg = dns_handler.Config.from_env(env)
    with mapped("ChangeResourceRecordSets"):
        changes = dns_handler.sync(aws.client("route53"), aws.client("ec2"), aws.client("autoscaling"), cfg,
                                   dry_run=dry_run)
    return [{"action": c.action, "record": c.name.rstrip("."), "instance_id": c.instance_id,
             "address": c.address or "", "reason": c.reason} for c in changes]
