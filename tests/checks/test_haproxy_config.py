"""Every rendering of haproxy.cfg passes the real `haproxy -c`; the agent partial passes shellcheck."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from awslb.render import render
from tests.checks.tls import self_signed_pem
from tests.conftest import ROOT, require_binary

SERVERS = ["--server", "wcs1_ws=172.31.44.243:8080", "--server", "wcs2_ws=172.31.33.112:8080"]


def haproxy_check(cfg: Path) -> None:
    haproxy = require_binary("haproxy")
    out = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Configuration file is valid" in out.stdout + out.stderr


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    return self_signed_pem(tmp_path / "cert.pem")


@pytest.mark.parametrize("flags", [
    [],                                                            # the guide's default: roundrobin, TLS
    ["--sticky"],                                                  # cookie SERVERID
    ["--balance", "leastconn", "--maxconn", "500", "--weight", "50"],
    ["--source-address", "172.31.40.11", "--source-address", "172.31.40.12"],  # seed 004
    ["--source-address", "172.31.40.11"],                          # fewer addresses than servers
    ["--agent-port", "9999", "--agent-inter", "2s", "--http-port", "0"],
    ["--foreground", "--bind", "127.0.0.1", "--port", "8443"],
])
def test_tls_renderings_pass_haproxy_check(cli, tmp_path: Path, cert: Path, flags: list[str]) -> None:
    cfg = tmp_path / "haproxy.cfg"
    run = cli("haproxy", "config", *SERVERS, "--tls-cert", str(cert), "--stats-socket",
              str(tmp_path / "admin.sock"), *flags, "-o", str(cfg))
    assert run.exit_code == 0, run.stderr
    text = cfg.read_text()
    assert f"ssl crt {cert}" in text
    haproxy_check(cfg)


TEMPLATE = ["--discover", "servers.media.internal", "--slots", "8"]


@pytest.mark.parametrize("flags", [
    [],                                                              # the VPC's Amazon DNS
    ["--sticky", "--cookie-key", "k1"],                              # dynamic cookies
    ["--source-address", "172.31.40.11", "--source-address", "172.31.40.12",
     "--source-address", "172.31.40.13", "--sticky", "--balance", "leastconn"],  # one backend per source
    ["--nameserver", "10.0.0.2:53", "--nameserver", "[fd00::2]:53", "--dns-hold-valid", "2s",
     "--discover-port", "8443", "--maxconn", "40000", "--source-address", "fd00::10"],
])
def test_server_template_renderings_pass_haproxy_check(cli, tmp_path: Path, cert: Path, flags: list[str]) -> None:
    cfg = tmp_path / "haproxy.cfg"
    run = cli("haproxy", "config", *TEMPLATE, "--tls-cert", str(cert), "--stats-socket",
              str(tmp_path / "admin.sock"), *flags, "-o", str(cfg))
    assert run.exit_code == 0, run.stderr
    assert "server-template ws" in cfg.read_text() and "resolvers awslb" in cfg.read_text()
    haproxy_check(cfg)


def test_plain_frontend_passes_haproxy_check(cli, tmp_path: Path) -> None:
    run = cli("haproxy", "config", *SERVERS, "--no-tls", "--port", "8080", "--sticky")
    assert run.exit_code == 0, run.stderr
    assert " ssl " not in run.stdout and "redirect scheme" not in run.stdout
    cfg = tmp_path / "plain.cfg"
    cfg.write_text(run.stdout)
    haproxy_check(cfg)


def test_host_names_and_ipv6_pass_haproxy_check(cli, tmp_path: Path, cert: Path) -> None:
    # init-addr last,libc,none: a name that does not resolve (yet) does not stop HAProxy.
    run = cli("haproxy", "config", "--server", "a=wcs-1.invalid:8080", "--server", "b=[fd00::5]:8080",
              "--tls-cert", str(cert), "--source-address", "fd00::10", "--source-address", "fd00::11")
    assert run.exit_code == 0, run.stderr
    assert "server b_s1 [fd00::5]:8080" in run.stdout and "server b_s2 [fd00::5]:8080" in run.stdout
    cfg = tmp_path / "names.cfg"
    cfg.write_text(run.stdout)
    haproxy_check(cfg)


def test_example_stack_renders_a_valid_config(cli, tmp_path: Path, cert: Path) -> None:
    run = cli("haproxy", "config", "-f", str(ROOT / "examples" / "haproxy.toml"), "--tls-cert", str(cert))
    assert run.exit_code == 0, run.stderr
    assert "cookie wcs2_ws_s2 source 172.31.40.12" in run.stdout
    cfg = tmp_path / "example.cfg"
    cfg.write_text(run.stdout)
    haproxy_check(cfg)


def test_missing_final_newline_would_fail(tmp_path: Path, cli, cert: Path) -> None:
    # Guards the renderer: the final newline is kept, without it haproxy -c fails.
    run = cli("haproxy", "config", *SERVERS, "--tls-cert", str(cert))
    assert run.stdout.endswith("\n")
    cut = tmp_path / "cut.cfg"
    cut.write_text(run.stdout.rstrip("\n") + "\n    # last line without LF")
    haproxy = require_binary("haproxy")
    out = subprocess.run([haproxy, "-c", "-f", str(cut)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0


def test_agent_partial_passes_shellcheck(tmp_path: Path) -> None:
    shellcheck = require_binary("shellcheck")
    for variables in ({}, {"agent_allow": "172.31.0.0/16 10.0.0.0/8", "agent_package": "awslb==0.1.0 --index-url x y",
                           "agent_stat_url": "http://127.0.0.1:8081/?action=stat&a=%20"}):
        body = render("userdata/partials/agent.sh.j2", **variables)
        script = tmp_path / "agent.sh"
        script.write_text("#!/bin/bash\nset -euo pipefail\n" + body)
        out = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout
        assert "systemctl restart awslb-agent.service" in body and "cmp -s" in body
        assert "'awslb==0.1.0 --index-url x y'" in body or "agent_package" not in variables
        allow = variables.get("agent_allow", "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 127.0.0.0/8").split()
        assert "".join(f" --allow {c}" for c in allow) in body


def test_agent_vars_match_the_partial() -> None:
    # Every variable agent.vars.toml declares is one the unit or the partial reads, with the same default.
    import tomllib

    declared = tomllib.loads((ROOT / "userdata" / "partials" / "agent.vars.toml").read_text())["vars"]
    text = (ROOT / "templates" / "agent" / "awslb-agent.service.j2").read_text() + \
        (ROOT / "userdata" / "partials" / "agent.sh.j2").read_text()
    for name in declared:
        assert name in text, name
    defaults = render("userdata/partials/agent.sh.j2")
    explicit = render("userdata/partials/agent.sh.j2", **{k: v["default"] for k, v in declared.items()})
    assert defaults == explicit


def test_agent_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    unit = tmp_path / "awslb-agent.service"
    unit.write_text(render("templates/agent/awslb-agent.service.j2", agent_bin="/bin/true",
                           agent_stat_url="http://127.0.0.1:8081/?action=stat&x=%41"))
    out = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [ln for ln in (out.stdout + out.stderr).splitlines() if str(unit.name) in ln]
    assert not problems, out.stdout + out.stderr
    assert "%%41" in unit.read_text()
