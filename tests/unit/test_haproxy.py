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


def test_one_source_per_server_in_turn() -> None:
    assert haproxy.assign_sources([1, 2, 3], ["10.0.0.1", "10.0.0.2"]) == ["10.0.0.1", "10.0.0.2", "10.0.0.1"]
    assert haproxy.assign_sources([1, 2], []) == [None, None]
    lines = server_lines(haproxy.render_config(section(source_addresses=["192.168.1.1", "fd00::1"])))
    assert lines[0].endswith("source 192.168.1.1") and lines[1].endswith("source [fd00::1]")
    s = section(source_addresses=["192.168.1.1", "192.168.1.2", "192.168.1.3"])
    assert haproxy.unused_sources(s) == ["192.168.1.3"]


def test_global_maxconn_covers_every_server() -> None:
    small = haproxy.config_vars(section())
    assert small["global_maxconn"] == haproxy.MIN_GLOBAL_MAXCONN
    big = haproxy.config_vars(section(maxconn=40000))
    assert big["global_maxconn"] == 2 * 40000 + haproxy.WEB_MAXCONN


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
])
def test_bad_values_name_the_key(values, message) -> None:
    with pytest.raises(InputError) as exc:
        section(**values)
    assert str(exc.value).startswith(message), str(exc.value)
