"""Per-instance DNS for a media-server group (seed 003), kept by AWS itself.

WebRTC clients connect to one server, not to a balancer, so every server of the group
gets its own record: ``{instance_id}.media.example.com`` or ``edge-{index}.media.example.com``.
An EventBridge rule on the group's lifecycle events invokes a Lambda function whose handler
is :func:`awslb.node.dns_handler.handler`; ``awslb dns sync`` runs the same reconcile from
the operator's machine. Both use the pure functions here.

Ownership is recorded in Route53 itself: next to each A record, a TXT record at the same
name holds ``"awslb-instance=<instance id>"``. A record without that marker is never
touched, and the marker says which record to delete when an instance goes away (a
terminated instance no longer has an address to look it up by).

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MARKER = "awslb-instance="
# The servers record (one name, an A record per in-service server) is marked by group.
SERVERS_MARKER = "awslb-servers="
GROUP_NAME = re.compile(r"[^\x00-\x1f\x7f\"\\]{1,255}")
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
PLACEHOLDERS = {"{instance_id}": r"(i-[0-9a-f]{8,17})", "{index}": r"([1-9][0-9]{0,5})"}


class DnsConfigError(ValueError):
    """A record pattern or zone name that cannot make valid record names."""


@dataclass(frozen=True)
class Naming:
    """How records are named in a zone: ``pattern`` holds ``{instance_id}`` or ``{index}``."""

    zone: str  # the hosted zone's name, e.g. "media.example.com" (no trailing dot)
    pattern: str  # "{instance_id}" or "edge-{index}" (relative), or a full name in the zone

    def __post_init__(self) -> None:
        zone = self.zone.rstrip(".").lower()
        if not re.fullmatch(rf"{LABEL}(\.{LABEL})+", zone):
            raise DnsConfigError(f"zone {self.zone!r} is not a domain name")
        object.__setattr__(self, "zone", zone)
        pattern = self.pattern.rstrip(".").lower()
        if pattern == zone or pattern.endswith("." + zone):
            pattern = pattern[: -len(zone) - 1]
        holes = [p for p in PLACEHOLDERS if p in pattern]
        if len(holes) != 1 or pattern.count(holes[0]) != 1:
            raise DnsConfigError(
                f"record pattern {self.pattern!r} must hold exactly one of {{instance_id}} or {{index}}")
        sample = pattern.replace("{instance_id}", "i-0123456789abcdef0").replace("{index}", "1")
        if not re.fullmatch(rf"{LABEL}(\.{LABEL})*", sample):
            raise DnsConfigError(f"record pattern {self.pattern!r} does not make valid DNS names")
        object.__setattr__(self, "pattern", pattern)

    @property
    def indexed(self) -> bool:
        return "{index}" in self.pattern

    def name(self, instance_id: str = "", index: int = 0) -> str:
        """The record's full name, with the trailing dot Route53 uses."""
        rel = self.pattern.replace("{instance_id}", instance_id).replace("{index}", str(index))
        return f"{rel}.{self.zone}."

    def matches(self, fqdn: str) -> str | None:
        """The placeholder's value when ``fqdn`` is one of this pattern's names, else None."""
        regex = re.escape(self.pattern)
        for hole, group in PLACEHOLDERS.items():
            regex = regex.replace(re.escape(hole), group)
        m = re.fullmatch(rf"{regex}\.{re.escape(self.zone)}\.?", fqdn.lower())
        return m.group(1) if m else None


@dataclass(frozen=True)
class Owned:
    """A record this tool made: its name, the instance it belongs to, its address and TTL."""

    name: str
    instance_id: str
    address: str | None
    ttl: int


@dataclass(frozen=True)
class Change:
    """One Route53 change for one instance: UPSERT or CREATE (A + marker), or DELETE."""

    action: str  # "CREATE" (new: fails if the name is taken) | "UPSERT" (ours) | "DELETE"
    name: str
    instance_id: str
    address: str | None
    ttl: int
    reason: str

    def batch(self) -> list[dict[str, object]]:
        """The ChangeBatch entries: the A record and its ownership marker together."""
        sets: list[dict[str, object]] = []
        if self.address is not None:
            sets.append({"Name": self.name, "Type": "A", "TTL": self.ttl,
                         "ResourceRecords": [{"Value": self.address}]})
        sets.append({"Name": self.name, "Type": "TXT", "TTL": self.ttl,
                     "ResourceRecords": [{"Value": f'"{MARKER}{self.instance_id}"'}]})
        # A marker with no A record (a half-made record) is deleted on its own.
        return [{"Action": self.action, "ResourceRecordSet": s} for s in sets]


def owned(record_sets: Iterable[Mapping[str, object]], naming: Naming) -> list[Owned]:
    """The records of ``naming`` that carry the awslb marker, from ListResourceRecordSets."""
    markers: dict[str, tuple[str, int]] = {}
    addresses: dict[str, str] = {}
    for rs in record_sets:
        name = str(rs.get("Name", "")).lower()
        if naming.matches(name) is None:
            continue
        records = rs.get("ResourceRecords") or []
        values = [str(r.get("Value", "")) for r in records] if isinstance(records, list) else []
        if rs.get("Type") == "TXT":
            for v in values:
                text = v.strip('"')
                if text.startswith(MARKER) and INSTANCE_ID.fullmatch(text[len(MARKER):]):
                    markers[name] = (text[len(MARKER):], int(str(rs.get("TTL", 60))))
        elif rs.get("Type") == "A" and len(values) == 1:
            addresses[name] = values[0]
    return [Owned(name, iid, addresses.get(name), ttl) for name, (iid, ttl) in sorted(markers.items())]


def in_use(record_sets: Iterable[Mapping[str, object]], naming: Naming) -> set[str]:
    """The ``{index}`` / ``{instance_id}`` values of every record of the pattern, ours or not."""
    return {v for rs in record_sets if (v := naming.matches(str(rs.get("Name", "")))) is not None}


def reconcile(want: Mapping[str, str], have: Iterable[Owned], naming: Naming, ttl: int,
              only: Iterable[str] | None = None, taken: Iterable[str] = ()) -> list[Change]:
    """The changes that give every instance in ``want`` (id -> address) exactly one record and
    no other instance any. ``only`` limits the changes to those instances (one event);
    ``taken`` holds the names' values used by records that are not ours (never reused)."""
    scope = set(only) if only is not None else None
    have = list(have)
    changes: list[Change] = []
    by_instance: dict[str, list[Owned]] = {}
    for rec in have:
        by_instance.setdefault(rec.instance_id, []).append(rec)
    used = {v for r in have if (v := naming.matches(r.name)) is not None} | set(taken)
    for iid, recs in sorted(by_instance.items()):
        if scope is not None and iid not in scope:
            continue
        keep = recs[0] if iid in want else None
        for rec in recs:
            if rec is not keep:
                why = "not in service" if iid not in want else "a second record for the instance"
                changes.append(Change("DELETE", rec.name, iid, rec.address, rec.ttl, why))
        if keep is not None and (keep.address != want[iid] or keep.ttl != ttl):
            changes.append(Change("UPSERT", keep.name, iid, want[iid], ttl,
                                  f"address {keep.address} -> {want[iid]}" if keep.address != want[iid]
                                  else f"ttl {keep.ttl} -> {ttl}"))
    index = 0
    for iid, address in sorted(want.items()):
        if iid in by_instance or (scope is not None and iid not in scope):
            continue
        if naming.indexed:
            index += 1
            while str(index) in used:
                index += 1
            used.add(str(index))
            changes.append(Change("CREATE", naming.name(index=index), iid, address, ttl, "in service"))
        else:
            # CREATE, not UPSERT: a record of that name that is not ours makes the change fail.
            changes.append(Change("CREATE", naming.name(instance_id=iid), iid, address, ttl, "in service"))
    return changes


# -- the servers record: one name, every in-service server's private address ------------------

def servers_name(zone: str, record: str) -> str:
    """``servers`` (relative) or ``servers.media.example.com`` -> the full name with its dot."""
    zone_n = zone.rstrip(".").lower()
    if not re.fullmatch(rf"{LABEL}(\.{LABEL})+", zone_n):
        raise DnsConfigError(f"zone {zone!r} is not a domain name")
    rel = record.rstrip(".").lower()
    if rel == zone_n or rel.endswith("." + zone_n):
        rel = rel[: -len(zone_n) - 1]
    if not re.fullmatch(rf"{LABEL}(\.{LABEL})*", rel):
        raise DnsConfigError(f"servers record {record!r} is not a DNS name in the zone (letters, digits, hyphens)")
    return f"{rel}.{zone_n}."


def servers_batch(record_sets: Iterable[Mapping[str, object]], name: str, group: str,
                  addresses: Iterable[str], ttl: int) -> list[dict[str, object]]:
    """The Route53 changes that make ``name`` hold exactly ``addresses`` (A, one value each),
    marked as the group's by a TXT record at the same name; [] when it already does.

    A name held by a record that is not this group's (no marker, or another group's) is
    never touched: DnsConfigError. No address left deletes the A record and its marker.
    """
    if not GROUP_NAME.fullmatch(group):
        raise DnsConfigError(f"group name {group!r} cannot be a marker")
    want = sorted(set(addresses))
    a_set: Mapping[str, object] | None = None
    txt_set: Mapping[str, object] | None = None
    for rs in record_sets:
        if str(rs.get("Name", "")).lower() != name.lower():
            continue
        if rs.get("Type") == "A":
            a_set = rs
        elif rs.get("Type") == "TXT":
            txt_set = rs
    marker = f'"{SERVERS_MARKER}{group}"'
    ours = txt_set is not None and marker in [str(r.get("Value")) for r in _values(txt_set)]
    if (a_set is not None or txt_set is not None) and not ours:
        raise DnsConfigError(f"{name.rstrip('.')} exists and is not marked {SERVERS_MARKER}{group}: "
                             "left alone (choose another dns.servers_record or delete it)")
    mark = {"Name": name, "Type": "TXT", "TTL": ttl, "ResourceRecords": [{"Value": marker}]}
    if not want:
        out: list[dict[str, object]] = [] if a_set is None else [{"Action": "DELETE",
                                                                   "ResourceRecordSet": dict(a_set)}]
        return out + ([] if txt_set is None else [{"Action": "DELETE", "ResourceRecordSet": dict(txt_set)}])
    have = sorted(str(r.get("Value")) for r in _values(a_set)) if a_set is not None else None
    if have == want and a_set is not None and a_set.get("TTL") == ttl and txt_set is not None \
            and txt_set.get("TTL") == ttl:
        return []
    record = {"Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": a} for a in want]}
    # CREATE when the name is free: a record someone makes meanwhile makes the change fail.
    action = "UPSERT" if ours else "CREATE"
    return [{"Action": action, "ResourceRecordSet": record}, {"Action": action, "ResourceRecordSet": mark}]


def servers_held(record_sets: Iterable[Mapping[str, object]], name: str, group: str) -> list[str]:
    """The addresses of the servers record when it is the group's, else []."""
    try:
        batch = servers_batch(record_sets, name, group, [], 60)
    except DnsConfigError:
        return []
    for change in batch:
        rs = change["ResourceRecordSet"]
        if isinstance(rs, Mapping) and rs.get("Type") == "A":
            return sorted(str(r.get("Value")) for r in _values(rs))
    return []


def _values(rs: Mapping[str, object]) -> list[Mapping[str, object]]:
    records = rs.get("ResourceRecords") or []
    return [r for r in records if isinstance(r, Mapping)] if isinstance(records, list) else []
