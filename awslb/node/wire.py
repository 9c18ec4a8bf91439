"""The load report an edge sends to the redirectors: one UDP datagram, signed, not encrypted.

Layout (big-endian), at most :data:`MAX_DATAGRAM` bytes::

    magic      4 bytes   b"AWLB"
    version    1 byte    1
    timestamp  8 bytes   milliseconds since the Unix epoch, when the edge sent it
    sequence   8 bytes   the edge's counter; starts at its start time in microseconds, +1 a datagram
    payload    N bytes   JSON (UTF-8): id, address, state, load figures, limits, interval, apps
    tag       32 bytes   HMAC-SHA256(key, magic | version | timestamp | sequence | payload)

**What is signed:** every byte before the tag; the key is the shared secret of the key file
(``--report-key-file`` on the edges, ``--key-file`` on the redirector). A datagram is
dropped when the tag does not match (forged or altered), when its timestamp is more than
``max_age`` seconds from the redirector's clock (stale, or replayed later), or when its
sequence number is not above the last one accepted from that edge id (replayed within the
window). The sequence starts at the edge's start time in microseconds, so it keeps rising
across restarts of the edge. (An edge whose clock went back across a restart is refused as
a replay until the redirector forgets it: three missed reports plus ``max_age``.)

The key is shared, as in seed 002: whoever holds it (every edge) can speak for any edge id.
Timestamps are checked against the redirector's clock, so edges and redirectors need
synchronised clocks (NTP; on EC2 the Amazon Time Sync Service does it).

**Not encrypted:** the figures and the address travel in clear text. Anyone on the path
can read an edge's load and its client-facing address (which the redirector hands to any
client anyway), but cannot forge, alter or replay a report without the key. Keep the key
file secret (mode 0600); on AWS the reports stay inside the VPC and the redirector's
security group admits them only from the edges' group.

Standard library only: this module runs on the edges and on the redirector.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import os
import re
import stat
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

MAGIC = b"AWLB"
VERSION = 1
HEADER = struct.Struct(">4sBQQ")
TAG_SIZE = 32
MAX_DATAGRAM = 1400          # one datagram in one Ethernet frame, no fragments
DEFAULT_PORT = 1934          # the port of seed 002's balancer
DEFAULT_MAX_AGE = 10.0       # seconds a report stays acceptable (both directions of clock skew)
MIN_KEY = 16                 # bytes of secret, at least

STATES = ("up", "draining", "overloaded", "down")
FIGURES = ("cpu", "publishers", "subscribers", "hls", "band_in", "band_out")
MAX_FIGURE = 1e9
MIN_INTERVAL, MAX_INTERVAL = 0.05, 60.0
MAX_APPS = 16

EDGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HOST_NAME = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


class WireError(ValueError):
    """A datagram that is not a valid, authentic, fresh report (the reason says which)."""


def valid_address(text: str) -> bool:
    """An IPv4/IPv6 address or a DNS name: what a client may be told to connect to."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return HOST_NAME.fullmatch(text) is not None and not text.replace(".", "").isdigit()


def valid_edge_id(text: str) -> bool:
    return EDGE_ID.fullmatch(text) is not None


def valid_app(text: str) -> bool:
    return APP_NAME.fullmatch(text) is not None


# -- the key --------------------------------------------------------------------------------

class KeyFileError(Exception):
    """The key or token file cannot be used (the message says why; the caller names the flag)."""


def read_secret(path: str, what: str = "key", warn: list[str] | None = None) -> bytes:
    """The secret in ``path`` (surrounding whitespace stripped).

    Refused when it is shorter than :data:`MIN_KEY` bytes, holds control characters, or the
    file is readable or writable by other users; a file open to its group adds a warning.
    """
    try:
        st = os.stat(path)
        with open(path, "rb") as f:
            data = f.read(4097)
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"{path} is not a regular file")
    if st.st_mode & 0o006:
        raise KeyFileError(f"{path} is open to other users (mode {stat.S_IMODE(st.st_mode):04o}); "
                           f"run: chmod 600 {path}")
    if st.st_mode & 0o060 and warn is not None:
        warn.append(f"{path} is open to its group (mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 is safer")
    secret = data.strip()
    if len(data) > 4096:
        raise KeyFileError(f"{path}: the {what} is longer than 4096 bytes")
    if len(secret) < MIN_KEY:
        raise KeyFileError(f"{path}: the {what} must hold at least {MIN_KEY} characters "
                           f"(make one: awslb redirector keygen -o {path})")
    if any(b < 0x21 or b == 0x7F for b in secret):
        raise KeyFileError(f"{path}: the {what} holds spaces or control characters")
    return secret


# -- the report -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Report:
    """What an edge tells the redirectors about itself."""

    id: str
    address: str
    state: str = "up"
    figures: Mapping[str, float | None] = field(default_factory=dict)   # FIGURES; None = unknown
    limits: Mapping[str, float] = field(default_factory=dict)           # FIGURES; 0 = no limit
    interval: float = 2.5
    apps: tuple[str, ...] = ()                                           # () = every application

    def payload(self) -> bytes:
        doc = {"id": self.id, "addr": self.address, "state": self.state, "int": self.interval,
               "fig": {k: v for k, v in self.figures.items() if v is not None},
               "lim": dict(self.limits)}
        if self.apps:
            doc["apps"] = list(self.apps)
        return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


@dataclass(frozen=True)
class Datagram:
    report: Report
    timestamp: float   # seconds since the epoch
    seq: int


def _tag(key: bytes, signed: bytes) -> bytes:
    return hmac.new(key, signed, hashlib.sha256).digest()


def encode(report: Report, key: bytes, seq: int, now: float | None = None) -> bytes:
    """Sign a report; raises :class:`WireError` if it would not fit in one datagram."""
    ts = int((time.time() if now is None else now) * 1000)
    signed = HEADER.pack(MAGIC, VERSION, ts, seq) + report.payload()
    out = signed + _tag(key, signed)
    if len(out) > MAX_DATAGRAM:
        raise WireError(f"report of {len(out)} bytes is over {MAX_DATAGRAM}")
    return out


def verify(data: bytes, key: bytes, now: float | None = None, max_age: float = DEFAULT_MAX_AGE) -> Datagram:
    """Check size, tag and freshness, then decode. Every failure is a :class:`WireError`.

    The tag is checked before the payload is parsed: unauthenticated bytes never reach the
    JSON decoder. Replays inside the freshness window are the caller's check (the sequence
    number per edge id).
    """
    if len(data) > MAX_DATAGRAM:
        raise WireError("oversized")
    if len(data) < HEADER.size + TAG_SIZE + 2:
        raise WireError("truncated")
    signed, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
    magic, version, ts, seq = HEADER.unpack_from(signed)
    if magic != MAGIC:
        raise WireError("not a report")
    if version != VERSION:
        raise WireError(f"version {version}")
    if not hmac.compare_digest(_tag(key, signed), tag):
        raise WireError("bad signature")
    now = time.time() if now is None else now
    if abs(now - ts / 1000) > max_age:
        raise WireError("stale")
    return Datagram(decode_payload(signed[HEADER.size:]), ts / 1000, seq)


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"{what}: not a number")
    v = float(value)
    if not math.isfinite(v) or not 0 <= v <= MAX_FIGURE:
        raise WireError(f"{what}: out of range")
    return v


def _figures(doc: object, what: str) -> dict[str, float]:
    if not isinstance(doc, dict):
        raise WireError(f"{what}: not an object")
    unknown = set(doc) - set(FIGURES)
    if unknown:
        raise WireError(f"{what}: unknown figure")
    return {k: _number(doc[k], f"{what}.{k}") for k in FIGURES if k in doc}


def decode_payload(raw: bytes) -> Report:
    """The JSON payload -> :class:`Report`, every field checked (full matches, ranges)."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WireError("payload: not JSON") from None
    if not isinstance(doc, dict):
        raise WireError("payload: not an object")
    edge, addr, state = doc.get("id"), doc.get("addr"), doc.get("state")
    if not isinstance(edge, str) or not valid_edge_id(edge):
        raise WireError("id: invalid")
    if not isinstance(addr, str) or not valid_address(addr):
        raise WireError("addr: invalid")
    if state not in STATES:
        raise WireError("state: invalid")
    interval = _number(doc.get("int"), "int")
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise WireError("int: out of range")
    apps = doc.get("apps", [])
    if (not isinstance(apps, list) or len(apps) > MAX_APPS
            or not all(isinstance(a, str) and valid_app(a) for a in apps)):
        raise WireError("apps: invalid")
    return Report(edge, addr, state, _figures(doc.get("fig", {}), "fig"), _figures(doc.get("lim", {}), "lim"),
                  interval, tuple(apps))


def first_sequence() -> int:
    """Where an edge's counter starts: now in microseconds, so a restart never goes back."""
    return time.time_ns() // 1000


__all__ = ["DEFAULT_PORT", "Datagram", "KeyFileError", "MAX_DATAGRAM", "Report", "STATES", "WireError",
           "decode_payload", "encode", "first_sequence", "read_secret", "verify"]
