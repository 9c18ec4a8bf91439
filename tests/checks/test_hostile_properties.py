"""Issue 11, property-based: whatever awslb accepts renders safely.

Generated server names, addresses, paths and user-data values mix the valid with control
characters, quotes, `=`, `$`, scope ids and unicode. For every value awslb *accepts*:

- haproxy.cfg passes the real `haproxy -c` and its WebSocket backend has exactly the servers
  asked for (no more: nothing injected; no fewer);
- the user-data script, run by bash against a fake WCS tree, leaves a flashphoner.properties
  with exactly the keys asked for, each once, holding the value given.

Refused values must be refused as one InputError/UsageError (never another exception).
Example counts are modest (haproxy -c takes ~10 ms, a script run ~50 ms).
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from awslb import haproxy, spec
from awslb.errors import InputError, UsageError
from awslb.userdata import get, render_userdata
from tests.checks.test_userdata_run import Box
from tests.checks.tls import self_signed_pem
from tests.conftest import require_binary

HOSTILE = "\n\r\t\x00\x1b\x7f\x85\u2028 '\"`$;#=%:[]{}\\/.é中"
SAFE = "abcXYZ019_-."

hostile_text = st.text(alphabet=st.sampled_from(list(SAFE + HOSTILE)), min_size=0, max_size=12)
safe_text = st.text(alphabet=st.sampled_from(list(SAFE)), min_size=1, max_size=12)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
scoped = st.tuples(ipv6, hostile_text).map(lambda t: f"{t[0]}%{t[1]}")
hostname = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}", fullmatch=True)


def _tail(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value with hostile text after it (the injection shape: value, newline, more)."""
    return st.tuples(base, st.sampled_from(["\n", "\r\n", "\n server evil 1.2.3.4:80", " ", "\u2028", ""]),
                     hostile_text).map("".join)


host = st.one_of(ipv4, ipv6, scoped, hostname, hostile_text, _tail(ipv4), _tail(hostname))
name = st.one_of(safe_text, hostile_text, _tail(safe_text))
server = st.tuples(name, host, st.integers(min_value=-1, max_value=70000))


def _haproxy_servers(cfg: str) -> list[str]:
    """The names of the `server` lines of backend wcs_back."""
    out, inside = [], False
    for line in cfg.splitlines():
        if not line.startswith((" ", "\t")):
            inside = line.strip() == "backend wcs_back"
            continue
        words = line.split()
        if inside and words and words[0] == "server":
            out.append(words[1])
    return out


@pytest.fixture(scope="module")
def pem(tmp_path_factory) -> bytes:
    return self_signed_pem(tmp_path_factory.mktemp("tls") / "cert.pem").read_bytes()


VALID = {
    "servers": st.lists(st.tuples(safe_text, st.one_of(ipv4, ipv6, hostname), st.integers(1, 65535)),
                        min_size=1, max_size=4),
    "sources": st.lists(st.one_of(ipv4, ipv6), max_size=2, unique=True),
    "cert_name": safe_text, "socket_name": safe_text,
    "web": st.sampled_from(["127.0.0.1:8180", "[::1]:8180", "localhost:80"]),
    "inter": st.sampled_from(["5s", "2000ms", "1m"]),
    "bind": st.one_of(st.just("*"), ipv4, ipv6),
}
ATTACK = {
    "servers": st.lists(server, min_size=1, max_size=4),
    "sources": st.lists(st.one_of(ipv4, ipv6, scoped, _tail(ipv4), hostile_text), max_size=2),
    "cert_name": st.one_of(hostile_text, _tail(safe_text)),
    "socket_name": st.one_of(hostile_text, _tail(safe_text)),
    "web": st.one_of(_tail(st.just("127.0.0.1:8180")), hostile_text, scoped.map(lambda a: f"[{a}]:80")),
    "inter": st.one_of(_tail(st.just("5s")), hostile_text),
    "bind": st.one_of(scoped, _tail(ipv4), hostile_text),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_accepted_haproxy_values_pass_haproxy_check_with_exactly_the_servers(tmp_path: Path, pem: bytes,
                                                                               data) -> None:
    """One field (or none) under attack at a time, the others valid, so many examples are accepted."""
    attacked = data.draw(st.sampled_from([None, *ATTACK]), label="attacked")
    drawn = {k: data.draw(ATTACK[k] if k == attacked else VALID[k], label=k) for k in VALID}
    servers, sources, cert_name, socket_name, web, inter, bind = (
        drawn[k] for k in ("servers", "sources", "cert_name", "socket_name", "web", "inter", "bind"))
    binary = require_binary("haproxy")
    root = tmp_path / "hx"
    values = {
        "servers": [{"name": n, "host": h, "port": p} for n, h, p in servers],
        "source_addresses": sources,
        "tls_cert": f"{root}/{cert_name}",
        "stats_socket": f"{root}/{socket_name}",
        "web_backend": web,
        "agent_inter": inter,
        "bind": bind,
        "system": False,
    }
    try:
        section = spec.section(spec.HaproxySection, values, "haproxy")
    except (InputError, UsageError) as exc:
        assert "\n" not in str(exc)  # refused: one line
        event("refused")
        return
    event("accepted")
    cert = Path(section.tls_cert)
    if cert.exists() and cert.is_dir():
        return  # the name of a directory HAProxy would load certificates from; nothing to write
    cert.parent.mkdir(parents=True, exist_ok=True)
    cert.write_bytes(pem)
    Path(section.stats_socket).parent.mkdir(parents=True, exist_ok=True)
    text = haproxy.render_config(section)
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    out = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (values, out.stdout + out.stderr)
    # One line per (server, source address), named SERVER_sK when there are several sources.
    k = len(section.source_addresses)
    assert _haproxy_servers(text) == [s.name if k <= 1 else f"{s.name}_s{i}"
                                      for s in section.servers for i in range(1, max(k, 1) + 1)]
    for s in section.servers:  # each accepted name and host is exactly what was asked
        asked = next(v for v in values["servers"] if v["name"] == s.name)
        try:
            assert s.host == str(ipaddress.ip_address(asked["host"]))
        except ValueError:
            assert s.host == asked["host"]


# -- user-data ------------------------------------------------------------------------------

cdn_value = st.one_of(ipv4, ipv6, scoped, hostname, hostile_text, _tail(ipv4), _tail(hostname),
                      st.just("1.2.3.4\ncdn_role=origin"))


UD_VALID = {"entry": st.one_of(ipv4, ipv6, hostname), "cdn_ip": st.one_of(ipv4, ipv6),
            "heap": st.sampled_from(["512m", "2g", "1024M"]), "header": st.sampled_from(["X-Client-IP", "X-Real-IP"]),
            "role": st.sampled_from(["edge", "transcoder", "origin"])}
UD_ATTACK = {"entry": cdn_value, "cdn_ip": st.one_of(scoped, _tail(ipv4), hostile_text),
             "heap": st.one_of(_tail(st.just("1g")), hostile_text), "header": st.one_of(_tail(st.just("X-IP")),
                                                                                      hostile_text),
             "role": hostile_text}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data(), custom=st.booleans())
def test_accepted_user_data_values_set_exactly_the_keys_asked_for(tmp_path_factory, data, custom) -> None:
    attacked = data.draw(st.sampled_from([None, *UD_ATTACK]), label="attacked")
    entry, cdn_ip, heap, header, role = (data.draw(UD_ATTACK[k] if k == attacked else UD_VALID[k], label=k)
                                         for k in ("entry", "cdn_ip", "heap", "header", "role"))
    given_vars = {"cdn_point_of_entry": entry, "cdn_ip": cdn_ip, "heap_size": heap, "ws_ip_forward_header": header,
                  "cdn_role": role, "ws_map_custom_headers": "true" if custom else "false", "update": "false",
                  "flush_iptables": "false"}
    try:
        script = render_userdata("edge", given_vars)
    except (InputError, UsageError) as exc:
        assert "\n" not in str(exc) and str(exc).startswith("--set: ")
        event("refused")
        return
    event("accepted")
    assert set(given_vars) <= set(get("edge").variables)
    box = Box(tmp_path_factory.mktemp("box"))
    (box.home / "conf" / "flashphoner.properties").write_text("")
    r = box.run(script)
    assert r.returncode == 0, r.stderr
    props = box.props()
    keys = [k for k, _ in props]
    # global_bandwidth_check_enabled is not asked for: left out (as the server has it).
    want = {"ws.map_custom_headers", "cdn_enabled", "cdn_ip", "cdn_role",
            "cdn_point_of_entry", "cdn_nodes_resolve_ip"} | ({"ws.ip_forward_header"} if custom else set())
    assert sorted(keys) == sorted(want), props  # each once, nothing injected
    got = dict(props)
    assert (got["cdn_point_of_entry"], got["cdn_ip"], got["cdn_role"]) == (entry, cdn_ip, role)
    if custom:
        assert got["ws.ip_forward_header"] == header
    jvm = (box.home / "conf" / "wcs-core.properties").read_text().splitlines()
    assert [line for line in jvm if line.startswith("-Xmx")] == [f"-Xmx{heap}"]


# -- server-template mode ---------------------------------------------------------------------

dns_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
dns_name = st.tuples(st.lists(dns_label, min_size=1, max_size=3).map(".".join),
                     st.sampled_from(["internal", "local", "Example", "x-1"])).map(".".join)
nameserver = st.one_of(st.tuples(ipv4, st.integers(1, 65535)).map(lambda t: f"{t[0]}:{t[1]}"),
                       st.tuples(ipv6, st.integers(1, 65535)).map(lambda t: f"[{t[0]}]:{t[1]}"))
T_VALID = {
    "discover": dns_name,
    "nameservers": st.lists(nameserver, min_size=1, max_size=3, unique=True),
    "cookie_key": st.one_of(st.none(), safe_text),
    "hold": st.sampled_from(["10s", "500ms", "1m"]),
    "sources": st.lists(st.one_of(ipv4, ipv6), max_size=3, unique=True),
}
T_ATTACK = {
    "discover": st.one_of(hostile_text, _tail(dns_name), ipv4, hostname, dns_name.map(lambda n: n + ".")),
    "nameservers": st.lists(st.one_of(nameserver, _tail(nameserver), hostile_text, ipv4, scoped,
                                      hostname.map(lambda h: f"{h}:53")), max_size=3),
    "cookie_key": st.one_of(hostile_text, _tail(safe_text)),
    "hold": st.one_of(_tail(st.just("10s")), hostile_text),
    "sources": ATTACK["sources"],
}


def _words(cfg: str, first: str) -> list[list[str]]:
    return [line.split() for line in cfg.splitlines() if line.split()[:1] == [first]]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data(), slots=st.integers(1, 40), sticky=st.booleans())
def test_accepted_server_template_values_pass_haproxy_check(tmp_path: Path, data, slots: int, sticky: bool) -> None:
    """The discover name, nameservers, cookie key, hold time and sources under attack, one at a time."""
    attacked = data.draw(st.sampled_from([None, *T_ATTACK]), label="attacked")
    drawn = {k: data.draw(T_ATTACK[k] if k == attacked else T_VALID[k], label=k) for k in T_VALID}
    binary = require_binary("haproxy")
    values = {"discover": drawn["discover"], "nameservers": drawn["nameservers"], "cookie_key": drawn["cookie_key"],
              "dns_hold_valid": drawn["hold"], "source_addresses": drawn["sources"], "slots": slots,
              "sticky": sticky, "tls": False, "system": False, "stats_socket": f"{tmp_path}/admin.sock"}
    try:
        section = spec.section(spec.HaproxySection, values, "haproxy")
    except (InputError, UsageError) as exc:
        assert "\n" not in str(exc) and str(exc).startswith("haproxy.")
        event("refused")
        return
    event("accepted")
    text = haproxy.render_config(section)
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    out = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, (values, out.stdout + out.stderr)
    # Exactly what was asked: one template per source (or one), the name as given, these resolvers.
    templates = _words(text, "server-template")
    assert len(templates) == max(1, len(section.source_addresses))
    assert {t[3] for t in templates} == {f"{drawn['discover'].lower()}:8080"} and all(t[2] == str(slots)
                                                                                        for t in templates)
    assert [w[2] for w in _words(text, "nameserver")] == section.nameservers
    assert len(section.nameservers) == len(drawn["nameservers"])
    assert _words(text, "server")[1:] == []  # only the web backend's server line
    keys = {w[1] for w in _words(text, "dynamic-cookie-key")}
    assert keys == (set() if not sticky else {drawn["cookie_key"] or drawn["discover"].lower()})
