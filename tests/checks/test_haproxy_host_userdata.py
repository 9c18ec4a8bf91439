"""The HAProxy host's user-data (templates/haproxy/host.sh.j2): shellcheck on every variant, and
bash running it twice against a fake host (stubs for aws, curl, ip, systemctl, haproxy, nginx,
sysctl): the secondary addresses added once, the placeholders replaced by them, the PEM
written 0600 from Secrets Manager, the Web SDK unpacked once, the Elastic IP taken last,
and a second run that reloads nothing."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from awslb import spec
from awslb.resources.haproxy_host import userdata
from tests.checks.userdata_cases import stub_commands
from tests.conftest import require_binary

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n" \
      "-----END PRIVATE KEY-----\n"
SERVERS = [{"name": "wcs1", "host": "172.31.10.5"}, {"name": "wcs2", "host": "172.31.10.6"},
           {"name": "wcs3", "host": "172.31.10.7"}]


def stack(**hp) -> spec.StackSpec:
    base = {"deploy": True, "ami": "ami-12345678", "pem_secret": "awslb/s/pem", "servers": SERVERS}
    base.update(hp)
    return spec.parse({"stack": {"name": "s"}, "haproxy": base})


SCRIPTS = {
    "two-sources": lambda: userdata(stack(secondary_addresses=2), "eipalloc-0123456789abcdef0"),
    "no-sources": lambda: userdata(stack(), "eipalloc-0123456789abcdef0"),
    "no-tls-sha": lambda: userdata(stack(tls=False, pem_secret=None, websdk_sha256="0" * 64,
                                         web_backend="[::1]:8180"), "eipalloc-0123456789abcdef0"),
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_shellcheck(name: str, tmp_path: Path) -> None:
    shellcheck = require_binary("shellcheck")
    script = tmp_path / f"{name}.sh"
    script.write_text(SCRIPTS[name]())
    r = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


MAC = "0a:1b:2c:3d:4e:5f"
STUBS = {
    "aws": 'echo "aws $*" >> "$STUB_LOG"\n[ -z "${AWS_FAIL:-}" ] || exit 255\n'
           'case "$*" in *get-secret-value*) cat "$FAKE_SECRET" ;; esac\n',
    "curl": 'case "$*" in *api/token*) echo tok ;; *placement/region*) echo eu-west-1 ;; '
            '*instance-id*) echo i-0123456789abcdef0 ;; *meta-data/mac*) echo ' + MAC + ' ;; '
            '*local-ipv4s*) printf "172.31.5.6\\n172.31.5.7\\n172.31.5.8\\n" ;; '
            '*local-ipv4*) echo 172.31.5.6 ;; *subnet-ipv4-cidr-block*) echo 172.31.0.0/20 ;; '
            '*flashphoner*) echo "curl sdk" >> "$STUB_LOG"; '
            'while [ "$#" -gt 0 ]; do [ "$1" = -o ] && cp "$FAKE_SDK" "$2"; shift; done ;; *) exit 22 ;; esac\n',
    "ip": 'case "$*" in "-o link") echo "2: ens5: <UP> mtu 9001 link/ether ' + MAC + ' brd ff:ff:ff:ff:ff:ff" ;; '
          '"-o -4 addr show dev ens5") cat "$FAKE_ADDRS" ;; '
          'addr\\ add*) echo "ip $*" >> "$STUB_LOG"; echo "2: ens5 inet $3 scope global" >> "$FAKE_ADDRS" ;; '
          '*) exit 1 ;; esac\n',
    "systemctl": 'echo "systemctl $*" >> "$STUB_LOG"\n',
    "sysctl": 'echo "sysctl $*" >> "$STUB_LOG"\n',
    "haproxy": 'echo "haproxy $*" >> "$STUB_LOG"\n',
    "nginx": 'exit 0\n',
    "dnf": 'echo "dnf $*" >> "$STUB_LOG"\n',
    "systemd-tmpfiles": 'echo "systemd-tmpfiles $*" >> "$STUB_LOG"\n',
}


class Box:
    def __init__(self, root: Path):
        bin_dir = stub_commands(root / "bin", STUBS)
        self.root, self.log = root, root / "calls.log"
        self.secret, self.addrs, self.sdk = root / "secret", root / "addrs", root / "sdk.tgz"
        self.secret.write_text(PEM)
        self.addrs.write_text("2: ens5 inet 172.31.5.6/20 scope global\n")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            data = b"<html>examples</html>\n"
            info = tarfile.TarInfo("examples/demo/index.html")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        self.sdk.write_bytes(buf.getvalue())
        for d in ("haproxy", "nginx", "html", "sysctl", "certs", "tmpfiles"):
            (root / d).mkdir()
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                    "AWSLB_HAPROXY_ETC": str(root / "haproxy"), "AWSLB_TLS_CERT": str(root / "certs" / "cert.pem"),
                    "AWSLB_NGINX_CONF": str(root / "nginx" / "nginx.conf"), "AWSLB_NGINX_ROOT": str(root / "html"),
                    "AWSLB_SYSCTL_DIR": str(root / "sysctl"), "AWSLB_TMPFILES_DIR": str(root / "tmpfiles"),
                    "STUB_LOG": str(self.log),
                    "FAKE_SECRET": str(self.secret), "FAKE_ADDRS": str(self.addrs), "FAKE_SDK": str(self.sdk),
                    "AWSLB_METADATA_URL": "http://127.0.0.1:9", "TMPDIR": str(root)}

    def run(self, script: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        self.log.write_text("")
        r = subprocess.run(["bash", "-c", script], env={**self.env, **env}, capture_output=True, text=True,
                           timeout=60)
        return r, self.log.read_text().splitlines()


def test_runs_twice_against_a_fake_host(tmp_path: Path) -> None:
    box = Box(tmp_path)
    script = SCRIPTS["two-sources"]()
    first, calls = box.run(script)
    assert first.returncode == 0, first.stderr
    assert "ip addr add 172.31.5.7/20 dev ens5" in calls and "ip addr add 172.31.5.8/20 dev ens5" in calls
    cfg = (tmp_path / "haproxy" / "haproxy.cfg").read_text()
    assert "source 172.31.5.7" in cfg and "source 172.31.5.8" in cfg and "192.0.2." not in cfg
    # One line per (server, source address) pair: three servers, each from both addresses (seed 004).
    pairs = {(ln.split()[2], ln.split("source ")[1]) for ln in cfg.splitlines()
             if ln.strip().startswith("server ") and " source " in ln}
    assert pairs == {(f"172.31.10.{n}:8080", a) for n in (5, 6, 7) for a in ("172.31.5.7", "172.31.5.8")}
    pem = tmp_path / "certs" / "cert.pem"
    assert pem.read_text() == PEM and stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert "MIIE" not in first.stdout + first.stderr + script
    assert (tmp_path / "html" / "wcs" / "examples" / "demo" / "index.html").exists()
    assert "listen 127.0.0.1:8180;" in (tmp_path / "nginx" / "nginx.conf").read_text()
    assert calls.count("curl sdk") == 1 and any(c.startswith("sysctl -p") for c in calls)
    assert calls[-3:] == ["systemctl enable haproxy", "systemctl reload-or-restart haproxy",
                          "aws ec2 associate-address --region eu-west-1 --allocation-id eipalloc-0123456789abcdef0 "
                          "--instance-id i-0123456789abcdef0 --allow-reassociation --output text"]
    assert "systemctl restart nginx" in calls
    assert (tmp_path / "tmpfiles" / "awslb-haproxy.conf").read_text() == "d /run/haproxy 0755 haproxy haproxy -\n"

    second, calls = box.run(script)
    assert second.returncode == 0, second.stderr
    assert not any(c.startswith(("ip addr add", "sysctl", "dnf")) for c in calls) and "curl sdk" not in calls
    assert "systemctl start haproxy" in calls and "systemctl start nginx" in calls
    assert not any("restart" in c for c in calls)   # nothing changed: no reload
    assert sorted(p.name for p in (tmp_path / "haproxy").iterdir()) == ["haproxy.cfg"]   # no temp file left
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == ["cert.pem"]

    box.secret.write_text(PEM.replace("MIIE", "MIIF"))   # a rotated certificate: reloaded on the next boot
    third, calls = box.run(script)
    assert third.returncode == 0 and "systemctl reload-or-restart haproxy" in calls


def test_a_secret_that_is_not_a_pem_stops_before_haproxy(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.secret.write_text("not a pem\n")
    r, calls = box.run(SCRIPTS["two-sources"]())
    assert r.returncode == 1 and "is not a PEM with a certificate and its private key" in r.stderr
    assert not any(c.startswith(("haproxy", "systemctl")) or "associate-address" in c for c in calls)
    assert list((tmp_path / "certs").iterdir()) == []


def test_too_few_secondary_addresses_stop_the_script(tmp_path: Path) -> None:
    box = Box(tmp_path)
    script = userdata(stack(secondary_addresses=3), "eipalloc-0123456789abcdef0")
    r, calls = box.run(script)
    assert r.returncode == 1 and "has 2 secondary address(es), haproxy.cfg needs 3" in r.stderr
    assert not any("associate-address" in c for c in calls)


def test_the_cfg_with_the_hosts_addresses_passes_the_real_haproxy(tmp_path: Path) -> None:
    haproxy = require_binary("haproxy")
    box = Box(tmp_path)
    script = userdata(stack(tls=False, pem_secret=None, secondary_addresses=2, system=False),
                      "eipalloc-0123456789abcdef0")
    r, _ = box.run(script)
    assert r.returncode == 0, r.stderr
    cfg = tmp_path / "haproxy" / "haproxy.cfg"
    assert "source 172.31.5.8" in cfg.read_text()
    check = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
