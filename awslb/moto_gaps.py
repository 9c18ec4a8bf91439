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
- moto has none of AWS's managed policies unless told to load all 1,582 of them; AWS always
  has them. The ones awslb attaches (``AmazonSSMManagedInstanceCore`` for ``launch.ssm``)
  are there.
- moto's ``ModifyListener`` refuses every protocol but HTTP, HTTPS and TCP; AWS switches an
  NLB's TCP listener to TLS in place (with a certificate and a policy) and back. Here TLS
  is applied as AWS documents it (a TLS listener needs exactly one certificate).

Only moto objects are touched; nothing here runs against AWS.

Apart from the gaps, :func:`small_image_catalogue` keeps moto from loading its ~1,300
public images per region (every region's EC2 emulation parses them; a ``DescribeImages``
of Amazon's images serializes them all): the sandbox and the tests use moto's 44 classic
sample images instead, which cuts seconds of CPU from every emulated account.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any


def small_image_catalogue() -> None:
    """Point moto at its own short image list (``MOTO_AMIS_PATH``); call before moto's EC2 loads.

    Leaves an existing ``MOTO_AMIS_PATH`` alone. The list is moto's ``amis.json``, unpacked
    once into the temporary directory (moto reads the path with a plain ``open``).
    """
    if "MOTO_AMIS_PATH" in os.environ:
        return
    spec = find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        return
    packed = Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources" / "amis.json.gz"
    if not packed.is_file():
        return
    target = Path(tempfile.gettempdir()) / f"awslb-moto-amis-{packed.stat().st_size}.json"
    if not target.is_file():
        data = gzip.decompress(packed.read_bytes())
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, target)
    os.environ["MOTO_AMIS_PATH"] = str(target)


# AWS's managed policies that awslb attaches (``launch.ssm = true``). moto has AWS's
# managed policies only with MOTO_IAM_LOAD_MANAGED_POLICIES (1,582 of them, parsed for every
# account); AWS always has them: these few are there either way.
AWS_POLICIES = ("AmazonSSMManagedInstanceCore",)


@functools.cache
def _aws_policy_documents() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    every = json.loads(aws_managed_policies_data)
    return {name: every[name] for name in AWS_POLICIES if name in every}


def patches() -> list[tuple[Any, str, Any]]:
    """(object, attribute, replacement) triples; `install` applies them for good."""
    from moto.ec2.models.amis import AmiBackend
    from moto.elb.models import ELBBackend, FakeListener
    from moto.elbv2.models import ELBv2Backend
    from moto.iam.models import AWSManagedPolicy, IAMBackend
    from moto.ssm.responses import SimpleSystemManagerResponse

    create_image = AmiBackend.create_image
    init_aws_policies = IAMBackend._init_aws_policies

    def aws_policies_awslb_attaches(self: Any) -> list[Any]:
        loaded = init_aws_policies(self)
        if loaded:
            return loaded
        return [AWSManagedPolicy.from_data(name, self.account_id, self.region_name, doc)
                for name, doc in _aws_policy_documents().items()]
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

    def describe_instance_information(self: Any) -> str:
        return '{"InstanceInformationList": []}'

    return [
        (IAMBackend, "_init_aws_policies", aws_policies_awslb_attaches),
        (SimpleSystemManagerResponse, "describe_instance_information", describe_instance_information),
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
