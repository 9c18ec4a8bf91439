from pathlib import Path

import pytest

from awslb import spec
from awslb.errors import InputError


def load_text(tmp_path: Path, text: str) -> spec.StackSpec:
    p = tmp_path / "stack.toml"
    p.write_text(text)
    return spec.load(p)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[stack\nname='x'", "not valid TOML"),
        ("[stack]\nname = 'x'\ncolour = 'red'", "stack.colour: unknown key"),
        ("[load_balancer]\nws_port = 'eighty'", "load_balancer.ws_port:"),
        ("[load_balancer]\nws_port = 70000", "load_balancer.ws_port:"),
        ("[load_balancer]\nhealth_check = { path = 'stat' }", "load_balancer.health_check.path: must start with '/'"),
        ("[image]\nid='ami-12345678'\n[launch]\n[autoscaling]\nmin = 5\nmax = 2",
         "autoscaling.max: must be ≥ autoscaling.min"),
        ("[stack]\nname = '1bad'", "stack.name:"),
        ("[stack]\nssh_cidr = 'everywhere'", "stack.ssh_cidr: not a CIDR block"),
        ("[autoscaling]\nmin = 1", "launch: an [autoscaling] section needs a [launch] section"),
        ("[image]\nid = 'ami-12345678'\n[launch]\n[autoscaling]\non_demand_percent = 120",
         "autoscaling.on_demand_percent:"),
        ("[load_balancer]\nhttps = { port = 8443 }", "load_balancer.https.certificate:"),
        ("[load_balancer]\ntargets = ['i-xyz']", "load_balancer.targets:"),
    ],
)
def test_bad_stack_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        load_text(tmp_path, text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert err.value.exit_code == 4


def test_missing_file_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="-f: no such stack file"):
        spec.load(tmp_path / "nope.toml")


def test_defaults_suit_websockets(tmp_path: Path) -> None:
    s = load_text(tmp_path, "[stack]\nname='edge'\n[load_balancer]\n")
    lb = s.load_balancer
    assert lb is not None
    assert (lb.ws_port, lb.health_check.port, lb.health_check.path) == (8080, 8081, "/?action=stat")
    assert lb.idle_timeout > 60  # the AWS default of 60 s cuts idle WebSockets
    assert lb.stickiness


def test_merge_replaces_sections_and_validates() -> None:
    base = spec.parse({"stack": {"name": "s"}})
    lb = spec.LoadBalancerSection(ws_port=8080)
    merged = spec.merge(base, load_balancer=lb)
    assert merged.load_balancer == lb
    assert spec.merge(merged, load_balancer=None).load_balancer is None


def test_port_range() -> None:
    assert spec.port_range("30000-33000") == (30000, 33000)
    assert spec.port_range("1935") == (1935, 1935)
    for bad in ("33000-30000", "0-10", "a-b", "70000"):
        with pytest.raises(ValueError):
            spec.port_range(bad)


def test_servers_without_a_balancer_open_websocket_ports_to_clients() -> None:
    from awslb.resources.base import Network
    from awslb.resources.security_group import SecurityGroup

    net = Network("us-east-1", "vpc-1", ("subnet-1",))
    direct = spec.parse({"stack": {"name": "pool"}, "image": {"id": "ami-12345678"}, "launch": {},
                         "autoscaling": {"policy": "none"}})
    behind = spec.parse({"stack": {"name": "pool"}, "load_balancer": {}})
    for s, public in ((direct, True), (behind, False)):
        inst = next(r for r in SecurityGroup().desired(s, net) if r.id == "instance-sg")
        rules = {tuple(r) for r in inst.props["ingress"]}
        assert (("tcp", 8080, 8080, "0.0.0.0/0") in rules) is public
        assert not any(r[1] <= 8081 <= r[2] and r[3] == "0.0.0.0/0" for r in rules)  # stat page stays closed


def test_alb_switched_to_https_closes_the_plain_websocket_port() -> None:
    from awslb.resources.security_group import balancer_ports

    https = {"port": 8443, "domain": "media.example.com"}
    assert balancer_ports(spec.parse({"load_balancer": {"ws_port": 8080, "https": https}})) == [8443]
    assert balancer_ports(spec.parse({"load_balancer": {"ws_port": 8080}})) == [8080]
    classic = spec.parse({"load_balancer": {"type": "classic", "ws_port": 8080, "https": https}})
    assert balancer_ports(classic) == [8080, 8443]
