"""The stack file: schema (pydantic, frozen), loading (tomllib) and errors that name the key.

Every section the step commands fill in is a section here, so a stack file and a sequence
of step commands describe the same thing. Validation is pure: nothing here talks to AWS.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from awslb import validate
from awslb.errors import InputError

Port = Annotated[int, Field(ge=1, le=65535)]
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}\Z")
# An existing server: its instance id, or its Name tag (looked up before any change).
INSTANCE_REF = re.compile(r"^(i-[0-9a-f]{8,17}|[A-Za-z0-9][A-Za-z0-9 ._:/+=@-]{0,254})\Z")
AMI_ID = re.compile(r"^ami-[0-9a-f]{8,17}\Z")
CERT_ARN = re.compile(r"^arn:aws[a-z-]*:(acm|iam):[a-z0-9-]*:\d{12}:(certificate|server-certificate)/.+\Z")
PORT_RANGE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?\Z")
# ELB names (Classic, ALB, target groups): 1-32 letters, digits, hyphens; no hyphen at either end.
ELB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\Z")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}\Z")
# AMI names: 3-128 characters of letters, digits and ( ) [ ] space . / - ' @ _
AMI_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./'@_-]{3,128}\Z")
# A Classic health-check target: 'HTTP:8081/?action=stat', 'HTTPS:8444/?action=stat'.
HEALTH_TARGET = re.compile(r"^(HTTPS?):(\d{1,5})(/\S*)\Z", re.IGNORECASE)
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+\Z")
# Launch template names: 3-128 of letters, digits and ( ) . - / _ (EC2's rule).
LAUNCH_TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9().\-/_]{3,128}\Z")
# Auto Scaling names (groups, launch configurations): no colon, at most 255 characters.
ASG_NAME = re.compile(r"^[^:\s][^:]{0,239}\Z")


def _ami_id(v: str) -> str:
    if not AMI_ID.match(v):
        raise ValueError(f"not an image id (ami-...): {v!r}")
    return v


def _instance_type(v: str) -> str:
    if not INSTANCE_TYPE.match(v):
        raise ValueError(f"not an instance type (like c5.large): {v!r}")
    return v


# An image id and an instance type, wherever a section names one.
AmiId = Annotated[str, AfterValidator(_ami_id)]
InstanceType = Annotated[str, AfterValidator(_instance_type)]

# ELB security policy with TLS 1.3 and 1.2 only (AWS's recommended policy).
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_control(cls, data: Any) -> Any:
        # Every string of a stack file may reach a config file, a script or a tag: no control
        # characters anywhere (a newline turns one line of haproxy.cfg into two).
        if isinstance(data, dict):
            for key, value in data.items():
                _no_control_in(str(key), value)
        return data


def _no_control_in(key: str, value: Any) -> None:
    if isinstance(value, str):
        bad = validate.control_char(value)
        if bad is not None:
            raise ValueError(f"{key}: holds a control character ({bad}): {value!r}")
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):  # a table is checked by its own model
                _no_control_in(key, item)
    elif isinstance(value, dict) and key in ("tags", "vars"):
        for k, v in value.items():
            _no_control_in(key, k)
            _no_control_in(f"{key}.{k}" if key == "vars" else key, v)


VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")
SUBNET_ID = re.compile(r"subnet-[0-9a-f]{8,17}")
SG_ID = re.compile(r"sg-[0-9a-f]{8,17}")


def subnet_ids(v: list[str]) -> list[str]:
    for s in v:
        if not validate.full(SUBNET_ID, s):
            raise ValueError(f"not a subnet id (subnet-...): {s!r}")
    if len(set(v)) != len(v):
        raise ValueError("a subnet is listed twice")
    return v


def group_ids(v: list[str]) -> list[str]:
    for g in v:
        if not validate.full(SG_ID, g):
            raise ValueError(f"not a security group id (sg-...): {g!r}")
    return v


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"not a CIDR block: {value!r}") from None


class StackSection(Model):
    name: str = "default"
    region: str | None = None
    vpc: str | None = None
    subnets: list[str] = []
    ssh_cidr: str | None = Field(default=None, description="open SSH (22) from this block only")
    media_ports: str = Field(default="30000-33000", description="UDP range for WebRTC media, open to the world")
    rtmfp: bool = Field(default=False, description="also open 1935/udp (RTMFP); RTMP's 1935/tcp is always open")
    tags: dict[str, str] = {}

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return validate.stack_name(v)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: dict[str, str]) -> dict[str, str]:
        return validate.tags(v)

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is not None and not validate.full(REGION, v):
            raise ValueError(f"not a region name (like eu-west-1): {v!r}")
        return v

    @field_validator("vpc")
    @classmethod
    def _vpc(cls, v: str | None) -> str | None:
        if v is not None and not validate.full(VPC_ID, v):
            raise ValueError(f"not a VPC id (vpc-...): {v!r}")
        return v

    @field_validator("subnets")
    @classmethod
    def _subnets(cls, v: list[str]) -> list[str]:
        return subnet_ids(v)

    @field_validator("ssh_cidr")
    @classmethod
    def _ssh(cls, v: str | None) -> str | None:
        return None if v is None else _cidr(v)

    @field_validator("media_ports")
    @classmethod
    def _media(cls, v: str) -> str:
        port_range(v)
        return v


class ImageSection(Model):
    id: AmiId | None = None
    from_instance: str | None = None
    name: str | None = None
    reboot: bool = False
    wait: bool = True
    copy_to: list[str] = []

    @field_validator("from_instance")
    @classmethod
    def _instance(cls, v: str | None) -> str | None:
        if v is not None and (not INSTANCE_REF.match(v) or (v.startswith("i-") and not INSTANCE_ID.match(v))):
            raise ValueError(f"not an instance id (i-...) or Name tag: {v!r}")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not AMI_NAME.match(v):
            raise ValueError(f"an image name is 3-128 letters, digits and ()[] ./'@_- characters: {v!r}")
        return v

    @field_validator("copy_to")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        for r in v:
            if not REGION.match(r):
                raise ValueError(f"not a region name (like eu-west-1): {r!r}")
        if len(set(v)) != len(v):
            raise ValueError("a region is listed twice")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> ImageSection:
        if (self.id is None) == (self.from_instance is None):
            raise ValueError("from_instance: give exactly one of image.id or image.from_instance")
        return self


class HealthCheck(Model):
    port: Port = 8081
    path: str = "/?action=stat"
    protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    interval: int = Field(default=10, ge=5, le=300)
    timeout: int = Field(default=5, ge=2, le=120)
    healthy_threshold: int = Field(default=3, ge=2, le=10)
    unhealthy_threshold: int = Field(default=2, ge=2, le=10)
    matcher: str = "200"

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"must start with '/': {v!r}")
        if not re.fullmatch(r"/[\x21-\x7e]{0,1023}", v):
            raise ValueError(f"at most 1024 printable ASCII characters, no spaces: {v!r}")
        return v

    @field_validator("matcher")
    @classmethod
    def _matcher(cls, v: str) -> str:
        # ELBv2 HttpCode: codes 200-499, as "200", "200,202" or "200-299".
        codes = r"[2-4]\d\d(-[2-4]\d\d)?"
        if not re.fullmatch(rf"{codes}(,{codes})*", v) or any(
                int(a) > int(b) for a, b in re.findall(r"(\d{3})-(\d{3})", v)):
            raise ValueError(f"HTTP codes 200-499 such as 200, 200,202 or 200-299: {v!r}")
        return v

    @model_validator(mode="after")
    def _timeout(self) -> HealthCheck:
        if self.timeout >= self.interval:
            raise ValueError("timeout: must be less than health_check.interval")
        return self


class Https(Model):
    port: Port = 8443
    certificate: str | None = None
    domain: str | None = None
    ssl_policy: str = DEFAULT_SSL_POLICY
    from_port: Port | None = Field(default=None, description="the listener to switch; default: ws_port")

    @field_validator("certificate")
    @classmethod
    def _cert(cls, v: str | None) -> str | None:
        if v is not None and not CERT_ARN.match(v):
            raise ValueError(f"not a certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID): {v!r}")
        return v

    @field_validator("ssl_policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        if v not in validate.ELBV2_SSL_POLICIES and v not in validate.CLASSIC_SSL_POLICIES:
            raise ValueError(f"not an ELB security policy AWS publishes (such as {DEFAULT_SSL_POLICY}): {v!r}")
        return v

    @model_validator(mode="after")
    def _source(self) -> Https:
        if self.certificate is None and self.domain is None:
            raise ValueError("certificate: give a certificate ARN or a domain to find one in ACM")
        return self


def parse_health_target(text: str) -> dict[str, Any]:
    """A Classic target string 'HTTP:8081/?action=stat' as health_check fields."""
    validate.check_text(text, "a health-check target")
    m = HEALTH_TARGET.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 65535:
        raise ValueError(f"expected PROTOCOL:PORT/PATH such as HTTP:8081/?action=stat, got {text!r}")
    return {"protocol": m.group(1).upper(), "port": int(m.group(2)), "path": m.group(3)}


class LoadBalancerSection(Model):
    type: Literal["application", "classic", "network"] = "application"
    name: str | None = None
    ws_port: Port = 8080
    http_port: Port | None = None
    https_port: Port | None = Field(default=None, description="classic: HTTPS stat listener (8444)")
    health_check: HealthCheck = HealthCheck()
    stickiness: bool = True
    cookie_ttl: int = Field(default=86400, ge=1, le=604800)
    idle_timeout: int = Field(default=3600, ge=1, le=6000, description=(
        "application/classic: 1-4000 s; network: the TCP listeners' tcp.idle_timeout.seconds, 60-6000 s "
        "(a TLS listener's is fixed at 350 s by AWS)"))
    deregistration_delay: int = Field(default=300, ge=0, le=3600)
    internal: bool = False
    https: Https | None = None
    targets: list[str] = []
    subnets: list[str] = []
    security_groups: list[str] = []
    # application only: false makes the target groups alone, for a balancer made elsewhere
    balancer: bool = True
    target_group: str | None = Field(default=None, description="application: the WebSocket target group's name")
    # network only (seed 004): RTMP over TCP through the balancer, UDP listeners where a server needs them
    rtmp_port: Port | None = Field(default=None, description="network: a TCP listener for RTMP (1935)")
    udp_ports: list[Port] = Field(default=[], description="network: UDP listeners (one target group each)")

    @field_validator("name", "target_group")
    @classmethod
    def _elb_name(cls, v: str | None) -> str | None:
        if v is not None and not ELB_NAME.match(v):
            raise ValueError(f"not a load balancer name (1-32 letters, digits and hyphens, "
                             f"no hyphen at either end): {v!r}")
        return v

    @model_validator(mode="after")
    def _alb_name(self) -> LoadBalancerSection:
        if self.type == "application" and self.name and self.name.lower().startswith("internal-"):
            raise ValueError(f"name: an Application Load Balancer's name may not start with 'internal-': {self.name!r}")
        if self.http_port is not None and self.http_port == self.ws_port:
            raise ValueError(f"http_port: port {self.http_port} is already load_balancer.ws_port")
        elbv2 = self.type in ("application", "network")
        if self.https is not None and elbv2 and self.https.ssl_policy not in validate.ELBV2_SSL_POLICIES:
            kind = "an Application" if self.type == "application" else "a Network"
            raise ValueError(f"https.ssl_policy: not {kind} Load Balancer security policy: "
                             f"{self.https.ssl_policy!r}")
        if self.https is not None and elbv2:
            switched = self.https.from_port or self.ws_port
            others = [p for p in (self.ws_port, self.http_port, self.rtmp_port) if p is not None and p != switched]
            if self.https.port in others:
                raise ValueError(f"https.port: {self.https.port} is also the port of another listener")
        return self._network() if self.type == "network" else self._not_network()

    def _not_network(self) -> LoadBalancerSection:
        if self.idle_timeout > 4000:
            kind = "a Classic" if self.type == "classic" else "an Application"
            raise ValueError(f"idle_timeout: at most 4000 s on {kind} Load Balancer (6000 is a Network "
                             f"Load Balancer's limit): {self.idle_timeout}")
        if self.rtmp_port is not None or self.udp_ports:
            key = "rtmp_port" if self.rtmp_port is not None else "udp_ports"
            raise ValueError(f'{key}: only a Network Load Balancer (type = "network") has RTMP and UDP listeners')
        return self

    def _network(self) -> LoadBalancerSection:
        if not 60 <= self.idle_timeout <= 6000:
            raise ValueError(f"idle_timeout: a Network Load Balancer's TCP idle timeout is 60-6000 s: "
                             f"{self.idle_timeout}")
        tcp = [p for p in (self.ws_port, self.http_port, self.rtmp_port) if p is not None]
        if self.https is not None:
            tcp.append(self.https.port)
        if self.rtmp_port is not None and tcp.count(self.rtmp_port) > 1:
            raise ValueError(f"rtmp_port: {self.rtmp_port} is also the port of another listener")
        if len(set(self.udp_ports)) != len(self.udp_ports):
            raise ValueError("udp_ports: a port is given twice")
        both = sorted(set(self.udp_ports) & set(tcp))
        if both:
            raise ValueError(f"udp_ports: {both[0]} is also a TCP listener's port (one port is TCP or UDP here)")
        if len(self.udp_ports) > 10:
            raise ValueError("udp_ports: at most 10 UDP listeners")
        if self.name and self.name.lower().startswith("internal-"):
            raise ValueError(f"name: a Network Load Balancer's name may not start with 'internal-': {self.name!r}")
        return self

    @field_validator("health_check", mode="before")
    @classmethod
    def _target(cls, v: Any) -> Any:
        # health_check = "HTTP:8081/?action=stat" (the Classic console's form) is accepted too.
        return parse_health_target(v) if isinstance(v, str) else v

    @field_validator("subnets")
    @classmethod
    def _subnets(cls, v: list[str]) -> list[str]:
        return subnet_ids(v)

    @field_validator("security_groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        return group_ids(v)

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        for t in v:
            if not INSTANCE_REF.match(t) or (t.startswith("i-") and not INSTANCE_ID.match(t)):
                raise ValueError(f"not an instance id (i-...) or Name tag: {t!r}")
        return v


class LaunchSection(Model):
    kind: Literal["template", "config"] = Field(
        default="template", description="template: a launch template; config: a legacy launch configuration")
    name: str | None = None
    userdata: str = Field(default="edge", description='user-data template (userdata/NAME.sh.j2); "none": no user-data')
    instance_type: InstanceType = "c5.large"
    key_name: str | None = None
    volume_size: int | None = Field(default=None, ge=8, le=16384)
    vars: dict[str, str | int | bool | float] = {}
    security_groups: list[str] = []
    ami: AmiId | None = Field(default=None, description="this image instead of the stack's [image]")
    detailed_monitoring: bool = Field(default=True, description="1-minute CloudWatch metrics (faster CPU scaling)")
    ssm: bool = Field(default=False, description="let SSM reach the servers (AmazonSSMManagedInstanceCore)")

    @field_validator("security_groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        for g in v:
            if not re.fullmatch(r"sg-[0-9a-f]{8,17}", g):
                raise ValueError(f"not a security group id (sg-...): {g!r}")
        return v

    @model_validator(mode="after")
    def _name(self) -> LaunchSection:
        if self.name is not None:
            if self.kind == "template" and not LAUNCH_TEMPLATE_NAME.match(self.name):
                raise ValueError(f"name: a launch template name is 3-128 letters, digits and ().-/_: {self.name!r}")
            if self.kind == "config" and not ASG_NAME.match(self.name):
                raise ValueError(f"name: a launch configuration name has no colon and at most 240 characters: "
                                 f"{self.name!r}")
        return self


class WarmPool(Model):
    state: Literal["stopped", "hibernated", "running"] = "stopped"
    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _sizes(self) -> WarmPool:
        if self.max is not None and self.max < self.min:
            raise ValueError("max: must be ≥ warm_pool.min")
        return self


class DrainSection(Model):
    """Scale-in that waits for live sessions: a terminate lifecycle hook the agent completes."""

    max_time: int = Field(default=3600, ge=1, le=172800, description="seconds a server may drain")
    heartbeat: int = Field(default=300, ge=30, le=7200, description="the hook's heartbeat timeout (s)")

    @model_validator(mode="after")
    def _fits(self) -> DrainSection:
        # A hook waits at most 100 heartbeat timeouts or 48 h (AWS's global timeout).
        limit = min(100 * self.heartbeat, 172800)
        if self.max_time > limit:
            raise ValueError(f"max_time: {self.max_time} s is longer than the hook can wait ({limit} s: "
                             "100 heartbeat timeouts or 48 h); raise autoscaling.drain.heartbeat")
        return self


SCHEDULE_NAME = re.compile(r"[A-Za-z0-9_-]{1,48}")
CRON5 = re.compile(r"[0-9*/,-]+( [0-9*/,-]+){2} [0-9*/,A-Za-z-]+ [0-9*/,A-Za-z-]+")
TIMEZONE = re.compile(r"[A-Za-z]+(/[A-Za-z0-9_+-]+){0,2}")


class ScheduleEntry(Model):
    """Scheduled capacity and warm-pool state (seed 003: running at peak, stopped off-peak)."""

    name: str
    cron: str = Field(description='five fields, minute hour day month weekday ("0 11 * * *")')
    timezone: str = "UTC"
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    desired: int | None = Field(default=None, ge=0)
    warm_pool: Literal["stopped", "hibernated", "running"] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not SCHEDULE_NAME.fullmatch(v):
            raise ValueError(f"a schedule name is 1-48 letters, digits, _ and -: {v!r}")
        return v

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        if not CRON5.fullmatch(v):
            raise ValueError(f"not a five-field cron expression (minute hour day month weekday): {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        if not TIMEZONE.fullmatch(v):
            raise ValueError(f"not a time zone name (UTC, Europe/Paris): {v!r}")
        return v

    @model_validator(mode="after")
    def _something(self) -> ScheduleEntry:
        if self.min is None and self.max is None and self.desired is None and self.warm_pool is None:
            raise ValueError("desired: give at least one of min, max, desired or warm_pool")
        return self


class AutoscalingSection(Model):
    name: str | None = None
    min: int = Field(default=1, ge=0)
    max: int = Field(default=10, ge=1)
    desired: int | None = Field(default=None, ge=0)
    policy: Literal["cpu", "none"] = Field(
        default="cpu", description="cpu: target tracking on average CPU; none: the application scales the group")
    cpu_target: float | None = Field(default=70, gt=0, le=100)
    warmup: int = Field(default=300, ge=0, le=3600)
    health_check_grace: int = Field(default=300, ge=0, le=7200)
    on_demand_percent: int = Field(default=100, ge=0, le=100)
    on_demand_base: int = Field(default=0, ge=0)
    instance_types: list[InstanceType] = []
    warm_pool: WarmPool | None = None
    subnets: list[str] = []
    launch_template: str | None = Field(default=None, description="an existing launch template by name")
    launch_config: str | None = Field(default=None, description="an existing launch configuration by name")
    target_groups: list[str] = Field(default=[], description="existing target groups (ARN or name) to attach")
    alb: str | None = Field(default=None, description="attach to this Application Load Balancer's target group")
    nlb: str | None = Field(default=None, description="attach to this Network Load Balancer's target groups")
    elb: str | None = Field(default=None, description="attach to this Classic Load Balancer")
    drain: DrainSection | None = Field(default=None, description="scale-in waits for live sessions")
    metric: Literal["viewers", "publishers", "bandwidth_out", "cpu"] | None = Field(
        default=None, description="target tracking on this per-server figure (the agent publishes it)")
    target: float | None = Field(default=None, gt=0, description="the metric's target per server")
    schedule: list[ScheduleEntry] = []

    @field_validator("nlb")
    @classmethod
    def _nlb(cls, v: str | None) -> str | None:
        if v is not None and not ELB_NAME.match(v):
            raise ValueError(f"not a load balancer name (1-32 letters, digits and hyphens, "
                             f"no hyphen at either end): {v!r}")
        return v

    @field_validator("instance_types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("an instance type is given twice")
        return v

    @field_validator("subnets")
    @classmethod
    def _subnets(cls, v: list[str]) -> list[str]:
        return subnet_ids(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not ASG_NAME.match(v):
            raise ValueError(f"an Auto Scaling group name has no colon and at most 240 characters: {v!r}")
        return v

    @property
    def mixed(self) -> bool:
        """A mixed-instances policy: several instance types, or some Spot capacity."""
        return len(self.instance_types) > 1 or self.on_demand_percent < 100

    @model_validator(mode="after")
    def _sizes(self) -> AutoscalingSection:
        if self.max < self.min:
            raise ValueError("max: must be ≥ autoscaling.min")
        if self.desired is not None and not self.min <= self.desired <= self.max:
            raise ValueError("desired: must be between autoscaling.min and autoscaling.max")
        if self.warm_pool is not None and len(self.instance_types) > 1:
            raise ValueError(
                "warm_pool: AWS does not support a warm pool on a group with a mixed instances policy "
                "(several instance_types)"
            )
        if self.warm_pool is not None and self.on_demand_percent < 100:
            raise ValueError(
                "warm_pool: AWS does not support a warm pool on a group with Spot instances "
                "(on_demand_percent below 100)"
            )
        return self._scaling()

    def _scaling(self) -> AutoscalingSection:
        if self.metric is not None and self.target is None:
            raise ValueError("target: autoscaling.metric needs a target per server")
        if self.target is not None and self.metric is None:
            raise ValueError("metric: autoscaling.target needs autoscaling.metric")
        if self.metric is not None and self.policy == "none":
            raise ValueError('metric: policy = "none" and a metric contradict each other')
        if len({e.name for e in self.schedule}) != len(self.schedule):
            raise ValueError("schedule: two entries have the same name")
        if self.warm_pool is None and any(e.warm_pool for e in self.schedule):
            raise ValueError("schedule: a warm_pool state needs an autoscaling.warm_pool")
        if self.launch_template is not None and self.launch_config is not None:
            raise ValueError("launch_config: give autoscaling.launch_template or autoscaling.launch_config, not both")
        if self.nlb is not None and (self.alb is not None or self.elb is not None):
            raise ValueError("nlb: give one of autoscaling.alb, autoscaling.nlb or autoscaling.elb")
        if (self.launch_template is not None or self.launch_config is not None) and len(self.instance_types) == 1:
            raise ValueError("instance_types: one type is the existing launch template's or configuration's "
                             "own choice; give several for a mixed-instances group")
        if self.launch_config is not None and self.mixed:
            raise ValueError("instance_types: a mixed-instances group needs a launch template, not a launch "
                             "configuration")
        return self


HAPROXY_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
HOSTNAME = validate.HOSTNAME
HAPROXY_TIME = re.compile(r"^\d{1,9}(us|ms|s|m|h|d)?\Z")
HAPROXY_TIME_MS = {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
HAPROXY_TIME_MAX_MS = 2**31 - 1  # HAProxy's timers hold milliseconds in a signed 32-bit int
# A file on the HAProxy host (the stats socket, the TLS PEM): an absolute path, nothing HAProxy
# would read as another word (no spaces, quotes or #).
HAPROXY_PATH = re.compile(r"/[A-Za-z0-9._@+/-]{1,4095}")


def _host(v: str) -> str:
    return validate.host(v)


COOKIE_KEY = re.compile(r"[A-Za-z0-9._-]{1,64}")


def dns_name(v: str) -> str:
    """A DNS name to resolve (full match): two labels or more, not an IP address, no trailing dot."""
    if (not validate.full(HOSTNAME, v) or "." not in v or v.rsplit(".", 1)[1].isdigit()):
        raise ValueError(f"not a DNS name (labels of letters, digits and hyphens, at least one dot): {v!r}")
    return v.lower()


def nameserver(v: str) -> str:
    """'169.254.169.253:53' or '[fd00::2]:53': an IP address and a port, normalised."""
    try:
        host, port = host_port(v, "IP:PORT")
        ip = validate.ip(host)
    except ValueError:
        raise ValueError(f"not IP:PORT (IPv6 as [addr]:port): {v!r}") from None
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def host_port(text: str, what: str = "HOST:PORT") -> tuple[str, int]:
    """'10.0.0.5:8080' -> ('10.0.0.5', 8080); '[::1]:8080' -> ('::1', 8080)."""
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})", text) or re.fullmatch(r"([^:\[\]]+):(\d{1,5})", text)
    if not m or not 1 <= int(m.group(2)) <= 65535:
        raise ValueError(f"not {what}: {text!r}")
    return _host(m.group(1)), int(m.group(2))


class HaproxyServer(Model):
    name: str
    host: str
    port: Port = 8080

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not HAPROXY_NAME.match(v):
            raise ValueError(f"HAProxy server names hold letters, digits and _.:- only: {v!r}")
        return v

    @field_validator("host")
    @classmethod
    def _check_host(cls, v: str) -> str:
        return _host(v)


# The Web SDK build the guide unpacks for nginx (seed 001, 1.4).
WEBSDK_URL = ("https://flashphoner.com/downloads/builds/flashphoner_client/wcs_api-2.0/"
              "flashphoner-api-2.0.206-7d9863ae4de631a59ff8793ddecd104ca2fd4a22.tar.gz")
DOWNLOAD_URL = re.compile(r"https://[A-Za-z0-9.-]+(:\d{1,5})?/[A-Za-z0-9._~%/+=-]*")
SHA256 = re.compile(r"[0-9a-f]{64}")
# A Secrets Manager secret: its name (letters, digits and /_+=.@-) or its ARN.
SECRET_ID = re.compile(r"(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}")


class HaproxyHost(Model):
    """``[haproxy] deploy = true``: the HAProxy tier on AWS (awslb/resources/haproxy_host.py).

    Its own keys only; the haproxy.cfg keys are :class:`HaproxySection`'s.
    """

    deploy: bool = Field(default=False, description="run the HAProxy host on AWS (a group of one with an Elastic IP)")
    ami: AmiId | None = Field(default=None, description="Amazon Linux 2023 (dnf, AWS CLI) or Debian/Ubuntu with the AWS CLI")
    instance_type: InstanceType = "c5.large"
    secondary_addresses: int = Field(default=0, ge=0, le=49, description="secondary private addresses on the "
                                     "host's interface, one `source` each (seed 004); the type's limit applies")
    pem_secret: str | None = Field(default=None, description="Secrets Manager secret (name or ARN) whose string "
                                   "is the PEM: certificate chain and key, read at boot by the host's role")
    key_name: str | None = None
    clients: list[str] = Field(default=["0.0.0.0/0", "::/0"], description="who may reach the frontend (443, 80)")
    websdk_url: str = Field(default=WEBSDK_URL, description="the Web SDK tarball nginx serves on 8180")
    websdk_sha256: str | None = Field(default=None, description="the tarball's SHA-256, checked when given")

    @field_validator("pem_secret")
    @classmethod
    def _secret(cls, v: str | None) -> str | None:
        if v is not None and not SECRET_ID.fullmatch(v):
            raise ValueError(f"not a Secrets Manager secret name or ARN: {v!r}")
        return v

    @field_validator("key_name")
    @classmethod
    def _host_key(cls, v: str | None) -> str | None:
        if v is not None and not KEY_NAME.fullmatch(v):
            raise ValueError(f"not a key pair name: {v!r}")
        return v

    @field_validator("clients")
    @classmethod
    def _host_clients(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one CIDR block")
        return [_cidr(c) for c in v]

    @field_validator("websdk_url")
    @classmethod
    def _sdk(cls, v: str) -> str:
        if not DOWNLOAD_URL.fullmatch(v):
            raise ValueError(f"an https:// URL of letters, digits and ._~%/+=- only: {v!r}")
        return v

    @field_validator("websdk_sha256")
    @classmethod
    def _sdk_sum(cls, v: str | None) -> str | None:
        if v is not None and not SHA256.fullmatch(v):
            raise ValueError(f"64 lower-case hex digits: {v!r}")
        return v

    @model_validator(mode="after")
    def _deployable(self) -> HaproxyHost:
        if self.deploy and self.ami is None:
            raise ValueError("ami: haproxy.deploy = true needs the host's image (ami-...)")
        if self.deploy and getattr(self, "source_addresses", []):
            raise ValueError("source_addresses: on AWS the host's own secondary addresses are the sources "
                             "(known at boot): set haproxy.secondary_addresses instead")
        if self.deploy and getattr(self, "tls", False) and self.pem_secret is None:
            raise ValueError("pem_secret: a TLS frontend on AWS needs the PEM from Secrets Manager "
                             "(the secret's name or ARN; it is read at boot, never put in user-data)")
        return self


class HaproxySection(HaproxyHost):
    balance: Literal["roundrobin", "leastconn"] = "roundrobin"
    sticky: bool = False
    maxconn: int = Field(default=100, ge=1, description="per server (seed 001: maxconn 100)")
    weight: int = Field(default=100, ge=0, le=256)
    agent_port: Port = 9707
    agent_inter: str = "5s"
    tls: bool = Field(default=True, description="TLS on the frontend (the guide's bind *:443 ssl crt ...)")
    tls_cert: str = "/etc/haproxy/certs/cert.pem"
    bind: str = Field(default="*", description="frontend address")
    port: Port = Field(default=443, description="frontend port")
    http_port: Port | None = Field(default=80, description="plain HTTP port redirecting to HTTPS; none to omit")
    source_addresses: list[str] = []
    servers: list[HaproxyServer] = []
    web_backend: str = "127.0.0.1:8180"
    system: bool = Field(default=True, description="run as the packaged service: chroot, user haproxy, syslog")
    stats_socket: str = "/run/haproxy/admin.sock"
    # server-template mode: HAProxy follows a DNS name (one A record per in-service server).
    discover: str | None = Field(default=None, description="DNS name with one A record per in-service "
                                 "media server; HAProxy resolves it at run time (server-template), no reload")
    discover_port: Port = Field(default=8080, description="the servers' WebSocket port (server-template mode)")
    slots: int = Field(default=10, ge=1, le=1000, description="server-template slots: the most servers "
                       "HAProxy can follow at once")
    nameservers: list[str] = Field(default=["169.254.169.253:53"], description="IP:PORT of the resolvers "
                                   "(default: the VPC's Amazon DNS)")
    dns_hold_valid: str = Field(default="10s", description="how often HAProxy resolves the name again")
    cookie_key: str | None = Field(default=None, description="dynamic-cookie-key for sticky server-template "
                                   "backends (default: the discover name); the same on every HAProxy host")

    @field_validator("agent_inter", "dns_hold_valid")
    @classmethod
    def _inter(cls, v: str) -> str:
        m = HAPROXY_TIME.match(v)
        if not m:
            raise ValueError(f"not an HAProxy time (5s, 2000ms, 1m): {v!r}")
        ms = int(v.rstrip("usmhd")) * HAPROXY_TIME_MS[m.group(1) or "ms"]
        if not 0 < ms <= HAPROXY_TIME_MAX_MS:  # haproxy -c: "invalid value 0", "timer overflow"
            raise ValueError(f"an HAProxy time above 0 and at most 24 days: {v!r}")
        return v

    @field_validator("bind")
    @classmethod
    def _bind(cls, v: str) -> str:
        return v if v == "*" else _host(v)

    @field_validator("source_addresses")
    @classmethod
    def _sources(cls, v: list[str]) -> list[str]:
        out = []
        for a in v:
            out.append(validate.ip(a, "IP address (no scope id)"))
        if len(set(out)) != len(out):
            raise ValueError("an address is given twice")
        return out

    @field_validator("discover")
    @classmethod
    def _discover(cls, v: str | None) -> str | None:
        return None if v is None else dns_name(v)

    @field_validator("nameservers")
    @classmethod
    def _nameservers(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("give at least one IP:PORT")
        out = [nameserver(a) for a in v]
        if len(set(out)) != len(out):
            raise ValueError("a nameserver is given twice")
        return out

    @field_validator("cookie_key")
    @classmethod
    def _cookie_key(cls, v: str | None) -> str | None:
        if v is not None and not validate.full(COOKIE_KEY, v):
            raise ValueError(f"1-64 letters, digits and ._- : {v!r}")
        return v

    @field_validator("stats_socket", "tls_cert")
    @classmethod
    def _path(cls, v: str) -> str:
        if not validate.full(HAPROXY_PATH, v) or "/../" in f"{v}/":
            raise ValueError(f"an absolute path of letters, digits and ._@+/- (no spaces, no ..): {v!r}")
        return v

    @field_validator("web_backend")
    @classmethod
    def _web(cls, v: str) -> str:
        host_port(v)
        return v

    @model_validator(mode="after")
    def _names(self) -> HaproxySection:
        seen: set[str] = set()
        for s in self.servers:
            if s.name in seen:
                raise ValueError(f"servers: two servers are named {s.name!r}")
            seen.add(s.name)
        if self.http_port is not None and self.http_port == self.port:
            raise ValueError("http_port: must differ from haproxy.port")
        if self.discover is not None and self.servers:
            raise ValueError("discover: give servers or discover (server-template), not both")
        return self


SSM_PARAMETER = re.compile(r"/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
INSTANCE_PROFILE = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}")
KEY_NAME = re.compile(r"[ -~]{1,255}")
PIP_SPEC = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=<>!~,\[\]:/@-]{0,255}")


class RedirectorSection(Model):
    """Least-loaded redirect (seeds 002, 004): redirector instances the edges report to."""

    ami: AmiId = Field(description="a plain Linux image with python3 and the AWS CLI (Amazon Linux 2023)")
    addresses: list[str] = Field(description="private IPv4 address of each redirector, in the stack's subnets; "
                                             "the edges report to all of them")
    key_parameter: str = Field(description="SSM SecureString holding the shared report key (awslb redirector keygen)")
    instance_profile: str = Field(description="instance profile allowed ssm:GetParameter on the parameters")
    admin_token_parameter: str | None = Field(default=None, description="SSM SecureString: bearer token of the "
                                                                        "drain/ready API (off without it)")
    instance_type: InstanceType = "t3.small"
    http_port: Port = 8088
    report_port: Port = 1934
    clients: list[str] = Field(default=["0.0.0.0/0", "::/0"], description="who may ask GET /redirect")
    server_info: bool = Field(default=False, description="serve GET /servers (off in production)")
    edge_address: Literal["public", "private"] = Field(
        default="public", description="the edges' address handed to clients: public or private IPv4")
    report_interval: float = Field(default=2.5, ge=0.5, le=60, description="seconds between an edge's reports")
    elastic_ip: bool = Field(default=False, description="an Elastic IP per redirector, for clients outside the VPC")
    key_name: str | None = None
    package: str = Field(default="awslb", description="what pip installs on the redirectors (a pin or a URL)")

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        if not 1 <= len(v) <= 5:
            raise ValueError("one to five redirectors")
        out = []
        for a in v:
            try:
                ip = ipaddress.IPv4Address(a)
            except ValueError:
                raise ValueError(f"not a private IPv4 address: {a!r}") from None
            if not ip.is_private or ip.is_loopback:
                raise ValueError(f"not a private IPv4 address: {a!r}")
            out.append(str(ip))
        if len(set(out)) != len(out):
            raise ValueError("an address is given twice")
        return out

    @field_validator("key_parameter", "admin_token_parameter")
    @classmethod
    def _parameter(cls, v: str | None) -> str | None:
        if v is not None and (not SSM_PARAMETER.fullmatch(v) or len(v) > 1011):
            raise ValueError(f"not an SSM parameter name (letters, digits, _.- and /): {v!r}")
        return v

    @field_validator("instance_profile")
    @classmethod
    def _profile(cls, v: str) -> str:
        if not INSTANCE_PROFILE.fullmatch(v):
            raise ValueError(f"not an instance profile name: {v!r}")
        return v

    @field_validator("clients")
    @classmethod
    def _clients(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one CIDR block")
        return [_cidr(c) for c in v]

    @field_validator("key_name")
    @classmethod
    def _key_name(cls, v: str | None) -> str | None:
        if v is not None and not KEY_NAME.fullmatch(v):
            raise ValueError(f"not a key pair name: {v!r}")
        return v

    @field_validator("package")
    @classmethod
    def _package(cls, v: str) -> str:
        if not PIP_SPEC.fullmatch(v):
            raise ValueError(f"not a pip requirement or URL: {v!r}")
        return v

    @model_validator(mode="after")
    def _ports(self) -> RedirectorSection:
        if self.http_port == self.report_port:
            raise ValueError("report_port: must differ from redirector.http_port")
        return self


ZONE_ID = re.compile(r"(/hostedzone/)?(Z[A-Z0-9]{1,31})")
ZONE_NAME = re.compile(r"(?=.{1,253}\.?\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?")
WEBHOOK_URL = re.compile(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


class DnsSection(Model):
    """Per-instance DNS (seed 003): a record per in-service server, kept by a Lambda function.

    The webhook secret is never written in the stack file: ``webhook_secret_file`` (a file
    holding it) or ``webhook_secret_env`` (an environment variable) says where awslb reads
    it when it makes or updates the function; the function keeps it in its environment.
    """

    zone: str = Field(description="the hosted zone, by name (media.example.com) or id (Z...)")
    address: Literal["private", "public"] = "private"
    record: str = Field(default="{instance_id}", description="{instance_id} or edge-{index}, in the zone")
    ttl: int = Field(default=60, ge=0, le=86400)
    webhook_url: str | None = None
    webhook_secret_file: str | None = None
    webhook_secret_env: str | None = None
    servers_record: str | None = Field(default=None, description="one name in the zone with an A record per "
                                       "in-service server (private addresses), for HAProxy's server-template")

    @field_validator("zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if not (ZONE_ID.fullmatch(v) or ZONE_NAME.fullmatch(v.lower())):
            raise ValueError(f"not a hosted zone id (Z...) or domain name: {v!r}")
        return v

    @field_validator("record")
    @classmethod
    def _record(cls, v: str) -> str:
        from awslb.node.dns import DnsConfigError, Naming

        try:
            Naming("example.com", v)
        except DnsConfigError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("servers_record")
    @classmethod
    def _servers_record(cls, v: str | None) -> str | None:
        from awslb.node.dns import DnsConfigError, servers_name

        if v is not None:
            try:
                servers_name("example.com", v)
            except DnsConfigError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not WEBHOOK_URL.fullmatch(v):
            raise ValueError(f"an https:// URL without spaces or control characters: {v!r}")
        return v

    @field_validator("webhook_secret_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not ENV_NAME.fullmatch(v):
            raise ValueError(f"not an environment variable name: {v!r}")
        return v

    @field_validator("webhook_secret_file")
    @classmethod
    def _file(cls, v: str | None) -> str | None:
        if v is not None and (not v or any(ord(c) < 32 for c in v)):
            raise ValueError("a file path without control characters")
        return v

    @model_validator(mode="after")
    def _secret(self) -> DnsSection:
        sources = (self.webhook_secret_file is not None) + (self.webhook_secret_env is not None)
        if self.webhook_url is not None and sources != 1:
            raise ValueError("webhook_secret_file: a webhook needs its secret from exactly one of "
                             "dns.webhook_secret_file or dns.webhook_secret_env")
        if self.webhook_url is None and sources:
            raise ValueError("webhook_url: a webhook secret without dns.webhook_url")
        return self

    @model_validator(mode="after")
    def _servers_apart(self) -> DnsSection:
        from awslb.node.dns import Naming, servers_name

        if self.servers_record is not None:
            sample = "example.com" if ZONE_ID.fullmatch(self.zone) else self.zone
            if Naming(sample, self.record).matches(servers_name(sample, self.servers_record)) is not None:
                raise ValueError(f"servers_record: {self.servers_record!r} is a name of dns.record's pattern "
                                 f"({self.record!r}): choose a name the per-instance records never take")
        return self


class OriginSection(Model):
    """The CDN origin the edges join (seeds 000, 003): a server that exists, or one the stack launches.

    Either ``instance`` (an id or Name tag: its private IP is looked up before any change) or
    ``address`` (one origin launched by the stack at this fixed private IPv4 address, from the
    launch's image, in the media servers' group, with the ``origin`` user-data). The edges'
    user-data gets that address as ``cdn_point_of_entry``.
    """

    instance: str | None = Field(default=None, description="an existing origin (i-... or its Name tag)")
    address: str | None = Field(default=None, description="launch one origin at this private IPv4 address")
    instance_type: InstanceType | None = Field(default=None, description="the launched origin's type (default: "
                                                                "launch.instance_type)")
    key_name: str | None = Field(default=None, description="its SSH key pair (default: launch.key_name)")
    vars: dict[str, str | int | bool | float] = Field(default={}, description="variables of the origin template")

    @field_validator("instance")
    @classmethod
    def _instance(cls, v: str | None) -> str | None:
        if v is not None and not validate.full(INSTANCE_REF, v):
            raise ValueError(f"not an instance id (i-...) or Name tag: {v!r}")
        return v

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ip = ipaddress.IPv4Address(v)
        except ValueError:
            raise ValueError(f"not a private IPv4 address: {v!r}") from None
        if not ip.is_private or ip.is_loopback:
            raise ValueError(f"not a private IPv4 address: {v!r}")
        return str(ip)

    @field_validator("key_name")
    @classmethod
    def _key(cls, v: str | None) -> str | None:
        if v is not None and not validate.full(KEY_NAME, v):
            raise ValueError(f"not a key pair name: {v!r}")
        return v

    @model_validator(mode="after")
    def _one(self) -> OriginSection:
        if (self.instance is None) == (self.address is None):
            raise ValueError("instance: give either origin.instance (an existing origin) or origin.address "
                             "(launch one), not both or neither")
        if self.instance is not None:
            extra = [k for k in ("instance_type", "key_name") if getattr(self, k) is not None]
            if extra or self.vars:
                raise ValueError(f"{extra[0] if extra else 'vars'}: only for a launched origin (origin.address)")
        return self


class StackSpec(Model):
    stack: StackSection = StackSection()
    image: ImageSection | None = None
    load_balancer: LoadBalancerSection | None = None
    launch: LaunchSection | None = None
    autoscaling: AutoscalingSection | None = None
    haproxy: HaproxySection | None = None
    redirector: RedirectorSection | None = None
    dns: DnsSection | None = None
    origin: OriginSection | None = None

    @property
    def name(self) -> str:
        return self.stack.name

    @model_validator(mode="after")
    def _cross(self) -> StackSpec:
        self._group_needs()
        self._servers_need()
        self._origin_needs()
        return self

    def _group_needs(self) -> None:
        asg, lb = self.autoscaling, self.load_balancer
        if asg is None:
            if self.dns is not None:
                raise ValueError("dns: per-instance DNS needs an [autoscaling] section (the group it follows)")
            return
        own_launch = asg.launch_template is None and asg.launch_config is None
        if own_launch and self.launch is None:
            raise ValueError("launch: an [autoscaling] section needs a [launch] section")
        if own_launch and self.launch is not None:
            if self.launch.kind == "config" and asg.mixed:
                raise ValueError("autoscaling.instance_types: a mixed-instances group needs a launch template "
                                 "(launch.kind = \"template\"), not a launch configuration")
            if len(asg.instance_types) == 1 and asg.instance_types[0] != self.launch.instance_type:
                raise ValueError("autoscaling.instance_types: one type must match launch.instance_type "
                                 "(give several for a mixed-instances group)")
        if asg.drain is not None and lb is not None and lb.type != "classic" \
                and lb.deregistration_delay > asg.drain.max_time:
            raise ValueError(f"load_balancer.deregistration_delay: {lb.deregistration_delay} s is longer than "
                             f"autoscaling.drain.max_time ({asg.drain.max_time} s): the server would be "
                             "terminated while the balancer still sends it connections")

    def _servers_need(self) -> None:
        if self.redirector is not None and self.launch is not None and self.launch.kind == "config":
            raise ValueError("redirector: the edges' reports need launch.kind = \"template\" (a launch "
                             "template carries the instance profile that reads the key)")
        if self.haproxy is not None and self.haproxy.deploy and not self.haproxy.servers \
                and self.haproxy.discover is None and (self.dns is None or self.dns.servers_record is None):
            raise ValueError("dns.servers_record: haproxy.deploy = true with no haproxy.servers follows the "
                             "group through DNS: set dns.servers_record (one A record per in-service server)")
        if self.launch is not None and self.launch.ami is None and self.image is None:
            raise ValueError("image: a [launch] section needs an [image] section or launch.ami")

    def _origin_needs(self) -> None:
        if self.origin is None:
            return
        if self.launch is None or self.launch.userdata == "none":
            raise ValueError("origin: an [origin] needs the edges' [launch] section with user-data "
                             "(launch.userdata = \"edge\") to feed its address to")
        if "cdn_point_of_entry" in self.launch.vars:
            raise ValueError("launch.vars.cdn_point_of_entry: [origin] sets it (the origin's address); "
                             "remove one of the two")


def port_range(text: str) -> tuple[int, int]:
    """'30000-33000' -> (30000, 33000); '1935' -> (1935, 1935)."""
    m = PORT_RANGE.match(text.strip())
    if not m:
        raise ValueError(f"not a port or port range: {text!r}")
    lo = int(m.group(1))
    hi = int(m.group(2) or lo)
    if not (1 <= lo <= hi <= 65535):
        raise ValueError(f"not a port range within 1-65535: {text!r}")
    return lo, hi


def describe_error(exc: ValidationError, prefix: str = "") -> str:
    """The first validation error as one line: 'autoscaling.max: must be ≥ autoscaling.min'."""
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"])
    for noise in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(noise)
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    m = re.fullmatch(r"([a-z_][a-z0-9_.]*): (.*)", msg, re.S)
    if m:
        path = f"{path}.{m.group(1)}" if path else m.group(1)
        msg = m.group(2)
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    return f"{path}: {msg}" if path else msg


def parse(data: dict[str, Any], source: str = "stack file") -> StackSpec:
    try:
        return StackSpec.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{source}: {describe_error(exc)}") from None


def load(path: str | Path) -> StackSpec:
    """Read and validate a stack file; every problem is one InputError naming the key."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"-f: no such stack file: {p}") from None
    except OSError as exc:
        raise InputError(f"-f: cannot read {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{p}: not valid TOML: nested too deeply") from None
    if not data:
        raise InputError(f"{p}: the stack file is empty (no [stack] section and no other key)")
    return parse(data, str(p))


def section(model: type[Model], values: dict[str, Any], prefix: str) -> Any:
    """Validate one section built from command-line flags; errors name the key."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InputError(describe_error(exc, prefix)) from None


def merge(spec: StackSpec, **sections: Any) -> StackSpec:
    """A new spec with the given sections replaced, validated as a whole."""
    data = spec.model_dump(exclude_none=True)
    for key, value in sections.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value.model_dump(exclude_none=True) if isinstance(value, BaseModel) else value
    return parse(data, "stack")
