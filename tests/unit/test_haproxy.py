"""The HAProxy config model: flags, servers, source addresses, and what the template says."""

from __future__ import annotations

import pytest

from awslb import haproxy, spec
from awslb.errors import InputError, UsageError
from awslb.spec import HaproxySection


def section(**kw) -> HaproxySection:
    kw.setdefault("servers", [{"name": "wcs1", "host": "172.31.44.243"}, {"name": "wcs2", "host": "172.31.33.112"}])
    return spec.section(HaproxySection, kw, "haproxy")


def server_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip().startswith("server wcs") and "wcs_web" not in ln]


def test_guide_config() -> None:
    text = haproxy.render_config(section(tls_cert="/etc/pki/tls/mydomain.com/cert.pem"))
    assert "bind *:443 ssl crt /etc/pki/tls/mydomain.com/cert.pem" in text
    assert "acl is_websocket hdr(Upgrade) -i WebSocket" in text
    assert "acl is_websocket hdr(Sec-WebSocket-Key) -m found" in text
    assert "use_backend wcs_back if is_websocket" in text and "default_backend wcs_web_admin" in text
    assert "server wcs_web_http 127.0.0.1:8180 maxconn 100 check" in text
    assert "http-request set-header X-Client-IP %ci:%cp" in text
    assert "balance roundrobin" in text and "cookie SERVERID" not in text
    assert server_lines(text) == [
        "server wcs1 172.31.44.243:8080 maxconn 100 weight 100 check agent-check agent-inter 5s agent-port 9707",
        "server wcs2 172.31.33.112:8080 maxconn 100 weight 100 check agent-check agent-inter 5s agent-port 9707",
    ]
    assert "bind *:80\n" in text and "redirect scheme https" in text
    assert text.endswith("\n") and not text.endswith("\n\n\n")


def test_sticky_gives_each_server_its_own_cookie() -> None:
    # The guide's example repeats `cookie wcs1_ws` on both servers; each needs its own.
    lines = server_lines(haproxy.render_config(section(sticky=True, balance="leastconn")))
    assert [ln.split(" cookie ")[1] for ln in lines] == ["wcs1", "wcs2"]


def test_one_line_per_server_and_source_address() -> None:
    # Seed 004: every server gets a line per source address, each with its own cookie, and
    # the server's maxconn split over its lines.
    text = haproxy.render_config(section(sticky=True, maxconn=101, source_addresses=["192.168.1.1", "fd00::1"]))
    assert server_lines(text) == [
        f"server {n}_s{k} {ip}:8080 maxconn 51 weight 100 check agent-check agent-inter 5s agent-port 9707 "
        f"cookie {n}_s{k} source {src}"
        for n, ip in (("wcs1", "172.31.44.243"), ("wcs2", "172.31.33.112"))
        for k, src in ((1, "192.168.1.1"), (2, "[fd00::1]"))]
    # One address: the lines keep the servers' names (and cookies already handed out).
    one = server_lines(haproxy.render_config(section(sticky=True, source_addresses=["192.168.1.1"])))
    assert [ln.split()[1] for ln in one] == ["wcs1", "wcs2"] and all(ln.endswith("source 192.168.1.1") for ln in one)
    assert "cookie wcs1 source" in one[0]


def test_global_maxconn_is_lines_times_limit_plus_web() -> None:
    small = haproxy.config_vars(section())
    assert small["global_maxconn"] == 2 * 100 + haproxy.WEB_MAXCONN
    big = haproxy.config_vars(section(maxconn=40000))
    assert big["global_maxconn"] == 2 * 40000 + haproxy.WEB_MAXCONN
    # 3 sources: each line ceil(100001 / 3) = 33334, three lines per server.
    three = haproxy.config_vars(section(maxconn=100001, source_addresses=["10.0.0.1", "10.0.0.2", "10.0.0.3"]))
    assert three["line_maxconn"] == 33334
    assert three["global_maxconn"] == 2 * 3 * 33334 + haproxy.WEB_MAXCONN
    text = haproxy.render_config(section(maxconn=40000))
    assert f"    maxconn {2 * 40000 + haproxy.WEB_MAXCONN}\n" in text
    front = text[text.index("frontend wcs-balancer"):]
    assert front.splitlines()[1] == f"    maxconn {2 * 40000 + haproxy.WEB_MAXCONN}"


def template(**kw) -> HaproxySection:
    kw.setdefault("servers", [])
    kw.setdefault("discover", "servers.media.internal")
    return section(**kw)


def test_server_template_follows_the_dns_name() -> None:
    text = haproxy.render_config(template(slots=20, sticky=True))
    assert "resolvers awslb\n    nameserver ns1 169.254.169.253:53\n" in text
    assert "    accepted_payload_size 8192\n" in text and "    hold valid 10s\n" in text
    lines = [ln.strip() for ln in text.splitlines() if "server-template" in ln]
    assert lines == ["server-template ws 20 servers.media.internal:8080 resolvers awslb init-addr none "
                     "resolve-prefer ipv4 maxconn 100 weight 100 check agent-check agent-inter 5s agent-port 9707"]
    assert "cookie SERVERID insert indirect nocache dynamic\n    dynamic-cookie-key servers.media.internal\n" in text
    assert "use_backend wcs_back if is_websocket" in text
    assert haproxy.config_vars(template(slots=20))["global_maxconn"] == 20 * 100 + haproxy.WEB_MAXCONN
    assert server_lines(text) == []


def test_server_template_one_backend_per_source_address() -> None:
    section_ = template(slots=5, maxconn=300, discover_port=8443, cookie_key="k-1",
                        nameservers=["10.0.0.2:53", "[fd00::2]:5353"], dns_hold_valid="2s", sticky=True,
                        source_addresses=["10.0.1.1", "10.0.1.2", "10.0.1.3"])
    text = haproxy.render_config(section_)
    assert "    nameserver ns1 10.0.0.2:53\n    nameserver ns2 [fd00::2]:5353\n" in text
    assert "Amazon DNS" not in text and "hold valid 2s" in text
    assert "use_backend wcs_back_s%[rand(3),add(1)] if is_websocket" in text
    for k in (1, 2, 3):
        block = text[text.index(f"backend wcs_back_s{k}\n"):].split("\n\n")[0]
        assert block.count("server-template") == 1 and "dynamic-cookie-key k-1" in block
        assert (f"server-template ws_s{k}_ 5 servers.media.internal:8443 resolvers awslb init-addr none "
                f"resolve-prefer ipv4 maxconn 100 weight 100 ") in block
        assert block.rstrip("\n").endswith(f"source 10.0.1.{k}")
    assert haproxy.config_vars(section_)["global_maxconn"] == 5 * 3 * 100 + haproxy.WEB_MAXCONN


def test_no_servers_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--server or --stack"):
        haproxy.config_vars(section(servers=[]))


@pytest.mark.parametrize("text, name, host, port", [
    ("wcs1=10.0.0.5:8080", "wcs1", "10.0.0.5", 8080),
    ("b=[fd00::5]:8443", "b", "fd00::5", 8443),
    ("c=wcs-1.example.com:8080", "c", "wcs-1.example.com", 8080),
])
def test_parse_server(text, name, host, port) -> None:
    s = haproxy.parse_server(text)
    assert (s.name, s.host, s.port) == (name, host, port)


@pytest.mark.parametrize("text, message", [
    ("10.0.0.5:8080", "NAME=HOST:PORT"),
    ("a=10.0.0.5", "not HOST:PORT"),
    ("a=10.0.0.5:70000", "not HOST:PORT"),
    ("bad name=10.0.0.5:8080", "letters, digits"),
    ("a=under_score:8080", "not an IP address or host name"),
])
def test_parse_server_errors_name_the_flag(text, message) -> None:
    with pytest.raises(UsageError, match=message) as exc:
        haproxy.parse_server(text)
    assert str(exc.value).startswith("--server: ")


@pytest.mark.parametrize("values, message", [
    ({"agent_inter": "five"}, "haproxy.agent_inter: not an HAProxy time"),
    ({"source_addresses": ["10.0.0.1", "10.0.0.1"]}, "haproxy.source_addresses: an address is given twice"),
    ({"source_addresses": ["eth0"]}, "haproxy.source_addresses: not an IP address"),
    ({"balance": "random"}, "haproxy.balance"),
    ({"port": 8080, "http_port": 8080}, "haproxy.http_port: must differ"),
    ({"web_backend": "localhost"}, "haproxy.web_backend: not HOST:PORT"),
    ({"servers": [{"name": "a", "host": "10.0.0.1"}, {"name": "a", "host": "10.0.0.2"}]},
     "haproxy.servers: two servers are named 'a'"),
    ({"discover": "servers.media.internal"}, "haproxy.discover: give servers or discover"),
    ({"servers": [], "discover": "servers"}, "haproxy.discover: not a DNS name"),
    ({"servers": [], "discover": "10.0.0.1"}, "haproxy.discover: not a DNS name"),
    ({"servers": [], "discover": "a.b\n"}, "haproxy.discover: holds a control character"),
    ({"servers": [], "discover": "a_b.internal"}, "haproxy.discover: not a DNS name"),
    ({"nameservers": []}, "haproxy.nameservers: give at least one"),
    ({"nameservers": ["10.0.0.2"]}, "haproxy.nameservers: not IP:PORT"),
    ({"nameservers": ["dns.internal:53"]}, "haproxy.nameservers: not IP:PORT"),
    ({"nameservers": ["10.0.0.2:53", "10.0.0.2:53"]}, "haproxy.nameservers: a nameserver is given twice"),
    ({"slots": 0}, "haproxy.slots"),
    ({"dns_hold_valid": "10 s"}, "haproxy.dns_hold_valid: not an HAProxy time"),
    ({"cookie_key": "a b"}, "haproxy.cookie_key"),
])
def test_bad_values_name_the_key(values, message) -> None:
    with pytest.raises(InputError) as exc:
        section(**values)
    assert str(exc.value).startswith(message), str(exc.value)


@pytest.mark.parametrize("key", ["agent_inter", "dns_hold_valid"])
@pytest.mark.parametrize("value", ["0", "00s", "25d", "999999999d"])
def test_a_time_haproxy_refuses_is_refused_here(key: str, value: str) -> None:
    # haproxy -c: "invalid value 0 for argument 'agent-inter'", "timer overflow ... ~24.8 days"
    with pytest.raises(InputError, match=rf"^haproxy\.{key}: an HAProxy time above 0 and at most 24 days"):
        spec.section(spec.HaproxySection, {key: value}, "haproxy")


@pytest.mark.parametrize("value", ["1us", "1", "5s", "24d"])
def test_the_times_haproxy_takes_are_taken(value: str) -> None:
    assert spec.section(spec.HaproxySection, {"agent_inter": value}, "haproxy").agent_inter == value
