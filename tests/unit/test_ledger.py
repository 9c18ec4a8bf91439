import json
from pathlib import Path

from awslb.ledger import Ledger
from awslb.resources.base import Observed


def test_ledger_round_trip_and_atomic_save(tmp_path: Path) -> None:
    led = Ledger("edge", tmp_path / "edge.json")
    led.spec = {"stack": {"name": "edge"}}
    led.record(Observed("security_group", "lb-sg", "sg-1", "edge-balancer", {"id": "sg-1"}))
    again = Ledger.load("edge", tmp_path / "edge.json")
    assert again.resources["lb-sg"].physical_id == "sg-1"
    assert again.spec == {"stack": {"name": "edge"}}
    assert [p.name for p in tmp_path.iterdir()] == ["edge.json"]  # no temp files left
    led.forget("lb-sg")
    assert json.loads((tmp_path / "edge.json").read_text())["resources"] == {}


def test_damaged_ledger_is_an_empty_cache(tmp_path: Path) -> None:
    (tmp_path / "edge.json").write_text("{not json")
    assert Ledger.load("edge", tmp_path / "edge.json").resources == {}
