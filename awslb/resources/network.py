"""The network a stack lives in (read-only): its VPC and one subnet per zone.

Not a resource awslb makes: the default VPC and its default subnets unless the stack names
a VPC or subnets. Looked up once per run, before the plan is made.
"""

from __future__ import annotations

from awslb.aws import Aws
from awslb.errors import InputError
from awslb.resources.base import Network
from awslb.spec import StackSpec


def lookup(aws: Aws, spec: StackSpec) -> Network:
    st = spec.stack
    if st.subnets:
        found = aws.paginate("ec2", "describe_subnets", "Subnets", SubnetIds=list(st.subnets))
        known = {s["SubnetId"] for s in found}
        for sid in st.subnets:
            if sid not in known:
                raise InputError(f"stack.subnets: no such subnet in {aws.region}: {sid}")
        in_vpcs = {s["VpcId"] for s in found}
        if len(in_vpcs) > 1:
            raise InputError(f"stack.subnets: the subnets are in different VPCs: {', '.join(sorted(in_vpcs))}")
        vpc = in_vpcs.pop()
        if st.vpc and st.vpc != vpc:
            raise InputError(f"stack.subnets: the subnets are in {vpc}, not in stack.vpc {st.vpc}")
        return Network(aws.region, vpc, tuple(s["SubnetId"] for s in found),
                       tuple(s["AvailabilityZone"] for s in found))

    if st.vpc:
        vpc = st.vpc
        if not aws.paginate("ec2", "describe_vpcs", "Vpcs", VpcIds=[vpc]):
            raise InputError(f"stack.vpc: no such VPC in {aws.region}: {vpc}")
        filters = [{"Name": "vpc-id", "Values": [vpc]}]
    else:
        vpcs = aws.paginate("ec2", "describe_vpcs", "Vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])
        if not vpcs:
            raise InputError(
                f"stack.vpc: {aws.region} has no default VPC: set stack.vpc and stack.subnets "
                "(or --subnet)"
            )
        vpc = vpcs[0]["VpcId"]
        filters = [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}]
    subnets = aws.paginate("ec2", "describe_subnets", "Subnets", Filters=filters)
    by_zone: dict[str, str] = {}
    for s in sorted(subnets, key=lambda s: (s["AvailabilityZone"], s["SubnetId"])):
        by_zone.setdefault(s["AvailabilityZone"], s["SubnetId"])
    if not by_zone:
        raise InputError(f"stack.subnets: {vpc} has no subnets: create some or set stack.subnets")
    zones = tuple(sorted(by_zone))
    return Network(aws.region, vpc, tuple(by_zone[z] for z in zones), zones)
