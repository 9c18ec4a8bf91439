"""Places where moto 5.2 differs from AWS's documented behaviour in the guides' flows.

The sandbox (``--sandbox``) installs these so the flow runs there as it does on AWS, and
the tests of the image and Classic balancer kinds install them for the same reason:

- ``CreateImage`` with a ``snapshot`` TagSpecification raises NotImplementedError in moto
  (HTTP 500 from its server); AWS tags the new snapshots. Here the snapshot tags are
  applied to the image's snapshot after moto made the image.
- moto ignores a Classic listener's ``InstanceProtocol`` and reports the front protocol
  instead (an SSL→TCP listener reads back as SSL→SSL); AWS keeps what was asked.
- moto's ``ModifyListener`` refuses every protocol but HTTP, HTTPS and TCP; AWS switches an
  NLB's TCP listener to TLS in place (with a certificate and a policy) and back. Here TLS
  is applied as AWS documents it (a TLS listener needs exactly one certificate).

Only moto objects are touched; nothing here runs against AWS.
"""

from __future__ import annotations

from typing import Any


def patches() -> list[tuple[Any, str, Any]]:
    """(object, attribute, replacement) triples; `install` applies them for good."""
    from moto.ec2.models.amis import AmiBackend
    from moto.elb.models import ELBBackend, FakeListener
    from moto.elbv2.models import ELBv2Backend

    create_image = AmiBackend.create_image
    create_lb = ELBBackend.create_load_balancer
    create_listeners = ELBBackend.create_load_balancer_listeners
    modify_listener_to_tls = _tls_listener(ELBv2Backend.modify_listener)

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

    return [
        (AmiBackend, "create_image", create_image_tagging_snapshots),
        (ELBBackend, "create_load_balancer", create_lb_keeping_protocols),
        (ELBBackend, "create_load_balancer_listeners", create_listeners_keeping_protocols),
        (FakeListener, "instance_protocol", property(instance_protocol)),
        (ELBv2Backend, "modify_listener", modify_listener_to_tls),
    ]


def _tls_listener(modify_listener: Any) -> Any:
    """ModifyListener that also switches to TLS (moto refuses it), as AWS does."""
    from moto.elbv2.exceptions import ELBClientError as RESTError

    def modify_listener_to_tls(self: Any, arn: str, port: Any = None, protocol: str | None = None,
                               ssl_policy: str | None = None, certificates: Any = None, actions: Any = None) -> Any:
        if protocol != "TLS":
            return modify_listener(self, arn, port, protocol, ssl_policy, certificates, actions)
        if not certificates or len(certificates) != 1:
            raise RESTError("CertificateWereNotPassed",
                            "You must provide a list containing exactly one certificate if the listener protocol "
                            "is TLS.")
        cert = certificates[0]["CertificateArn"]
        if not self._certificate_exists(certificate_arn=cert):
            raise RESTError("CertificateNotFound", f"Certificate {cert} not found")
        listener = modify_listener(self, arn, port, None, ssl_policy, None, actions)
        listener.protocol, listener.certificate, listener.certificates = "TLS", cert, [cert]
        return listener

    return modify_listener_to_tls


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        for obj, attr, value in patches():
            setattr(obj, attr, value)
        _installed = True
