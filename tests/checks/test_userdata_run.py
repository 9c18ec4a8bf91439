"""Rendered user-data run by bash, twice, against a fake WCS tree (a warm-pool instance is
started again): every property once with the right value, the heap set, the update done
once, and a second run that changes nothing and does not restart WCS.

`service`, `pgrep`, `iptables` and `wget` are tiny stubs first on PATH that log their calls;
WCS_HOME and AWSLB_STATE_DIR point the script at the temp dir. With `agent = true` the
agent partial runs too: `python3` (venv), the venv's `pip` and `systemctl` are stubs that log
to AGENT_LOG, and AWSLB_AGENT_DIR / AWSLB_SYSTEMD_DIR put the venv and the unit in the temp dir
(nothing is installed, nothing leaves the machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from awslb.userdata import catalogue, render_userdata
from tests.checks.userdata_cases import all_on, defaults, stub_commands

# flashphoner.properties as left by the guide's script run twice (`echo -e "\ncdn_..." >>`),
# with other settings around and no final newline.
GUIDE_PROPERTIES = """\
ip=172.31.40.10
ip_local=172.31.40.10

cdn_enabled=true

cdn_ip=0.0.0.0

cdn_role=edge
#cdn_role=commented-out
cdn_role_extra=kept
  cdn_point_of_entry = 10.9.9.9

cdn_enabled=true

cdn_ip=0.0.0.0
ws.map_custom_headers=true
rtc_ice_add_local_component=true"""

CORE = "-Xms256M\n-Xmx1024M\n-XX:+UseConcMarkSweepGC\n"
DATABASE = "demo: {password: demo, active: true}\nadmin: {password: admin, active: true}\n"

STUBS = {
    "service": 'echo "service $*" >> "$STUB_LOG"\n'
               'case "$2" in start|restart) touch "$RUN_FLAG" ;; stop) rm -f "$RUN_FLAG" ;; esac\n',
    "pgrep": '[ -e "$RUN_FLAG" ]\n',
    "iptables": 'echo "iptables $*" >> "$STUB_LOG"\n',
    # wget ... -O FILE URL: copy the fake build, or fail when there is none
    "wget": 'echo "wget ${*: -1}" >> "$STUB_LOG"\n[ -n "${FAKE_BUILD:-}" ] || exit 4\n'
            'while [ "$#" -gt 0 ]; do if [ "$1" = -O ]; then cp "$FAKE_BUILD" "$2"; fi; shift; done\n',
}
# The agent partial (agent = true): a venv whose pip "installs" the awslb console script.
AGENT_STUBS = {
    "python3": 'echo "python3 $*" >> "$AGENT_LOG"\n'
               'if [ "${1:-}" = -m ] && [ "${2:-}" = venv ]; then\n'
               '  mkdir -p "$3/bin"\n'
               '  printf \'#!/bin/bash\\necho "pip $*" >> "$AGENT_LOG"\\n'
               'printf "#!/bin/bash\\\\n" > "%s/bin/awslb"; chmod +x "%s/bin/awslb"\\n\' "$3" "$3" > "$3/bin/pip"\n'
               '  chmod +x "$3/bin/pip"\n'
               'fi\n',
    "systemctl": 'echo "systemctl $*" >> "$AGENT_LOG"\n',
}


class Box:
    """A fake instance: WCS tree, state dir, stubs, and a log of the commands run."""

    def __init__(self, root: Path, running: bool = True, build: bool = True):
        self.root = root
        self.home = root / "FlashphonerWebCallServer"
        conf = self.home / "conf"
        conf.mkdir(parents=True)
        (conf / "flashphoner.properties").write_text(GUIDE_PROPERTIES)
        (conf / "wcs-core.properties").write_text(CORE)
        (conf / "database.yml").write_text(DATABASE)
        bin_dir = stub_commands(root / "bin", {**STUBS, **AGENT_STUBS})
        self.log = root / "calls.log"
        self.log.write_text("")
        self.flag = root / "wcs-running"
        if running:
            self.flag.touch()
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                    "WCS_HOME": str(self.home), "AWSLB_STATE_DIR": str(root / "state"),
                    "STUB_LOG": str(self.log), "RUN_FLAG": str(self.flag), "TMPDIR": str(root),
                    "AGENT_LOG": str(root / "agent.log"), "AWSLB_AGENT_DIR": str(root / "agent-venv"),
                    "AWSLB_SYSTEMD_DIR": str(root)}
        self.unit = root / "awslb-agent.service"
        if build:
            self.env["FAKE_BUILD"] = str(self._build())

    def _build(self) -> Path:
        """A WCS tarball whose install.sh logs that it ran."""
        src = self.root / "FlashphonerWebCallServer-5.2.999"
        src.mkdir()
        (src / "install.sh").write_text('#!/bin/bash\necho "install.sh $*" >> "$STUB_LOG"\n')
        out = self.root / "build.tar.gz"
        with tarfile.open(out, "w:gz") as tar:
            tar.add(src, arcname=src.name)
        return out

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        path = self.root / "user-data.sh"
        path.write_text(script)
        return subprocess.run([shutil.which("bash") or "/bin/bash", str(path)], env=self.env,
                              capture_output=True, text=True, timeout=60)

    def calls(self) -> list[str]:
        lines = self.log.read_text().splitlines()
        self.log.write_text("")
        return lines

    def props(self) -> list[tuple[str, str]]:
        text = (self.home / "conf" / "flashphoner.properties").read_text()
        out = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                out.append((k.strip(), v.strip()))
        return out

    def agent_calls(self) -> list[str]:
        log = self.root / "agent.log"
        lines = log.read_text().splitlines() if log.exists() else []
        log.write_text("")
        return lines

    def conf(self) -> dict[str, str]:
        return {p.name: p.read_text() for p in sorted((self.home / "conf").iterdir())}


def expected(name: str, values: dict) -> dict[str, str]:
    b = {True: "true", False: "false"}
    # Tri-state switches: "" leaves the guide's file as it is (ws.map_custom_headers=true there).
    want = {"ws.map_custom_headers": values["ws_map_custom_headers"] or "true"}
    if values["global_bandwidth_check_enabled"]:
        want["global_bandwidth_check_enabled"] = values["global_bandwidth_check_enabled"]
    if values["ws_map_custom_headers"] == "true":
        want["ws.ip_forward_header"] = values["ws_ip_forward_header"]
    if name == "standalone":
        want["cdn_enabled"] = "false"
        return want
    want.update(cdn_enabled=b[values.get("cdn_enabled", True)], cdn_ip=values["cdn_ip"],
                cdn_role=values.get("cdn_role", "origin"),
                cdn_nodes_resolve_ip=b[values["cdn_nodes_resolve_ip"]])
    if values["cdn_point_of_entry"]:
        want["cdn_point_of_entry"] = values["cdn_point_of_entry"]
    return want


@pytest.mark.parametrize("name", sorted(catalogue()))
@pytest.mark.parametrize("options", ["defaults", "all-on"])
def test_run_twice(tmp_path, name, options) -> None:
    t = catalogue()[name]
    given = defaults(t) if options == "defaults" else all_on(t)
    given["heap_size"] = "2g"
    values = {v: given.get(v, var.default) for v, var in t.variables.items()}
    box = Box(tmp_path)

    first = box.run(render_userdata(name, given))
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stderr == ""
    assert "first boot" in first.stdout

    props = box.props()
    keys = [k for k, _ in props]
    for key, value in expected(name, values).items():
        assert keys.count(key) == 1, (key, props)
        assert dict(props)[key] == value, key
    if name == "origin" and not values["cdn_point_of_entry"]:
        assert "cdn_point_of_entry" not in keys  # the origin is the point of entry
    if not values["global_bandwidth_check_enabled"]:
        assert "global_bandwidth_check_enabled" not in keys  # not asked: not written
    if values["ws_map_custom_headers"] != "true":
        assert "ws.ip_forward_header" not in keys
    assert dict(props)["ip"] == "172.31.40.10" and dict(props)["cdn_role_extra"] == "kept"
    if name != "standalone":  # standalone leaves the cdn_ip and cdn_role it does not use alone
        assert len(keys) == len(set(keys)), props
    conf = box.conf()
    assert "#cdn_role=commented-out\n" in conf["flashphoner.properties"]
    assert [ln for ln in conf["wcs-core.properties"].splitlines() if ln.startswith("-Xm")] == ["-Xms256M", "-Xmx2g"]
    demo_off = "demo: {password: demo, active: false}" in conf["database.yml"]
    assert demo_off == values["disable_demo"]
    assert "admin: {password: admin, active: true}" in conf["database.yml"]

    calls = box.calls()
    if values["update"]:
        assert calls[:3] == ["service webcallserver stop", f"wget {values['update_url']}", "install.sh -silent"]
        assert calls[3:4] == ["service webcallserver start"]
    else:
        assert calls[:1] == ["service webcallserver restart"]
    assert ("iptables -F" in calls) == values["flush_iptables"]
    agent_calls = box.agent_calls()
    if values["agent"]:  # installed once, the unit written, enabled and started
        assert agent_calls == ["python3 -c import venv, ensurepip", f"python3 -m venv {box.root / 'agent-venv'}",
                               "pip install --quiet awslb", "systemctl daemon-reload",
                               "systemctl enable awslb-agent.service", "systemctl restart awslb-agent.service"]
        assert " agent serve --port 9707 " in box.unit.read_text() and " --over down " in box.unit.read_text()
    else:
        assert agent_calls == [] and not box.unit.exists()

    # Started again (a warm-pool instance): nothing changes, nothing is re-installed or restarted.
    second = box.run(render_userdata(name, given))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "running again" in second.stdout and "settings unchanged" in second.stdout
    assert box.conf() == conf
    assert box.calls() == (["iptables -F"] if values["flush_iptables"] else [])
    # The agent: not installed again, the unit unchanged, not restarted (enabled, started if stopped).
    assert box.agent_calls() == (["systemctl enable --now awslb-agent.service"] if values["agent"] else [])


def test_values_land_verbatim(tmp_path) -> None:
    """Quotes, backslashes, `&` and `/` are not special to set_prop (awk reads them from the environment)."""
    # Typed variables refuse such a value (tests/unit/test_userdata.py); the script must still
    # carry any value verbatim, so it is rendered here past the type check.
    from awslb.render import render
    from awslb.userdata import get, resolve

    box = Box(tmp_path)
    odd = "a b'c\\d&e/f$g"
    edge = get("edge")
    values = {**resolve(edge, {"cdn_point_of_entry": "10.0.0.1", "update": False}), "cdn_point_of_entry": odd}
    r = box.run(render(edge.path, template=edge.name, **values))
    assert r.returncode == 0, r.stderr
    assert dict(box.props())["cdn_point_of_entry"] == odd


def test_a_changed_setting_restarts_wcs(tmp_path) -> None:
    box = Box(tmp_path)
    assert box.run(render_userdata("edge", {"cdn_point_of_entry": "10.0.0.1"})).returncode == 0
    box.calls()
    r = box.run(render_userdata("edge", {"cdn_point_of_entry": "10.0.0.2"}))
    assert r.returncode == 0, r.stderr
    assert dict(box.props())["cdn_point_of_entry"] == "10.0.0.2"
    assert box.calls() == ["service webcallserver restart", "iptables -F"]  # no second update


def test_failed_update_keeps_the_build_and_retries(tmp_path) -> None:
    box = Box(tmp_path, running=False, build=False)
    script = render_userdata("standalone", {})
    r = box.run(script)
    assert r.returncode == 0, r.stderr
    assert "update failed" in r.stdout
    assert box.calls() == ["wget https://flashphoner.com/download-wcs5.2-server.tar.gz",
                           "service webcallserver start", "iptables -F"]
    assert box.run(script).returncode == 0
    # tried again on the next boot (WCS stopped for it, started again after the failure)
    assert box.calls() == ["service webcallserver stop", "wget https://flashphoner.com/download-wcs5.2-server.tar.gz",
                           "service webcallserver start", "iptables -F"]


def test_no_wcs_is_an_error(tmp_path) -> None:
    box = Box(tmp_path, build=False)
    shutil.rmtree(box.home)
    r = box.run(render_userdata("standalone", {"update": False}))
    assert r.returncode == 1
    assert "no WCS installation" in r.stdout
    assert box.calls() == []
