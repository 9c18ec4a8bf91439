"""Shared checks for every string that reaches a config file, a shell script or a tag.

Pure and dependency-free. Every pattern here is applied with ``re.fullmatch`` (never a bare
``$``, which matches before a final newline), and every string is first checked for control
characters: a newline in a value is how one line of haproxy.cfg or flashphoner.properties
becomes two.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# A stack: a letter, then letters, digits and hyphens, at most 24 in all. It names tags,
# resources and the ledger file (.awslb/<stack>.json), so nothing else may pass.
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,23}")
STACK_RULE = "must start with a letter and hold at most 24 letters, digits and hyphens"

# AWS tags (EC2, ELB, Auto Scaling): at most 50 per resource; keys 1-128 and values 0-256
# characters of letters, digits, spaces and _ . : / = + - @; the `aws:` prefix is AWS's own.
TAG_MAX = 50
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
TAG_PUNCTUATION = set("_.:/=+-@ ")
# Tags awslb sets itself on one resource at most (an image copy: awslb:stack, awslb:id, Name,
# awslb:name, awslb:source-instance, awslb:source-name, awslb:source-image,
# awslb:source-region, awslb:copies, awslb:retired), so a stack's own tags leave room for them.
AWSLB_TAGS_MAX = 10
USER_TAG_MAX = TAG_MAX - AWSLB_TAGS_MAX

# ELBv2 (Application Load Balancer) security policies, as AWS publishes them:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
# (checked 2026-11; `aws elbv2 describe-ssl-policies` lists the live set).
ELBV2_SSL_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06",
    "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-1-2019-08",
    "ELBSecurityPolicy-FS-2018-06",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-1-2017-01",
    "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-TLS-1-0-2015-04",
    "ELBSecurityPolicy-2015-05",
)
# Classic Load Balancer predefined policies (Reference-Security-Policy), as AWS publishes them:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/elb-security-policy-table.html
CLASSIC_SSL_POLICIES = (
    "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-1-2017-01", "ELBSecurityPolicy-2016-08",
    "ELBSecurityPolicy-2015-05", "ELBSecurityPolicy-2015-03", "ELBSecurityPolicy-2015-02",
    "ELBSecurityPolicy-2014-10", "ELBSecurityPolicy-2014-01", "ELBSecurityPolicy-2011-08",
    "ELBSample-ELBDefaultCipherPolicy", "ELBSample-OpenSSLDefaultCipherPolicy",
)


def weak_tls(policy: str) -> str | None:
    """The TLS versions below 1.2 a policy allows ("TLS 1.0 and 1.1"), or None when it has none.

    From the policy tables on the pages above: the TLS13-1-0/-1-1 and FS-1-1 policies, the
    TLS-1-0/TLS-1-1 ones, and every dated policy before 2017 (2016-08 included) allow TLS 1.0
    and/or 1.1.
    """
    if re.fullmatch(r"ELBSecurityPolicy-TLS13-1-1-.*|ELBSecurityPolicy-FS-1-1-.*|ELBSecurityPolicy-TLS-1-1-.*",
                    policy):
        return "TLS 1.1"
    if re.fullmatch(r"ELBSecurityPolicy-2011-08|ELBSecurityPolicy-2014-01|ELBSample-.*", policy):
        return "SSL 3.0, TLS 1.0 and 1.1"
    if re.fullmatch(r"ELBSecurityPolicy-TLS13-1-0-.*|ELBSecurityPolicy-TLS-1-0-.*|ELBSecurityPolicy-FS-2018-06"
                    r"|ELBSecurityPolicy-201[1-6]-\d\d", policy):
        return "TLS 1.0 and 1.1"
    return None


# A DNS host name: labels of letters, digits and hyphens, at most 253 characters in all.
HOSTNAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*")


def host(value: str) -> str:
    """An IP address (no scope id) or a DNS host name."""
    try:
        return ip(value)
    except ValueError:
        if not full(HOSTNAME, value):
            raise ValueError(f"not an IP address or host name (no scope id): {value!r}") from None
        return value


def control_char(value: str) -> str | None:
    """The first control character in ``value`` as an escape (``'\\n'``), or None."""
    m = _CONTROL.search(value)
    return None if m is None else repr(m.group())[1:-1]


def check_text(value: str, what: str = "value") -> str:
    """``value`` unchanged, or ValueError when it holds a control character."""
    bad = control_char(value)
    if bad is not None:
        raise ValueError(f"{what} holds a control character ({bad}): {value!r}")
    return value


def full(pattern: re.Pattern[str] | str, value: str) -> bool:
    """True when ``pattern`` matches the whole of ``value`` (and value has no control character)."""
    return control_char(value) is None and re.fullmatch(pattern, value) is not None


def stack_name(value: str) -> str:
    """The one check of a stack name, for stack files and every command's --stack / STACK."""
    if not isinstance(value, str) or not full(STACK_NAME, value):
        raise ValueError(f"{STACK_RULE}: {value!r}")
    return value


def ip(value: str, what: str = "IP address") -> str:
    """An IPv4 or IPv6 address without a scope id (``fe80::1%eth0`` is refused)."""
    if control_char(value) is None and "%" not in value:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    raise ValueError(f"not an {what}: {value!r}")


def _tag_char_ok(ch: str) -> bool:
    return ch.isalnum() or ch in TAG_PUNCTUATION or unicodedata.category(ch) == "Zs"


def tag(key: str, value: str) -> None:
    """One tag a user chose: AWS's lengths and characters; `aws:` and `awslb:` are reserved."""
    if not 1 <= len(key) <= TAG_KEY_MAX:
        raise ValueError(f"a tag key is 1-{TAG_KEY_MAX} characters: {key!r}")
    if len(value) > TAG_VALUE_MAX:
        raise ValueError(f"tag {key!r}: a value is at most {TAG_VALUE_MAX} characters")
    for text in (key, value):
        bad = next((ch for ch in text if not _tag_char_ok(ch)), None)
        if bad is not None:
            raise ValueError(f"tag {key!r}: {bad!r} is not allowed (letters, digits, spaces and _.:/=+-@)")
    low = key.lower()
    if low.startswith("aws:"):
        raise ValueError(f"tag {key!r}: the aws: prefix is reserved for AWS")
    if low.startswith("awslb:") or key == "Name":
        raise ValueError(f"tag {key!r}: awslb sets this tag itself")


def tags(values: dict[str, str]) -> dict[str, str]:
    if len(values) > USER_TAG_MAX:
        raise ValueError(f"at most {USER_TAG_MAX} tags: AWS allows {TAG_MAX} per resource and awslb "
                         f"sets up to {AWSLB_TAGS_MAX} of its own")
    for k, v in values.items():
        tag(k, v)
    return values
