"""The user-data a stack renders for its servers, checked like the templates: the real
`shellcheck`, then bash twice against a fake WCS tree (tests/checks/test_userdata_run.py).

Behind HAProxy (seed 001) the servers take the client's address from HAProxy's header; with
an [origin] the edges join it; without either, the guide's HAProxy settings are left as the
image has them (tri-state switches).
"""

from __future__ import annotations

import subprocess

import pytest

from awslb import spec
from awslb.resources.launch_template import rendered_userdata
from awslb.resources.origin import server_vars
from tests.checks.test_userdata_run import Box
from tests.conftest import require_binary

LAUNCH = {"ami": "ami-12345678", "userdata": "edge", "vars": {"update": False}}
CASES = {
    "haproxy": ({"launch": {**LAUNCH, "vars": {"update": False, "cdn_point_of_entry": "10.0.0.5"}}, "haproxy": {}},
                {}, {"ws.map_custom_headers": "true", "ws.ip_forward_header": "X-Client-IP",
                     "cdn_point_of_entry": "10.0.0.5"}),
    "origin-existing": ({"launch": LAUNCH, "origin": {"instance": "wcs-origin"}},
                        {"origin.address": "172.31.7.9"}, {"cdn_point_of_entry": "172.31.7.9"}),
    "origin-launched": ({"launch": LAUNCH, "origin": {"address": "172.31.0.20"}}, {},
                        {"cdn_point_of_entry": "172.31.0.20"}),
    # An explicit choice wins over what HAProxy implies.
    "haproxy-off": ({"launch": {**LAUNCH, "vars": {"update": False, "cdn_point_of_entry": "10.0.0.5",
                                                   "ws_map_custom_headers": False}}, "haproxy": {}},
                    {}, {"ws.map_custom_headers": "false", "cdn_point_of_entry": "10.0.0.5"}),
}
# What the fake tree starts with: an image someone configured by hand.
START = "ws.map_custom_headers=false\nglobal_bandwidth_check_enabled=true\ncdn_point_of_entry=10.9.9.9\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_stack_user_data_sets_what_the_stack_implies(tmp_path, case) -> None:
    data, facts, want = CASES[case]
    s = spec.parse({"stack": {"name": "cdn"}, **data})
    script = rendered_userdata(s.launch, server_vars(s, facts))
    assert script is not None
    path = tmp_path / "user-data.sh"
    path.write_text(script)
    proc = subprocess.run([require_binary("shellcheck"), "--shell=bash", "--severity=style", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    box = Box(tmp_path / "box")
    (box.home / "conf" / "flashphoner.properties").write_text(START)
    first = box.run(script)
    assert first.returncode == 0, first.stdout + first.stderr
    props = box.props()
    got = dict(props)
    for key, value in want.items():
        assert [k for k, _ in props].count(key) == 1 and got[key] == value, (key, props)
    if "ws.map_custom_headers" not in want:
        assert got["ws.map_custom_headers"] == "false"  # not asked: as the image had it
    if "ws.ip_forward_header" not in want:
        assert "ws.ip_forward_header" not in got
    assert got["global_bandwidth_check_enabled"] == "true"  # never asked here: left alone
    conf = box.conf()
    box.calls()
    second = box.run(script)
    assert second.returncode == 0 and "settings unchanged" in second.stdout, second.stdout + second.stderr
    assert box.conf() == conf
    assert box.calls() == ["iptables -F"]  # no restart, no update
