"""`awslb userdata list` and `awslb userdata render`: stdout carries only data, errors are one line."""

from __future__ import annotations

import json

import pytest

from awslb.userdata import catalogue, render_userdata
from tests.conftest import run_awslb, write


def test_list_text(cli, calls) -> None:
    r = cli("userdata", "list")
    assert r.exit_code == 0, r.stderr
    for name, t in catalogue().items():
        assert f"{name}: {t.description}" in r.stdout
    assert "cdn_point_of_entry" in r.stdout and "(required)" in r.stdout
    assert r.stderr == ""
    assert calls.made == []


def test_list_json(cli) -> None:
    r = cli("--output", "json", "userdata", "list")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    names = [t["name"] for t in doc["templates"]]
    assert names == sorted(catalogue())
    edge = next(t for t in doc["templates"] if t["name"] == "edge")
    assert edge["description"]
    by_name = {v["name"]: v for v in edge["variables"]}
    assert by_name["cdn_point_of_entry"] == {
        "name": "cdn_point_of_entry", "type": "host", "required": True, "default": None,
        "description": catalogue()["edge"].variables["cdn_point_of_entry"].description}
    assert by_name["heap_size"]["default"] == "512m" and by_name["heap_size"]["required"] is False
    assert by_name["update"]["type"] == "bool" and by_name["update"]["default"] is True
    assert by_name["cdn_role"]["choices"] == ["edge", "transcoder", "origin"]
    for t in doc["templates"]:
        for v in t["variables"]:
            assert v["description"], (t["name"], v["name"])


def test_render_prints_only_the_script(cli, calls) -> None:
    r = cli("userdata", "render", "edge", "--set", "cdn_point_of_entry=172.31.43.82", "--set", "heap_size=1g")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == render_userdata("edge", {"cdn_point_of_entry": "172.31.43.82", "heap_size": "1g"})
    assert r.stdout.startswith("#!/bin/bash\n") and "-Xmx1g" in r.stdout
    assert r.stderr == ""
    assert calls.made == []


def test_render_vars_file_and_set_wins(cli, tmp_path) -> None:
    f = write(tmp_path / "vars.toml", 'cdn_point_of_entry = "10.0.0.5"\nheap_size = "2g"\ndisable_demo = true\n')
    r = cli("userdata", "render", "edge", "--vars-file", str(f), "--set", "heap_size=4g")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == render_userdata("edge", {"cdn_point_of_entry": "10.0.0.5", "heap_size": "4g",
                                                "disable_demo": True})


def test_render_in_a_subprocess_is_pipeable(tmp_path) -> None:
    r = run_awslb("userdata", "render", "standalone", "--set", "update=false", "--no-color")
    assert r.returncode == 0, r.stderr
    assert r.stdout == render_userdata("standalone", {"update": False})
    assert r.stderr == ""


@pytest.mark.parametrize("args, code, needle", [
    (["userdata", "render", "edgy"], 4, "error: NAME: no such user-data template 'edgy' (known: edge, origin, standalone"),
    (["userdata", "render", "edge", "--set", "cdn_point_of_entry=1.2.3.4", "--set", "heap=1g"], 4,
     "error: --set: template 'edge' has no variable 'heap'"),
    (["userdata", "render", "edge"], 4, "error: --set: template 'edge' needs cdn_point_of_entry ("),
    (["userdata", "render", "edge", "--set", "cdn_point_of_entry"], 2,
     "error: --set: expected KEY=VALUE, got 'cdn_point_of_entry'"),
    (["userdata", "render", "standalone", "--set", "update=perhaps"], 4,
     "error: --set: update must be true or false, not 'perhaps'"),
    (["userdata", "render", "standalone", "--set", "heap_size=lots"], 4, "error: --set: heap_size must be a size such as 512m or 2g (size), not 'lots'"),
    (["userdata", "render", "standalone", "--vars-file", "missing.toml"], 4, "error: --vars-file: no such file"),
    (["userdata", "render"], 2, "NAME"),
    (["userdata", "frobnicate"], 2, "No such command"),
])
def test_bad_inputs(cli, calls, args, code, needle) -> None:
    r = cli(*args)
    assert r.exit_code == code, r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith("error: ")
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0], r.stderr
    assert "Traceback" not in r.stderr
    if code == 4:
        assert r.stderr.count("\n") == 1  # our own errors: exactly one line
    assert calls.made == []


def test_bad_vars_file(cli, tmp_path) -> None:
    bad = write(tmp_path / "bad.toml", "heap_size = \n")
    r = cli("userdata", "render", "standalone", "--vars-file", str(bad))
    assert r.exit_code == 4 and r.stdout == ""
    assert r.stderr.startswith(f"error: --vars-file: {bad} is not valid TOML") and r.stderr.count("\n") == 1
    unknown = write(tmp_path / "unknown.toml", 'heap = "1g"\n')
    r = cli("userdata", "render", "standalone", "--vars-file", str(unknown))
    assert r.exit_code == 4 and r.stdout == ""
    assert r.stderr.startswith("error: --vars-file: template 'standalone' has no variable 'heap'")
