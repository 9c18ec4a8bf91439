"""One certificate resolver for every balancer type (awslb/resources/certificates.py), under moto."""

from __future__ import annotations

from awslb.resources.certificates import resolve_certificate
from awslb.spec import Https
from tests.aws.classic_helpers import balancer, issue_certificate

CLASSIC = """\
[stack]
name = "certs"

[load_balancer]
type = "classic"
name = "certs-elb"
http_port = 8081
https_port = 8444
https = { port = 8443, domain = "media.example.com" }
"""


def test_a_classic_stack_with_two_certificates_for_its_domain_uses_one(cli, aws, calls, tmp_path) -> None:
    # Both cover media.example.com; the wildcard is listed first. The rule (an exact name beats
    # a wildcard) picks the exact one, for every listener of the balancer and on every run.
    wildcard = issue_certificate(aws, "*.example.com")
    exact = issue_certificate(aws, "media.example.com")
    assert resolve_certificate(aws, Https(domain="media.example.com")) == exact != wildcard
    f = tmp_path / "certs.toml"
    f.write_text(CLASSIC)
    calls.clear()
    r = cli("up", "-f", str(f), "--yes")
    assert r.exit_code == 0, r.stderr
    assert calls.names().count("ListCertificates") == 1  # resolved once, by one resolver
    secure = {d["Listener"]["LoadBalancerPort"]: d["Listener"].get("SSLCertificateId")
              for d in balancer(aws, "certs-elb")["ListenerDescriptions"]
              if d["Listener"]["Protocol"] in ("SSL", "HTTPS")}
    assert secure == {8443: exact, 8444: exact}

    calls.clear()
    again = cli("up", "-f", str(f), "--yes")
    assert again.exit_code == 0 and calls.mutating == [], calls.mutating
    assert "up to date" in again.stderr
