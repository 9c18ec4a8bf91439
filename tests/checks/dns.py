"""A tiny authoritative DNS server on loopback for HAProxy's resolvers (dnslib).

It answers one name with the A records the test sets (``records``), NOERROR with no answer
for other types of that name (HAProxy also asks AAAA unless told otherwise), NXDOMAIN for any
other name. UDP only, on 127.0.0.1 and a free port; it counts the queries it answered.
"""

from __future__ import annotations

import threading

from dnslib import QTYPE, RCODE, RR, A, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class _Resolver(BaseResolver):
    def __init__(self, name: str, ttl: int):
        self.name = DNSLabel(name)
        self.ttl = ttl
        self.records: list[str] = []
        self.queries = 0
        self.lock = threading.Lock()

    def resolve(self, request, handler):  # noqa: ANN001 - dnslib's interface
        reply = request.reply()
        q = request.q
        with self.lock:
            self.queries += 1
            records = list(self.records)
        if q.qname != self.name:
            reply.header.rcode = RCODE.NXDOMAIN
        elif q.qtype in (QTYPE.A, QTYPE.ANY):
            for ip in records:
                reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(ip), ttl=self.ttl))
        return reply


class LoopbackDns:
    """``with LoopbackDns("servers.media.internal") as dns: dns.set(["127.0.0.2"])``."""

    def __init__(self, name: str, ttl: int = 1):
        self._resolver = _Resolver(name, ttl)
        self._server = DNSServer(self._resolver, address="127.0.0.1", port=0,
                                 logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data"))
        self.port: int = self._server.server.server_address[1]

    def set(self, ips: list[str]) -> None:
        with self._resolver.lock:
            self._resolver.records = list(ips)

    @property
    def queries(self) -> int:
        with self._resolver.lock:
            return self._resolver.queries

    def __enter__(self) -> LoopbackDns:
        self._server.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        self._server.server.server_close()
