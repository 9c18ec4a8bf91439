import json
from pathlib import Path

import pytest

from awslb.errors import InputError
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


@pytest.mark.parametrize("text, needle", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"stack": "other", "resources": {}}', "the ledger of stack 'other', not of stack 'edge'"),
    ('{"stack": "edge", "resources": []}', "'resources' has the wrong type"),
    ('{"stack": "edge", "spec": "x"}', "'spec' has the wrong type"),
    ('{"stack": "edge", "resources": {"a": {"kind": "k"}}}', "resource 'a' is malformed"),
    ('{"stack": "edge", "resources": {"a": {"kind": "k", "id": "a", "physical_id": 5}}}', "resource 'a'"),
])
def test_a_ledger_of_the_wrong_shape_or_stack_is_one_error_naming_the_file(tmp_path: Path, text: str,
                                                                           needle: str) -> None:
    path = tmp_path / "edge.json"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        Ledger.load("edge", path)
    assert str(path) in err.value.message and needle in err.value.message
    assert err.value.exit_code == 4


def test_forget_keeps_a_replacements_new_entry(tmp_path: Path) -> None:
    ledger = Ledger("edge", tmp_path / "edge.json")
    ledger.record(Observed("k", "a", "new-1"))
    ledger.forget("a", "old-1")  # the old one's delete, after the new one was recorded
    assert ledger.resources["a"].physical_id == "new-1"
    ledger.forget("a", "new-1")
    assert "a" not in ledger.resources
