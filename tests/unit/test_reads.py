"""A planning pass asks AWS each distinct read once (awslb/reads.py); writes always go out."""

from typing import Any

from awslb.reads import CachedReads


class Door:
    region = "eu-west-1"

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, dict]] = []

    def call(self, service: str, operation: str, *, region: Any = None, **params: Any) -> dict:
        self.asked.append((service, operation, params))
        return {"Items": [{"n": len(self.asked)}]}

    find = call

    def paginate(self, service: str, operation: str, key: str, *, region: Any = None, **params: Any) -> list:
        self.asked.append((service, operation, params))
        return [{"n": len(self.asked)}]


def test_the_same_read_goes_out_once_and_answers_are_copies() -> None:
    door = Door()
    reads = CachedReads(door)  # type: ignore[arg-type]
    first = reads.call("ec2", "describe_vpcs", Filters=[{"Name": "x", "Values": ["1"]}])
    first["Items"].append("changed by a caller")
    again = reads.call("ec2", "describe_vpcs", Filters=[{"Name": "x", "Values": ["1"]}])
    assert again == {"Items": [{"n": 1}]} and reads.hits == 1
    reads.call("ec2", "describe_vpcs", Filters=[{"Name": "x", "Values": ["2"]}])  # other parameters: asked
    assert reads.paginate("elbv2", "describe_target_groups", "TargetGroups") == [{"n": 3}]
    assert reads.paginate("elbv2", "describe_target_groups", "TargetGroups") == [{"n": 3}]
    assert reads.find("ec2", "describe_vpcs", Filters=[{"Name": "x", "Values": ["1"]}]) == {"Items": [{"n": 4}]}
    assert len(door.asked) == 4 and reads.region == "eu-west-1"


def test_writes_are_never_answered_from_memory() -> None:
    door = Door()
    reads = CachedReads(door)  # type: ignore[arg-type]
    reads.call("ec2", "create_tags", Resources=["x"])
    reads.call("ec2", "create_tags", Resources=["x"])
    assert len(door.asked) == 2 and reads.hits == 0
