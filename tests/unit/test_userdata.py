"""The user-data catalogue: headers, variables, coercion, errors, the 16 KB limit."""

from __future__ import annotations

import pytest

from awslb import userdata
from awslb.errors import InputError, UsageError
from awslb.userdata import (
    USERDATA_LIMIT,
    Template,
    Variable,
    catalogue,
    get,
    load_vars_file,
    parse_sets,
    render_userdata,
    resolve,
)
from tests.conftest import write

EDGE = {"cdn_point_of_entry": "172.31.43.82"}


def test_catalogue_has_the_guides_roles() -> None:
    cat = catalogue()
    assert {"edge", "origin", "standalone"} <= set(cat)
    for t in cat.values():
        assert t.description, t.name
        assert t.path == f"userdata/{t.name}.sh.j2"


def test_every_variable_has_a_one_line_description() -> None:
    for t in catalogue().values():
        assert t.variables, t.name
        for v in t.variables.values():
            assert v.description and "\n" not in v.description, (t.name, v.name)
            assert v.required == (v.default is None), (t.name, v.name)


def test_the_guide_and_haproxy_settings_are_variables() -> None:
    edge = get("edge").variables
    for name in ("cdn_enabled", "cdn_ip", "cdn_role", "cdn_point_of_entry", "cdn_nodes_resolve_ip",
                 "heap_size", "update", "disable_demo", "flush_iptables",
                 "ws_map_custom_headers", "ws_ip_forward_header", "global_bandwidth_check_enabled"):
        assert name in edge, name
    # the guide's values are the defaults
    assert resolve(get("edge"), EDGE) == {**{n: v.default for n, v in edge.items()}, **EDGE}
    assert edge["cdn_ip"].default == "0.0.0.0" and edge["cdn_role"].default == "edge"
    assert edge["heap_size"].default == "512m" and edge["update"].default is True
    assert edge["cdn_point_of_entry"].required
    assert not get("origin").variables["cdn_point_of_entry"].required
    assert "cdn_role" not in get("origin").variables and "cdn_ip" not in get("standalone").variables


def test_missing_required_variable_names_it() -> None:
    with pytest.raises(InputError, match=r"^--set: template 'edge' needs cdn_point_of_entry \("):
        render_userdata("edge", {})
    with pytest.raises(InputError, match=r"^launch\.vars: .*needs cdn_point_of_entry"):
        render_userdata("edge", {}, key="launch.vars")
    with pytest.raises(InputError, match="cdn_point_of_entry needs a value"):
        render_userdata("edge", {"cdn_point_of_entry": ""})


def test_unknown_variable_and_template() -> None:
    with pytest.raises(InputError, match=r"^--set: template 'edge' has no variable 'heap' \(known: .*heap_size"):
        render_userdata("edge", {**EDGE, "heap": "1g"})
    with pytest.raises(InputError, match=r"^--vars-file: .*no variable 'heap'"):
        render_userdata("edge", {**EDGE, "heap": "1g"}, sources={"heap": "--vars-file"})
    with pytest.raises(InputError, match=r"^launch\.userdata: no such user-data template 'edgy' \(known: edge, origin"):
        render_userdata("edgy", {}, template_key="launch.userdata")


@pytest.mark.parametrize("raw, value", [("true", True), ("YES", True), ("1", True), ("on", True),
                                        ("false", False), ("no", False), ("0", False), ("off", False),
                                        (True, True), (False, False)])
def test_bool_coercion(raw, value) -> None:
    assert resolve(get("edge"), {**EDGE, "update": raw})["update"] is value


def test_int_and_string_coercion() -> None:
    t = Template("t", "test", "userdata/t.sh.j2", {
        "n": Variable("n", "a number", 3, type="int"),
        "s": Variable("s", "a string", "x"),
    })
    assert resolve(t, {"n": "42", "s": 7}) == {"n": 42, "s": "7"}
    assert resolve(t, {"s": True}) == {"n": 3, "s": "true"}
    with pytest.raises(InputError, match="^--set: n must be a whole number, not 'many'"):
        resolve(t, {"n": "many"})
    with pytest.raises(InputError, match="n must be a whole number"):
        resolve(t, {"n": True})
    with pytest.raises(InputError, match="s must be a single value"):
        resolve(t, {"s": {"a": 1}})


@pytest.mark.parametrize("given, needle", [
    ({"update": "maybe"}, "update must be true or false, not 'maybe'"),
    ({"cdn_role": "mirror"}, "cdn_role must be one of edge, transcoder, origin, not 'mirror'"),
    ({"heap_size": "512"}, "heap_size must be a size such as 512m or 2g (size), not '512'"),
    ({"heap_size": "1g; rm -rf /"}, "heap_size must be"),
    ({"update_url": "http://example.com/wcs.tar.gz"}, "update_url must be a URL (https://"),
    ({"ws_ip_forward_header": "X-Client IP"}, "ws_ip_forward_header must be an HTTP header name"),
    # issue 11: a newline adds a property; every variable has a type checked before rendering
    ({"cdn_point_of_entry": "1.2.3.4\ncdn_role=origin"}, "cdn_point_of_entry must be"),
    ({"cdn_point_of_entry": "fe80::1%eth0"}, "cdn_point_of_entry must be"),
    ({"cdn_ip": "10.0.0.1 $(reboot)"}, "cdn_ip must be an IP address"),
    ({"cdn_ip": "a'b"}, "cdn_ip must be"),
])
def test_bad_values_name_the_variable(given, needle) -> None:
    with pytest.raises(InputError) as err:
        render_userdata("edge", {**EDGE, **given})
    assert str(err.value).startswith("--set: ") and needle in str(err.value)
    assert "\n" not in str(err.value)


def test_values_are_shell_quoted() -> None:
    # Typed variables refuse such values (test_bad_values_name_the_variable); the filter that
    # every value still goes through quotes what it is given.
    from awslb.render import environment

    quote = environment().filters["shquote"]
    assert quote("10.0.0.1 $(reboot)") == "'10.0.0.1 $(reboot)'"
    assert quote("a'b") == """'a'"'"'b'"""
    script = render_userdata("edge", {"cdn_point_of_entry": "wcs-origin.example.com"})
    assert "set_prop cdn_point_of_entry wcs-origin.example.com\n" in script


def test_roles_render_their_cdn_settings() -> None:
    edge = render_userdata("edge", EDGE)
    assert "set_prop cdn_role edge\n" in edge and "set_prop cdn_point_of_entry 172.31.43.82\n" in edge
    origin = render_userdata("origin", {})
    assert "set_prop cdn_role origin\n" in origin and "set_prop cdn_enabled true\n" in origin
    assert "del_prop cdn_point_of_entry\n" in origin
    standalone = render_userdata("standalone", {})
    assert "set_prop cdn_enabled false\n" in standalone and "cdn_role" not in standalone
    for script in (edge, origin, standalone):
        assert script.startswith("#!/bin/bash\n") and script.endswith("\n")
        assert "set -u\n" in script and ">>" not in script
        assert "--no-check-certificate" not in script
        assert "{{" not in script and "{%" not in script


def test_options_switch_steps() -> None:
    off = render_userdata("standalone", {"update": False, "flush_iptables": False})
    assert "wget" not in off and "iptables" not in off and "database.yml" not in off
    assert "ws.ip_forward_header" not in off
    # Not asked: the HAProxy guide's settings are left as the server has them (tri-state switches).
    assert "ws.map_custom_headers" not in off and "global_bandwidth_check_enabled" not in off
    no = render_userdata("standalone", {"ws_map_custom_headers": False, "global_bandwidth_check_enabled": "off"})
    assert "set_prop ws.map_custom_headers false\n" in no and "set_prop global_bandwidth_check_enabled false\n" in no
    assert "ws.ip_forward_header" not in no
    on = render_userdata("standalone", {"disable_demo": True, "ws_map_custom_headers": True,
                                        "global_bandwidth_check_enabled": True})
    assert "wget" in on and "iptables -F" in on and "database.yml" in on
    assert "set_prop ws.map_custom_headers true\n" in on and "set_prop ws.ip_forward_header X-Client-IP\n" in on
    assert "set_prop global_bandwidth_check_enabled true\n" in on


def test_rendered_scripts_fit_well_under_16_kb() -> None:
    for name in catalogue():
        assert len(render_userdata(name, EDGE if name == "edge" else {}).encode()) < USERDATA_LIMIT // 2


def test_16_kb_limit_is_an_error(monkeypatch) -> None:
    # Typed variables keep the shipped templates far below 16 KB; the limit is checked on the
    # rendered size, so a lower limit shows the check.
    size = len(render_userdata("edge", EDGE).encode())
    monkeypatch.setattr(userdata, "USERDATA_LIMIT", size)
    assert len(render_userdata("edge", EDGE).encode()) == size
    with pytest.raises(InputError, match=rf"^--template: edge renders to {size + 1} bytes; EC2 user-data is "
                                         rf"limited to {size}"):
        render_userdata("edge", {**EDGE, "cdn_point_of_entry": "172.31.43.820"[:-1] + "a"})


def _parse(header: str) -> Template:
    return userdata._parse("t", "userdata/t.sh.j2", "{#- awslb:\n" + header + "\n-#}\n#!/bin/bash\n")


@pytest.mark.parametrize("header, needle", [
    ('[vars.a]\ndefault = 1', "vars.a has no description"),
    ('[vars.a]\ndefualt = 1\ndescription = "d"', "vars.a: unknown key 'defualt'"),
    ('[vars.a]\ndefault = "x"\ntype = "int"\ndescription = "d"', "the default 'x' is not a int"),
    ('[vars.a]\ndefault = "x"\npattern = "y"\ndescription = "d"', "a='x' does not match y"),
    ('[vars.a]\ntype = "float"\ndescription = "d"', "type must be one of address, bool, cidrs"),
    ('[vars.a]\ndefault = "x"\ndescription = "d"', "vars.a needs a type (address, host, size, url, ...)"),
    ('[vars.a]\ndefault = "x\\ny"\ntype = "host"\ndescription = "d"', "a must be"),
    ('uses = ["nope"]', "no userdata/partials/nope.vars.toml"),
    ('uses = ["wcs"]\n[vars.heap_size]\ndefault = "1g"\ntype = "size"\ndescription = "d"', "vars.heap_size is declared twice"),
    ("description = ", "bad header"),
])
def test_bad_headers(header, needle) -> None:
    with pytest.raises(InputError, match=".") as err:
        _parse(header)
    assert needle in str(err.value)


def test_header_required_typed_variable() -> None:
    t = _parse('[vars.port]\ntype = "int"\ndescription = "a port"')
    assert t.variables["port"].required and t.variables["port"].type == "int"
    assert resolve(t, {"port": "8080"}) == {"port": 8080}
    with pytest.raises(InputError, match="no `{#- awslb"):
        userdata._parse("t", "userdata/t.sh.j2", "#!/bin/bash\n")


def test_parse_sets() -> None:
    assert parse_sets(["a=1", "b=x=y", " c =", "a=2"]) == {"a": "2", "b": "x=y", "c": ""}
    for bad in ("novalue", "=1"):
        with pytest.raises(UsageError, match=f"^--set: expected KEY=VALUE, got '{bad}'"):
            parse_sets([bad])


def test_load_vars_file(tmp_path) -> None:
    f = write(tmp_path / "v.toml", 'heap_size = "1g"\nupdate = false\n')
    assert load_vars_file(f) == {"heap_size": "1g", "update": False}
    with pytest.raises(InputError, match="^--vars-file: no such file"):
        load_vars_file(tmp_path / "missing.toml")
    with pytest.raises(InputError, match="^--vars-file: .* is not valid TOML"):
        load_vars_file(write(tmp_path / "bad.toml", "heap_size = \n"))
    with pytest.raises(InputError, match="^--vars-file: cannot read"):
        load_vars_file(tmp_path)
