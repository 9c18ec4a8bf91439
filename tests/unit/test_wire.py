"""The signed load report: what is accepted and why everything else is dropped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from awslb.node import wire

KEY = b"k" * 32
NOW = 1_800_000_000.0


def report(**kw) -> wire.Report:
    base = dict(id="i-0abc", address="203.0.113.10", state="up",
                figures={"publishers": 1, "subscribers": 20, "hls": 0, "cpu": 12.5, "band_in": None},
                limits={"publishers": 100, "subscribers": 100, "hls": 100, "cpu": 90}, interval=2.5)
    base.update(kw)
    return wire.Report(**base)


def test_round_trip_keeps_every_field() -> None:
    r = report(apps=("live", "vod"))
    d = wire.verify(wire.encode(r, KEY, 7, now=NOW), KEY, now=NOW + 1)
    assert d.seq == 7 and d.timestamp == pytest.approx(NOW)
    assert d.report.id == "i-0abc" and d.report.address == "203.0.113.10" and d.report.apps == ("live", "vod")
    assert d.report.figures == {"publishers": 1, "subscribers": 20, "hls": 0, "cpu": 12.5}  # None: not sent
    assert d.report.limits["cpu"] == 90 and d.report.interval == 2.5


@pytest.mark.parametrize("mutate, reason", [
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "bad signature"),              # tag altered
    (lambda d: d[:30] + bytes([d[30] ^ 0x20]) + d[31:], "bad signature"),   # payload altered
    (lambda d: d[:10] + bytes([d[10] ^ 1]) + d[11:], "bad signature"),     # timestamp altered
    (lambda d: d[:20], "truncated"),
    (lambda d: d + b"x" * wire.MAX_DATAGRAM, "oversized"),
    (lambda d: b"XXXX" + d[4:], "not a report"),
    (lambda d: d[:4] + b"\x02" + d[5:], "version 2"),
])
def test_altered_datagrams_are_refused(mutate, reason: str) -> None:
    data = wire.encode(report(), KEY, 1, now=NOW)
    with pytest.raises(wire.WireError, match=f"^{reason}"):
        wire.verify(mutate(data), KEY, now=NOW)


def test_another_key_is_a_bad_signature() -> None:
    with pytest.raises(wire.WireError, match="bad signature"):
        wire.verify(wire.encode(report(), b"x" * 32, 1, now=NOW), KEY, now=NOW)


@pytest.mark.parametrize("skew", [-10.5, 10.5, -3600, 86400])
def test_stale_or_future_reports_are_refused(skew: float) -> None:
    data = wire.encode(report(), KEY, 1, now=NOW + skew)
    with pytest.raises(wire.WireError, match="stale"):
        wire.verify(data, KEY, now=NOW, max_age=10)


def signed(payload: bytes, seq: int = 1) -> bytes:
    """A datagram with a valid tag around any payload: what only a key holder could send."""
    head = wire.HEADER.pack(wire.MAGIC, wire.VERSION, int(NOW * 1000), seq) + payload
    return head + wire._tag(KEY, head)


@pytest.mark.parametrize("payload, reason", [
    (b"not json", "payload"),
    (b"[]", "payload"),
    (b'{"id":"a b","addr":"1.2.3.4","state":"up","int":1}', "id"),
    (b'{"id":"a","addr":"1.2.3.4\\n","state":"up","int":1}', "addr"),
    (b'{"id":"a","addr":"1.2.3.4","state":"UP","int":1}', "state"),
    (b'{"id":"a","addr":"1.2.3.4","state":"up","int":0}', "int"),
    (b'{"id":"a","addr":"1.2.3.4","state":"up","int":true}', "int"),
    (b'{"id":"a","addr":"1.2.3.4","state":"up","int":1,"fig":{"cpu":-1}}', "fig.cpu"),
    (b'{"id":"a","addr":"1.2.3.4","state":"up","int":1,"fig":{"cpu":1e400}}', "fig.cpu"),
    (b'{"id":"a","addr":"1.2.3.4","state":"up","int":1,"fig":{"mem":1}}', "fig"),
    (b'{"id":"a","addr":"1.2.3.4","state":"up","int":1,"lim":[]}', "lim"),
    (b'{"id":"a","addr":"1.2.3.4","state":"up","int":1,"apps":["a/b"]}', "apps"),
    (b"\xff\xfe", "payload"),
    (b"[" * 1300, "payload"),
])
def test_signed_but_malformed_payloads_are_refused(payload: bytes, reason: str) -> None:
    with pytest.raises(wire.WireError, match=f"^{reason}"):
        wire.verify(signed(payload), KEY, now=NOW)


def test_a_report_that_does_not_fit_one_datagram_is_not_sent() -> None:
    with pytest.raises(wire.WireError, match="over"):
        wire.encode(report(id="a" * 128, apps=tuple(f"app{'x' * 60}{i}" for i in range(16))), KEY, 1, now=NOW)


@pytest.mark.parametrize("text, ok", [
    ("203.0.113.10", True), ("2001:db8::1", True), ("edge-1.media.example.com", True),
    ("edge_1.example.com", False), ("1.2.3", False), ("a" * 64 + ".com", False), ("", False),
    ("host name", False), ("host\n", False), ("-bad.example.com", False),
])
def test_addresses_are_full_matches(text: str, ok: bool) -> None:
    assert wire.valid_address(text) is ok


def test_key_file_must_be_private_long_and_clean(tmp_path: Path) -> None:
    f = tmp_path / "key"
    f.write_text("0123456789abcdef0123\n")
    os.chmod(f, 0o600)
    assert wire.read_secret(str(f)) == b"0123456789abcdef0123"
    warnings: list[str] = []
    os.chmod(f, 0o640)
    wire.read_secret(str(f), warn=warnings)
    assert warnings and "group" in warnings[0]
    os.chmod(f, 0o644)
    with pytest.raises(wire.KeyFileError, match="open to other users.*chmod 600"):
        wire.read_secret(str(f))
    os.chmod(f, 0o600)
    f.write_text("short\n")
    with pytest.raises(wire.KeyFileError, match="at least 16"):
        wire.read_secret(str(f))
    f.write_text("0123456789 abcdef0123\n")
    with pytest.raises(wire.KeyFileError, match="spaces or control"):
        wire.read_secret(str(f))
    with pytest.raises(wire.KeyFileError, match="cannot read"):
        wire.read_secret(str(tmp_path / "missing"))
