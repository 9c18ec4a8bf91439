"""The redirector's user-data and the edges' report section: shellcheck, and the redirector's
script run twice by bash against stubs (aws, curl, systemctl): the key lands with mode 0600,
the unit is installed, a second run restarts nothing, a rotated key restarts the service."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from awslb import spec
from awslb.resources.redirector import userdata, with_reports
from tests.checks.userdata_cases import stub_commands
from tests.conftest import require_binary


def stack(**red) -> spec.StackSpec:
    base = {"ami": "ami-12345678", "addresses": ["172.31.0.10", "172.31.16.10"],
            "key_parameter": "/awslb/s/report-key", "instance_profile": "p"}
    base.update(red)
    return spec.parse({"stack": {"name": "s"}, "redirector": base})


SCRIPTS = {
    "redirector": lambda: userdata(stack()),
    "redirector-admin-info": lambda: userdata(stack(admin_token_parameter="/awslb/s/token", server_info=True)),
    "edge-only-report-public": lambda: with_reports(None, stack()),
    "edge-only-report-private": lambda: with_reports(None, stack(edge_address="private")),
    "edge-appended": lambda: with_reports("#!/bin/bash\nset -u\necho edge\n", stack(edge_address="private")),
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_shellcheck(name: str, tmp_path: Path) -> None:
    shellcheck = require_binary("shellcheck")
    script = tmp_path / f"{name}.sh"
    script.write_text(SCRIPTS[name]())
    r = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_unit_runs_the_redirector_with_credentials() -> None:
    script = userdata(stack(admin_token_parameter="/awslb/s/token"))
    assert script.startswith("#!/bin/bash\n")
    unit = script.split("<<'AWSLB_REDIRECTOR_UNIT'\n", 1)[1].split("AWSLB_REDIRECTOR_UNIT\n", 1)[0]
    assert "LoadCredential=report.key:/etc/awslb/report.key\nLoadCredential=admin.token:/etc/awslb/admin.token\n" in unit
    line = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    assert line == ("ExecStart=/opt/awslb/bin/awslb redirector serve --key-file %d/report.key --listen "
                    "0.0.0.0:1934/udp --http 0.0.0.0:8088 --admin-token-file %d/admin.token --no-server-info")
    assert "DynamicUser=yes" in unit and "secret" not in script.lower()


STUBS = {
    "aws": 'echo "aws $*" >> "$STUB_LOG"\n[ -z "${AWS_FAIL:-}" ] || exit 255\ncat "$FAKE_SECRET"\n',
    "curl": 'case "$*" in *api/token*) echo tok ;; *placement/region*) echo eu-west-1 ;; '
            '*local-ipv4*) echo 172.31.5.6 ;; *) exit 22 ;; esac\n',
    "systemctl": 'echo "systemctl $*" >> "$STUB_LOG"\n',
}


class Box:
    def __init__(self, root: Path):
        bin_dir = stub_commands(root / "bin", STUBS)
        opt = root / "opt"
        (opt / "bin").mkdir(parents=True)
        (opt / "bin" / "awslb").write_text("#!/bin/sh\n")
        (opt / "bin" / "awslb").chmod(0o755)
        self.etc, self.units, self.log, self.secret = root / "etc", root / "units", root / "calls.log", root / "secret"
        self.units.mkdir()
        self.secret.write_text("key-0123456789abcdef\n")
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "AWSLB_DIR": str(opt),
                    "AWSLB_ETC": str(self.etc), "AWSLB_UNIT_DIR": str(self.units), "STUB_LOG": str(self.log),
                    "FAKE_SECRET": str(self.secret), "AWSLB_METADATA_URL": "http://127.0.0.1:9", "TMPDIR": str(root)}

    def run(self, script: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        self.log.write_text("")
        r = subprocess.run(["bash", "-c", script], env={**self.env, **env}, capture_output=True, text=True,
                           timeout=60)
        return r, self.log.read_text().splitlines()


def test_redirector_userdata_runs_twice(tmp_path: Path) -> None:
    box = Box(tmp_path)
    script = userdata(stack())
    first, calls = box.run(script)
    assert first.returncode == 0, first.stderr
    assert calls == ["aws ssm get-parameter --region eu-west-1 --with-decryption --name /awslb/s/report-key "
                     "--query Parameter.Value --output text",
                     "systemctl daemon-reload", "systemctl enable awslb-redirector.service",
                     "systemctl restart awslb-redirector.service"]
    key = box.etc / "report.key"
    assert key.read_text() == "key-0123456789abcdef\n"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(box.etc.stat().st_mode) == 0o700
    assert "key-0123456789abcdef" not in first.stdout + first.stderr
    unit = (box.units / "awslb-redirector.service").read_text()
    assert "ExecStart=/opt/awslb/bin/awslb redirector serve" in unit

    second, calls = box.run(script)
    assert second.returncode == 0, second.stderr
    assert calls[1:] == ["systemctl enable awslb-redirector.service", "systemctl start awslb-redirector.service"]

    box.secret.write_text("rotated-0123456789abcdef\n")
    third, calls = box.run(script)
    assert third.returncode == 0 and calls[-1] == "systemctl restart awslb-redirector.service"
    assert key.read_text() == "rotated-0123456789abcdef\n"
    assert sorted(p.name for p in box.etc.iterdir()) == ["report.key"]   # no temporary file left


def test_a_parameter_that_cannot_be_read_stops_the_script(tmp_path: Path) -> None:
    box = Box(tmp_path)
    r, calls = box.run(userdata(stack()), AWS_FAIL="1")
    assert r.returncode == 1
    assert "cannot read SSM parameter /awslb/s/report-key" in r.stderr
    assert not any(c.startswith("systemctl") for c in calls)
    assert list(box.etc.iterdir()) == []
