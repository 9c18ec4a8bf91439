"""`--sandbox`: an AWS emulator on loopback that lives between commands, seeded like a real account.

The first command that needs AWS with ``--sandbox`` (or ``AWSLB_SANDBOX=1``) starts
:mod:`awslb.sandbox_server` (moto's server with awslb's moto fixes) in the background on
127.0.0.1; later ones find it through ``server.json`` in the sandbox directory and use the
same account. The account is seeded once: a default VPC with subnets in two zones, one
running instance tagged as a configured media server (``wcs-configured``), and an issued
ACM certificate. It is saved to disk, so it survives `awslb sandbox stop` and a reboot,
until `awslb sandbox reset`.

The sandbox directory: ``AWSLB_SANDBOX_DIR``, else ``$XDG_STATE_HOME/awslb/sandbox``, else
``~/.local/state/awslb/sandbox``. Needs the `sandbox` extra (moto[server]).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awslb.errors import AwslbError, UsageError
from awslb.ui import UI

SANDBOX_DOMAIN = "media.example.com"
DEFAULT_REGION = "us-east-1"
SERVER_FILE = "server.json"
SEED_FILE = "seed.json"
STATE_FILE = "state.pickle"
LOG_FILE = "server.log"
START_TIMEOUT = 90.0


@dataclass
class Sandbox:
    endpoint_url: str
    region: str
    pid: int
    started: float
    seeded: dict[str, Any] = field(default_factory=dict)


def directory() -> Path:
    explicit = os.environ.get("AWSLB_SANDBOX_DIR")
    if explicit:
        return Path(explicit)
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "awslb" / "sandbox"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_ours(pid: int) -> bool:
    """The pid runs awslb's sandbox server (not a process that reused the number)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): the pid is alive, trust the file
    return b"awslb.sandbox_server" in cmdline


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def running(d: Path | None = None) -> dict[str, Any] | None:
    """server.json of the sandbox when its server is alive and listening, else None."""
    info = _read((d or directory()) / SERVER_FILE)
    if info and _is_ours(int(info.get("pid", 0))) and _listening(int(info.get("port", 0))):
        return info
    return None


class _Lock:
    """An exclusive lock on the sandbox directory, so two commands start one server."""

    def __init__(self, d: Path):
        self.path = d / ".lock"

    def __enter__(self) -> _Lock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "w")  # noqa: SIM115 - held until __exit__
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.fh.close()


def _use_sandbox_credentials(region: str) -> None:
    """Made-up credentials for this process: nothing is looked up (no profile, no metadata service)."""
    os.environ["AWS_ACCESS_KEY_ID"] = "sandbox"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "sandbox"
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["AWS_DEFAULT_REGION"] = region


def _start_server(ui: UI, d: Path) -> dict[str, Any]:
    try:
        import moto.server  # noqa: F401 - only to fail early with the install hint
    except ImportError:
        raise UsageError("--sandbox needs moto's server: pip install 'awslb[sandbox]'") from None
    (d / SERVER_FILE).unlink(missing_ok=True)
    restoring = (d / STATE_FILE).exists()
    ui.info("(sandbox) starting the AWS emulator in the background"
            + (" with its saved state…" if restoring else "…"))
    log = open(d / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, "-m", "awslb.sandbox_server", "--dir", str(d)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True, close_fds=True,
        cwd=d,  # not the command's directory, which may go away while the emulator runs
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        info = _read(d / SERVER_FILE)
        if info and info.get("pid") == child.pid and _listening(int(info["port"])):
            return info
        if child.poll() is not None:
            tail = (d / LOG_FILE).read_text(errors="replace").strip().splitlines()[-3:]
            raise AwslbError(f"the sandbox's emulator exited at start (code {child.returncode}): "
                             + " / ".join(tail), hint=f"see {d / LOG_FILE}; `awslb sandbox reset` starts afresh")
        time.sleep(0.05)
    child.terminate()
    raise AwslbError(f"the sandbox's emulator did not start within {START_TIMEOUT:.0f} s",
                     hint=f"see {d / LOG_FILE}")


def connect(ui: UI, region: str | None = None) -> Sandbox:
    """The running sandbox, started (and seeded on its first start) when needed."""
    d = directory()
    info = running(d)
    with _Lock(d):
        info = info or running(d)
        if info is None:
            info = _start_server(ui, d)
        seed = _read(d / SEED_FILE)
        sb_region = (seed or {}).get("region") or region or DEFAULT_REGION
        _use_sandbox_credentials(sb_region)
        sb = Sandbox(info["endpoint"], sb_region, int(info["pid"]), float(info["started"]), seed or {})
        if seed is None:
            from awslb.aws import Aws

            sb.seeded = {"region": sb_region, **seed_account(Aws(region=sb_region, endpoint_url=sb.endpoint_url))}
            tmp = d / f".{SEED_FILE}.tmp"
            tmp.write_text(json.dumps(sb.seeded, indent=2) + "\n")
            os.replace(tmp, d / SEED_FILE)
    if region and region != sb.region:
        ui.warn(f"--region {region}: the sandbox's account is in {sb.region}; using {sb.region}")
    s = sb.seeded
    ui.info(f"(sandbox) AWS emulator at {sb.endpoint_url} ({sb.region}), pid {sb.pid}, up {_age(sb.started)}: "
            f"VPC {s.get('vpc')} with subnets in {', '.join(s.get('zones', []))}, media server "
            f"{s.get('instance')} ({s.get('private_ip')}), certificate for {SANDBOX_DOMAIN}")
    return sb


def _age(started: float) -> str:
    secs = max(0, int(time.time() - started))
    if secs < 60:
        return f"{secs} s"
    if secs < 3600:
        return f"{secs // 60} min"
    return f"{secs // 3600} h {secs % 3600 // 60} min"


def stop(timeout: float = 20) -> int | None:
    """Stop the background emulator (it saves its state first); the pid it had, or None."""
    d = directory()
    info = _read(d / SERVER_FILE)
    if not info or not _is_ours(int(info.get("pid", 0))):
        (d / SERVER_FILE).unlink(missing_ok=True)
        return None
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_ours(pid):
        _reap(pid)
        time.sleep(0.05)
    if _is_ours(pid):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)
    (d / SERVER_FILE).unlink(missing_ok=True)
    return pid


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)  # our child when this process started it
    except ChildProcessError:
        pass


def reset(ledger_home: Path) -> list[Path]:
    """Stop the emulator and forget its account and the sandbox ledgers; what was removed."""
    stop()
    d = directory()
    removed = []
    for name in (STATE_FILE, SEED_FILE, SERVER_FILE):
        p = d / name
        if p.exists():
            p.unlink()
            removed.append(p)
    if ledger_home.is_dir():
        shutil.rmtree(ledger_home)
        removed.append(ledger_home)
    return removed


# What `awslb sandbox status` counts: (kind, service, operation, result key, params).
COUNTED: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("instances", "ec2", "describe_instances", "Reservations",
     {"Filters": [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]}),
    ("images", "ec2", "describe_images", "Images", {"Owners": ["self"]}),
    ("security groups", "ec2", "describe_security_groups", "SecurityGroups", {}),
    ("application/network balancers", "elbv2", "describe_load_balancers", "LoadBalancers", {}),
    ("target groups", "elbv2", "describe_target_groups", "TargetGroups", {}),
    ("classic balancers", "elb", "describe_load_balancers", "LoadBalancerDescriptions", {}),
    ("launch templates", "ec2", "describe_launch_templates", "LaunchTemplates", {}),
    ("launch configurations", "autoscaling", "describe_launch_configurations", "LaunchConfigurations", {}),
    ("auto scaling groups", "autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups", {}),
    ("certificates", "acm", "list_certificates", "CertificateSummaryList", {}),
)


def describe(d: Path, info: dict[str, Any] | None) -> dict[str, Any]:
    """What `awslb sandbox status` shows: where, since when, and a count per resource kind."""
    doc: dict[str, Any] = {"running": info is not None, "directory": str(d),
                           "state_saved": (d / STATE_FILE).exists()}
    if info is not None:
        from awslb.aws import Aws

        seed = _read(d / SEED_FILE) or {}
        region = seed.get("region", DEFAULT_REGION)
        _use_sandbox_credentials(region)
        doc.update(endpoint=info["endpoint"], pid=info["pid"], region=region,
                   uptime_seconds=int(time.time() - float(info["started"])),
                   resources=counts(Aws(region=region, endpoint_url=info["endpoint"])))
    return doc


def counts(aws: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, service, op, key, params in COUNTED:
        items = aws.paginate(service, op, key, **params)
        if key == "Reservations":
            out[kind] = sum(len(r.get("Instances", [])) for r in items)
        else:
            out[kind] = len(items)
    return out


def seed_account(aws: Any) -> dict[str, Any]:
    """Make an empty emulated account look like a small real one (tests use this too)."""
    vpc = aws.call("ec2", "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    subnets = aws.call("ec2", "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    subnets.sort(key=lambda s: s["AvailabilityZone"])
    keep = subnets[:2]
    for s in subnets[2:]:  # two zones, as a small real account would have them in use
        aws.call("ec2", "delete_subnet", SubnetId=s["SubnetId"])
    images = aws.call("ec2", "describe_images", Owners=["amazon"])["Images"]
    image = sorted(images, key=lambda i: i["ImageId"])[0]["ImageId"]
    inst = aws.call(
        "ec2", "run_instances", ImageId=image, InstanceType="c5.large", MinCount=1, MaxCount=1,
        SubnetId=keep[0]["SubnetId"],
        # The root volume on the image's root device name, as on AWS (moto otherwise
        # attaches it as /dev/sda1 while reporting /dev/xvda as the root device).
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": "wcs-configured"}, {"Key": "Role", "Value": "media-server"}]}],
    )["Instances"][0]
    cert = aws.call("acm", "request_certificate", DomainName=SANDBOX_DOMAIN,
                    SubjectAlternativeNames=[f"*.{SANDBOX_DOMAIN}"], ValidationMethod="DNS")
    # The media servers' zone of examples/fleet-dns.toml (per-instance DNS records).
    zone = aws.call("route53", "create_hosted_zone", Name=f"media.{SANDBOX_DOMAIN}",
                    CallerReference="awslb-sandbox")["HostedZone"]["Id"]
    return {
        "zone": zone.rsplit("/", 1)[-1],
        "vpc": vpc["VpcId"],
        "subnets": [s["SubnetId"] for s in keep],
        "zones": [s["AvailabilityZone"] for s in keep],
        "instance": inst["InstanceId"],
        "private_ip": inst.get("PrivateIpAddress"),
        "certificate": cert["CertificateArn"],
        "image": image,
    }
