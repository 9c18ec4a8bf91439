"""The one certificate resolver (read-only), for every balancer type.

``load_balancer.https`` names a certificate by ARN, by domain, or both. Resolved once per
run, in preflight (``Listener.preflight`` stores the ARN in ``net.facts[CERT_FACT]``), and
read from there by whichever kind puts it on a listener, so an ALB and a Classic balancer
pick the same certificate by the same rule:

- an ARN must exist in the balancer's region and be ISSUED (an IAM server certificate must
  exist); with a domain too, it must cover the domain (one-level wildcards included);
- a domain alone finds the issued ACM certificates that cover it: an exact name beats a
  wildcard, then the one valid longest, then the ARN breaks ties.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awslb.errors import InputError
from awslb.spec import Https

CERT_FACT = "listener.certificate"
KEY = "load_balancer.https.certificate"
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


def covers(cert_names: list[str], domain: str) -> bool:
    """True when a certificate for ``cert_names`` is valid for ``domain`` (one-level wildcards)."""
    want = domain.lower().rstrip(".")
    for name in cert_names:
        n = name.lower().rstrip(".")
        if n == want:
            return True
        if n.startswith("*.") and "." in want:
            first, rest = want.split(".", 1)
            if first and rest == n[2:]:
                return True
    return False


def cert_names(cert: Mapping[str, Any]) -> list[str]:
    found = [cert.get("DomainName", "")] + list(cert.get("SubjectAlternativeNames") or [])
    return sorted({n for n in found if n})


def resolve_certificate(aws: Any, https: Https) -> str:
    """The certificate ARN to use, checked (read-only). InputError naming the key otherwise."""
    if https.certificate:
        return _check_arn(aws, https.certificate, https.domain)
    assert https.domain is not None  # the spec requires one of the two
    return _find_by_domain(aws, https.domain)


def _check_arn(aws: Any, arn: str, domain: str | None) -> str:
    region = aws.region
    parts = arn.split(":")
    if parts[2] == "iam":  # an IAM server certificate, which both balancer types take
        known = {c["Arn"] for c in aws.paginate("iam", "list_server_certificates", "ServerCertificateMetadataList")}
        if arn not in known:
            raise InputError(f"{KEY}: no such IAM server certificate: {arn.split('/')[-1]}")
        return arn
    if parts[3] != region:
        raise InputError(f"{KEY}: the certificate is in {parts[3]}, the balancer in {region}: "
                         f"use a certificate from {region}")
    found = aws.find("acm", "describe_certificate", CertificateArn=arn)
    if found is None:
        raise InputError(f"{KEY}: no such certificate in {region}: {arn}")
    cert = found["Certificate"]
    if cert.get("Status") != "ISSUED":
        raise InputError(f"{KEY}: certificate for {cert.get('DomainName')} is {cert.get('Status')}, "
                         "not ISSUED: finish its validation or pick an issued one")
    if domain and not covers(cert_names(cert), domain):
        raise InputError(f"{KEY}: the certificate does not cover {domain} "
                         f"(it covers {', '.join(cert_names(cert))})")
    return arn


def _find_by_domain(aws: Any, domain: str) -> str:
    candidates = []
    for summary in aws.paginate("acm", "list_certificates", "CertificateSummaryList",
                                CertificateStatuses=["ISSUED"], Includes={"keyTypes": KEY_TYPES}):
        found = aws.find("acm", "describe_certificate", CertificateArn=summary["CertificateArn"])
        cert = (found or {}).get("Certificate")
        if cert and cert.get("Status") == "ISSUED" and covers(cert_names(cert), domain):
            candidates.append(cert)
    if not candidates:
        raise InputError(f"load_balancer.https.domain: no issued ACM certificate in {aws.region} covers {domain}: "
                         "request one (`aws acm request-certificate`) or give --certificate")
    # An exact name beats a wildcard; then the one valid longest; the ARN breaks ties.
    want = domain.lower().rstrip(".")
    exact = [c for c in candidates if want in {n.lower() for n in cert_names(c)}]
    best = max(exact or candidates, key=lambda c: (str(c.get("NotAfter") or ""), str(c["CertificateArn"])))
    return str(best["CertificateArn"])
