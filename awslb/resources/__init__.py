"""The resource kinds awslb manages, one module each, in creation order.

Adding a kind: write a module with a :class:`~awslb.resources.base.Kind` subclass and
add it to ``KINDS`` below. Everything else (plan, apply, ledger, down, status) follows.
"""

from __future__ import annotations

from awslb.resources.autoscaling_group import AutoscalingGroup
from awslb.resources.base import Kind
from awslb.resources.classic_lb import ClassicLoadBalancer
from awslb.resources.dns_function import DnsFunction
from awslb.resources.events_rule import EventsRule
from awslb.resources.haproxy_host import HaproxyGroup, HaproxyTemplate
from awslb.resources.iam_role import IamRole
from awslb.resources.image import Image
from awslb.resources.launch_config import LaunchConfig
from awslb.resources.launch_template import LaunchTemplate
from awslb.resources.listener import Listener
from awslb.resources.load_balancer import LoadBalancer
from awslb.resources.origin import Origin
from awslb.resources.redirector import ElasticIp, Redirector
from awslb.resources.schedule import WarmPoolSchedule
from awslb.resources.security_group import SecurityGroup
from awslb.resources.target_group import TargetGroup

KINDS: tuple[Kind, ...] = (
    SecurityGroup(),
    TargetGroup(),
    LoadBalancer(),
    Listener(),
    Image(),
    ClassicLoadBalancer(),
    Origin(),
    LaunchTemplate(),
    LaunchConfig(),
    AutoscalingGroup(),
    Redirector(),
    ElasticIp(),
    HaproxyTemplate(),
    HaproxyGroup(),
    IamRole(),
    DnsFunction(),
    EventsRule(),
    WarmPoolSchedule(),
)


def registry() -> dict[str, Kind]:
    return {k.kind: k for k in sorted(KINDS, key=lambda k: k.rank)}
