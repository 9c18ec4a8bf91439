"""Places where moto 5.2 differs from AWS's documented behaviour in awslb's flows.

The sandbox (``--sandbox``) installs these so the flow runs there as it does on AWS, and
the tests of the image and Classic balancer kinds install them for the same reason:

- ``CreateImage`` with a ``snapshot`` TagSpecification raises NotImplementedError in moto
  (HTTP 500 from its server); AWS tags the new snapshots. Here the snapshot tags are
  applied to the image's snapshot after moto made the image.
- moto ignores a Classic listener's ``InstanceProtocol`` and reports the front protocol
  instead (an SSL→TCP listener reads back as SSL→SSL); AWS keeps what was asked.
- moto has no SSM ``DescribeInstanceInformation`` (HTTP 500 from its server). Its instances
  run no SSM agent, so AWS's answer for them is an empty list: that is what it answers
  (`awslb status --via ssm` then says the servers are not managed by SSM, as on AWS).

Only moto objects are touched; nothing here runs against AWS.
"""

from __future__ import annotations

from typing import Any


def patches() -> list[tuple[Any, str, Any]]:
    """(object, attribute, replacement) triples; `install` applies them for good."""
    from moto.ec2.models.amis import AmiBackend
    from moto.elb.models import ELBBackend, FakeListener
    from moto.ssm.responses import SimpleSystemManagerResponse

    create_image = AmiBackend.create_image
    create_lb = ELBBackend.create_load_balancer
    create_listeners = ELBBackend.create_load_balancer_listeners

    def create_image_tagging_snapshots(self: Any, instance_id: str, name: str, description: str,
                                       tag_specifications: list[dict[str, Any]]) -> Any:
        snap_tags = [t for s in tag_specifications if s.get("ResourceType") == "snapshot" for t in s["Tags"]]
        rest = [s for s in tag_specifications if s.get("ResourceType") != "snapshot"]
        ami = create_image(self, instance_id, name, description, tag_specifications=rest)
        for tag in snap_tags:
            ami.ebs_snapshot.add_tag(tag["Key"], tag["Value"])
        return ami

    def remember(balancer: Any, ports: list[dict[str, Any]]) -> None:
        wanted = {int(p["LoadBalancerPort"]): p.get("InstanceProtocol") for p in ports}
        for listener in getattr(balancer, "listeners", []):
            proto = wanted.get(int(listener.load_balancer_port))
            if proto and "_instance_protocol" not in listener.__dict__:
                listener._instance_protocol = str(proto).upper()

    def create_lb_keeping_protocols(self: Any, name: str, zones: list[str], ports: list[dict[str, Any]],
                                    *args: Any, **kwargs: Any) -> Any:
        balancer = create_lb(self, name, zones, ports, *args, **kwargs)
        remember(balancer, ports)
        return balancer

    def create_listeners_keeping_protocols(self: Any, name: str, ports: list[dict[str, Any]]) -> Any:
        balancer = create_listeners(self, name, ports)
        remember(self.load_balancers.get(name), ports)
        return balancer

    def instance_protocol(self: Any) -> str:
        return str(self.__dict__.get("_instance_protocol") or self.protocol)

    def describe_instance_information(self: Any) -> str:
        return '{"InstanceInformationList": []}'

    return [
        (SimpleSystemManagerResponse, "describe_instance_information", describe_instance_information),
        (AmiBackend, "create_image", create_image_tagging_snapshots),
        (ELBBackend, "create_load_balancer", create_lb_keeping_protocols),
        (ELBBackend, "create_load_balancer_listeners", create_listeners_keeping_protocols),
        (FakeListener, "instance_protocol", property(instance_protocol)),
    ]


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        for obj, attr, value in patches():
            setattr(obj, attr, value)
        _installed = True
