"""The CDN origin of a stack of edges ([origin]; seeds 000 and 003).

WCS CDN edges join an origin over WebSocket (``cdn_port``, 8084): each edge's
``cdn_point_of_entry`` is the origin's address. ``[origin]`` gives it in one of two ways:

- ``instance = "i-..."`` (or its Name tag): an origin that exists. Its private IPv4 address
  is looked up before any change (it must be in the stack's VPC); the stack never changes it.
  Its own security group must admit 8080-8084 and 8443-8445 from the stack's instance group.
- ``address = "10.0.1.10"``: one origin instance launched by the stack at that fixed private
  address (like a redirector, ``awslb/resources/redirector.py``, so the edges' user-data
  names it before it exists and a replacement keeps it), from the launch's image and type,
  in the media servers' security group (whose rule naming itself admits the CDN ports), with
  the ``origin`` user-data (``origin.vars``: its variables).

Either way the edges' launch template gets ``cdn_point_of_entry`` from it (see
:func:`server_vars`); giving ``launch.vars.cdn_point_of_entry`` as well is an error.
"""

from __future__ import annotations

import hashlib
from typing import Any

from awslb import names
from awslb.aws import Aws
from awslb.errors import InputError
from awslb.haproxy import CLIENT_IP_HEADER
from awslb.resources.base import Network, Resource
from awslb.resources.lookup import find_instances
from awslb.resources.redirector import TAG_USERDATA, Redirector, place
from awslb.spec import StackSpec
from awslb.userdata import get, render_userdata

LOGICAL_ID = "origin"
ADDRESS_FACT = "origin.address"
# Only to check the edges' variables before the look-up (TEST-NET-1, never sent to AWS).
CHECK_ADDRESS = "192.0.2.1"


def origin_address(spec: StackSpec, facts: Any, checking: bool = False) -> str:
    """The origin's private address: given, or looked up by the preflight."""
    origin = spec.origin
    assert origin is not None
    if origin.address is not None:
        return origin.address
    if ADDRESS_FACT in facts:
        return str(facts[ADDRESS_FACT])
    if checking:
        return CHECK_ADDRESS
    raise InputError(f"origin.instance: the address of {origin.instance} was not looked up")


def server_vars(spec: StackSpec, facts: Any, checking: bool = False) -> dict[str, Any]:
    """The media servers' user-data variables the stack implies (``launch.vars`` wins, where allowed).

    Behind HAProxy (seed 001) WCS takes the client's address from HAProxy's header; with an
    ``[origin]`` the edges join it.
    """
    out: dict[str, Any] = {}
    if spec.haproxy is not None:
        out.update(ws_map_custom_headers="true", ws_ip_forward_header=CLIENT_IP_HEADER)
    if spec.origin is not None:
        out["cdn_point_of_entry"] = origin_address(spec, facts, checking)
    return out


def with_implied(template: str, given: dict[str, Any], implied: dict[str, Any]) -> dict[str, Any]:
    """``given`` over what the stack implies, for the variables ``template`` has.

    The origin's address must reach the edges: a template without ``cdn_point_of_entry`` is
    an error naming launch.userdata.
    """
    variables = get(template, "launch.userdata").variables
    if "cdn_point_of_entry" in implied and "cdn_point_of_entry" not in variables:
        raise InputError(f"launch.userdata: {template!r} has no cdn_point_of_entry for the [origin]'s address "
                         "(use \"edge\")")
    return {**{k: v for k, v in implied.items() if k in variables}, **given}


def origin_userdata(spec: StackSpec) -> str:
    origin = spec.origin
    assert origin is not None
    return render_userdata("origin", origin.vars, key="origin.vars", template_key="origin")


class Origin(Redirector):
    """The origin instance ``[origin] address = ...`` launches (a redirector's life cycle)."""

    kind = "origin"
    label = "CDN origin"
    rank = 55  # before the edges' launch template and group
    prefix = LOGICAL_ID
    section = "origin"

    def preflight(self, aws: Aws, spec: StackSpec, net: Network) -> dict[str, Any]:
        origin = spec.origin
        if origin is None:
            return {}
        if origin.address is not None:
            origin_userdata(spec)  # its variables: an error before any other look-up
            return {"origin.subnet": place(aws, net, [origin.address], "origin.address")[origin.address]}
        assert origin.instance is not None
        inst = find_instances(aws, [origin.instance], "origin.instance")[0]
        if net.vpc_id and inst.get("VpcId") != net.vpc_id:
            raise InputError(f"origin.instance: {inst['InstanceId']} is in {inst.get('VpcId')}, the stack in "
                             f"{net.vpc_id}: the edges reach the origin by its private address")
        address = inst.get("PrivateIpAddress")
        if not address:
            raise InputError(f"origin.instance: {inst['InstanceId']} has no private IPv4 address")
        return {ADDRESS_FACT: address}

    def desired(self, spec: StackSpec, net: Network) -> list[Resource]:
        origin = spec.origin
        if origin is None or origin.address is None:
            return []
        from awslb.resources.launch_template import image_id, security_groups

        launch = spec.launch
        assert launch is not None  # StackSpec checks it
        script = origin_userdata(spec)
        digest = hashlib.sha256(script.encode()).hexdigest()[:16]
        name = names.physical(spec.name, LOGICAL_ID)
        return [Resource(self.kind, LOGICAL_ID, name, {
            "ami": image_id(spec),
            "instance_type": origin.instance_type or launch.instance_type,
            "private_ip": origin.address,
            "subnet": net.facts.get("origin.subnet", net.subnets[0] if net.subnets else ""),
            # The media servers' group: its rule naming itself opens the CDN ports to the edges.
            "security_groups": security_groups(spec),
            "instance_profile": None,
            "key_name": origin.key_name or launch.key_name,
            "user_data": script,
            "user_data_digest": digest,
            "tags": {**names.tags(spec.name, LOGICAL_ID, name, spec.stack.tags), TAG_USERDATA: digest},
        })]

    def operations(self) -> dict[str, list[str]]:
        return {"read": ["ec2:DescribeInstances", "ec2:DescribeImages", "ec2:DescribeSubnets"],
                "write": ["ec2:RunInstances", "ec2:CreateTags", "ec2:TerminateInstances"]}
