"""Per-instance DNS: record names and the reconcile, as data (awslb.node.dns)."""

from __future__ import annotations

import pytest

from awslb.node import dns

ZONE = "media.example.com"
A = "i-0aaaaaaaaaaaaaaa1"
B = "i-0bbbbbbbbbbbbbbb2"
C = "i-0ccccccccccccccc3"


def rrs(name: str, iid: str | None, address: str | None, ttl: int = 60) -> list[dict]:
    out = []
    if address is not None:
        out.append({"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": address}]})
    if iid is not None:
        out.append({"Name": name, "Type": "TXT", "TTL": ttl,
                    "ResourceRecords": [{"Value": f'"awslb-instance={iid}"'}]})
    return out


@pytest.mark.parametrize("pattern, iid, index, want", [
    ("{instance_id}", A, 0, f"{A}.{ZONE}."),
    ("edge-{index}", "", 3, f"edge-3.{ZONE}."),
    ("{instance_id}.media.example.com", A, 0, f"{A}.{ZONE}."),
    ("EDGE-{index}.eu.", "", 12, f"edge-12.eu.{ZONE}."),
])
def test_names(pattern: str, iid: str, index: int, want: str) -> None:
    naming = dns.Naming(ZONE, pattern)
    assert naming.name(instance_id=iid, index=index) == want
    assert naming.matches(want) == (iid or str(index))


@pytest.mark.parametrize("zone, pattern", [
    (ZONE, "edge"),  # no placeholder
    (ZONE, "{index}-{instance_id}"),  # two
    (ZONE, "edge-{index}-{index}"),
    (ZONE, "edge_{index}"),  # not a host name
    (ZONE, "edge-{index}\nevil"),
    (ZONE, "-{index}"),
    ("localhost", "{instance_id}"),
    ("media.example.com\n", "{instance_id}"),
    (ZONE, "{instance_id}." + "x" * 64),
])
def test_bad_patterns(zone: str, pattern: str) -> None:
    with pytest.raises(dns.DnsConfigError):
        dns.Naming(zone, pattern)


def test_owned_needs_the_marker_and_the_pattern() -> None:
    naming = dns.Naming(ZONE, "edge-{index}")
    sets = (rrs(f"edge-1.{ZONE}.", A, "10.0.0.1") + rrs(f"edge-2.{ZONE}.", None, "10.0.0.2")  # not ours
            + rrs(f"www.{ZONE}.", B, "10.0.0.3")  # not the pattern
            + rrs(f"edge-4.{ZONE}.", C, None))  # a half-made one: marker only
    found = dns.owned(sets, naming)
    assert [(o.name, o.instance_id, o.address) for o in found] == [
        (f"edge-1.{ZONE}.", A, "10.0.0.1"), (f"edge-4.{ZONE}.", C, None)]


def test_reconcile_indexed_fills_the_lowest_free_index() -> None:
    naming = dns.Naming(ZONE, "edge-{index}")
    have = dns.owned(rrs(f"edge-1.{ZONE}.", A, "10.0.0.1") + rrs(f"edge-3.{ZONE}.", C, "10.0.0.3"), naming)
    changes = dns.reconcile({A: "10.0.0.1", B: "10.0.0.2"}, have, naming, 60)
    assert [(c.action, c.name, c.instance_id) for c in changes] == [
        ("DELETE", f"edge-3.{ZONE}.", C), ("CREATE", f"edge-2.{ZONE}.", B)]


def test_reconcile_updates_a_moved_address_and_scopes_to_one_instance() -> None:
    naming = dns.Naming(ZONE, "{instance_id}")
    have = dns.owned(rrs(naming.name(instance_id=A), A, "10.0.0.9") + rrs(naming.name(instance_id=C), C, "1.1.1.1"),
                     naming)
    changes = dns.reconcile({A: "10.0.0.1", B: "10.0.0.2"}, have, naming, 60, only=[A])
    assert [(c.action, c.instance_id, c.address) for c in changes] == [("UPSERT", A, "10.0.0.1")]
    full = dns.reconcile({A: "10.0.0.1", B: "10.0.0.2"}, have, naming, 60)
    assert sorted((c.action, c.instance_id) for c in full) == [("CREATE", B), ("DELETE", C), ("UPSERT", A)]


def test_reconcile_is_a_no_op_when_in_step() -> None:
    naming = dns.Naming(ZONE, "edge-{index}")
    have = dns.owned(rrs(f"edge-1.{ZONE}.", A, "10.0.0.1"), naming)
    assert dns.reconcile({A: "10.0.0.1"}, have, naming, 60) == []


def test_batch_carries_the_record_and_its_marker() -> None:
    change = dns.Change("CREATE", f"edge-1.{ZONE}.", A, "10.0.0.1", 30, "in service")
    assert change.batch() == [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"edge-1.{ZONE}.", "Type": "A", "TTL": 30,
                                                   "ResourceRecords": [{"Value": "10.0.0.1"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"edge-1.{ZONE}.", "Type": "TXT", "TTL": 30,
                                                   "ResourceRecords": [{"Value": f'"awslb-instance={A}"'}]}},
    ]
