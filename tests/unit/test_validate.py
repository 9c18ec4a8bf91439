"""Issue 11: the shared checks (awslb/validate.py) and the stack-file rules built on them."""

from __future__ import annotations

import pytest

from awslb import spec, validate
from awslb.deploy import local_checks
from awslb.errors import InputError
from awslb.ui import UI

ALB = {"stack": {"name": "s"}, "load_balancer": {"type": "application"}}


@pytest.mark.parametrize("name", ["wcs", "a", "A-1", "x" * 24])
def test_stack_names_accepted(name: str) -> None:
    assert validate.stack_name(name) == name


@pytest.mark.parametrize("name", ["", "a\nb", "wcs\n", "../../etc/x", "9lives", "x" * 25, "a_b", "wcs\u2028"])
def test_stack_names_refused(name: str) -> None:
    with pytest.raises(ValueError, match="must start with a letter"):
        validate.stack_name(name)


@pytest.mark.parametrize("value", ["a\n", "a\r", "\x00", "a\x1b[31m", "\x7f", "\x85", "a\u2028b", "\u2029"])
def test_control_characters_found(value: str) -> None:
    assert validate.control_char(value) is not None
    with pytest.raises(ValueError, match="control character"):
        validate.check_text(value)


def test_full_match_only() -> None:
    assert validate.full(r"[a-z]+", "abc") and not validate.full(r"[a-z]+", "abc\n")
    assert not validate.full(r"[a-z]+\s*", "abc\n")  # control characters never pass


@pytest.mark.parametrize("text", ["fe80::1%lo", "fe80::1%lo]:8080\n server evil 1.2.3.4:80", "10.0.0.1\n",
                                  "1.2.3.4 ", "10.0.0.256"])
def test_ip_refuses_scope_ids_and_tails(text: str) -> None:
    with pytest.raises(ValueError):
        validate.ip(text)


def test_host_accepts_addresses_and_names() -> None:
    assert validate.host("::1") == "::1" and validate.host("wcs-1.example.com") == "wcs-1.example.com"
    for bad in ("under_score", "host.example\n", "-x", "a..b", "x" * 254):
        with pytest.raises(ValueError):
            validate.host(bad)


def test_tags() -> None:
    assert validate.tags({"team": "media ops", "cost-centre": "a/b:c=d+e@f_g.h"}) == {
        "team": "media ops", "cost-centre": "a/b:c=d+e@f_g.h"}
    assert validate.tags({"équipe": "médias"})  # letters in any script
    for bad, needle in [({"aws:x": "1"}, "reserved for AWS"), ({"awslb:stack": "x"}, "awslb sets"),
                        ({"k": "v" * 257}, "at most 256"), ({"k" * 129: "v"}, "1-128"),
                        ({"k": "a;b"}, "';' is not allowed"),
                        ({f"k{i}": "v" for i in range(validate.USER_TAG_MAX + 1)}, "at most 40 tags")]:
        with pytest.raises(ValueError, match=needle):
            validate.tags(bad)


@pytest.mark.parametrize("policy, weak", [
    ("ELBSecurityPolicy-TLS13-1-2-2021-06", None),
    ("ELBSecurityPolicy-TLS-1-2-2017-01", None),
    ("ELBSecurityPolicy-2016-08", "TLS 1.0 and 1.1"),
    ("ELBSecurityPolicy-TLS13-1-0-2021-06", "TLS 1.0 and 1.1"),
    ("ELBSecurityPolicy-TLS13-1-1-2021-06", "TLS 1.1"),
    ("ELBSecurityPolicy-FS-1-1-2019-08", "TLS 1.1"),
    ("ELBSecurityPolicy-2011-08", "SSL 3.0, TLS 1.0 and 1.1"),
])
def test_weak_tls(policy: str, weak: str | None) -> None:
    assert validate.weak_tls(policy) == weak


def test_a_weak_policy_is_warned_about(capsys) -> None:
    s = spec.parse({**ALB, "load_balancer": {"https": {"domain": "x.example.com",
                                                       "ssl_policy": "ELBSecurityPolicy-2016-08"}}})
    local_checks(UI("text", color=False), s)
    err = capsys.readouterr().err
    assert "ELBSecurityPolicy-2016-08 allows TLS 1.0 and 1.1" in err
    local_checks(UI("text", color=False), spec.parse({**ALB, "load_balancer": {"https": {"domain": "x.example.com"}}}))
    assert "allows" not in capsys.readouterr().err


@pytest.mark.parametrize("lb, needle", [
    ({"http_port": 8080}, "load_balancer.http_port: port 8080 is already load_balancer.ws_port"),
    ({"type": "classic", "http_port": 8080}, "load_balancer.http_port"),
    ({"https": {"domain": "x.example.com", "ssl_policy": "ELBSecurityPolicy-2014-01"}},
     "load_balancer.https.ssl_policy: not an Application Load Balancer security policy"),
    ({"https": {"domain": "x.example.com", "ssl_policy": "Nope"}}, "load_balancer.https.ssl_policy"),
    ({"http_port": 8081, "https": {"domain": "x.example.com", "port": 8081}}, "load_balancer.https.port"),
    ({"health_check": {"matcher": "200-299,302"}}, None),
    ({"health_check": {"matcher": "299-200"}}, "load_balancer.health_check.matcher"),
    ({"health_check": {"path": "/" + "a" * 1023}}, None),
    ({"health_check": {"path": "/" + "a" * 1024}}, "load_balancer.health_check.path"),
])
def test_load_balancer_values_aws_would_refuse(lb: dict, needle: str | None) -> None:
    data = {**ALB, "load_balancer": {"type": "application", **lb}}
    if needle is None:
        spec.parse(data)
        return
    with pytest.raises(InputError) as err:
        spec.parse(data)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_classic_policies_stay_accepted_for_classic() -> None:
    spec.parse({**ALB, "load_balancer": {"type": "classic", "https": {
        "certificate": "arn:aws:acm:us-east-1:123456789012:certificate/a", "ssl_policy": "ELBSecurityPolicy-2014-01"}}})


@pytest.mark.parametrize("text, needle", [
    ("", "empty"), ("# comment only\n\n", "empty"),
    ("x = " + "[" * 20000 + "]" * 20000, "nested too deeply"),
])
def test_files_that_are_not_stacks(tmp_path, text: str, needle: str) -> None:
    f = tmp_path / "s.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=needle):
        spec.load(f)
