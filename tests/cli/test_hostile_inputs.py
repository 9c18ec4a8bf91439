"""Issue 11: hostile input, data-driven. Every case, run in-process through the real CLI:

- exit 2 (a flag) or 4 (a stack file or input value);
- exactly one line on stderr, `error: ...`, naming the stack key or the flag;
- no traceback;
- zero AWS calls: not one, read or write (botocore's `before-send` hook, on every session the
  CLI makes, and BaseClient._make_api_call for any client made elsewhere; both fail the call
  before anything leaves the process).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import botocore.client
import pytest
from typer.testing import CliRunner

from awslb import aws as aws_mod
from awslb.cli import app

# -- the stack files ------------------------------------------------------------------------

BASE: dict[str, dict] = {
    "stack": {"name": "hostile", "region": "us-east-1", "tags": {"team": "media"}},
    "image": {"id": "ami-1e749f67"},
    "load_balancer": {"type": "application", "ws_port": 8080,
                      "health_check": {"port": 8081, "path": "/?action=stat", "matcher": "200"},
                      "https": {"port": 8443, "certificate": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}},
    "launch": {"name": "wcs-edge", "userdata": "edge", "instance_type": "c5.large",
               "vars": {"cdn_point_of_entry": "172.31.43.82"}},
    "autoscaling": {"min": 1, "max": 4},
    "haproxy": {"servers": [{"name": "wcs1", "host": "172.31.44.243", "port": 8080}]},
}


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string: \n, \u2028 ... escaped
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def toml(data: dict[str, dict]) -> str:
    out = []
    for section, values in data.items():
        out.append(f"[{section}]")
        out += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(out) + "\n"


def mutate(path: str, value: object) -> dict[str, dict]:
    """BASE with one key (dotted path) set to ``value``."""
    data = json.loads(json.dumps(BASE))
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return data


# (dotted key, bad value, what the error line must name)
STACK_CASES: list[tuple[str, object, str]] = [
    # stack names: one check for every command
    ("stack.name", "", "stack.name"),
    ("stack.name", "a\nb", "stack.name"),
    ("stack.name", "wcs\n", "stack.name"),
    ("stack.name", "../../etc/x", "stack.name"),
    ("stack.name", "9lives", "stack.name"),
    ("stack.name", "x" * 25, "stack.name"),
    ("stack.name", "a_b", "stack.name"),
    ("stack.name", "a b", "stack.name"),
    ("stack.name", "wcs\u2028x", "stack.name"),
    ("stack.name", "ünï", "stack.name"),
    ("stack.name", 7, "stack.name"),
    ("stack.region", "us-east-1\n", "stack.region"),
    ("stack.region", "mars", "stack.region"),
    ("stack.region", "us-east-1; rm", "stack.region"),
    ("stack.vpc", "vpc-1\n", "stack.vpc"),
    ("stack.vpc", "default", "stack.vpc"),
    ("stack.subnets", ["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"], "stack.subnets"),
    ("stack.subnets", ["subnet-x"], "stack.subnets"),
    ("stack.ssh_cidr", "everywhere", "stack.ssh_cidr"),
    ("stack.ssh_cidr", "10.0.0.0/8\n", "stack.ssh_cidr"),
    ("stack.media_ports", "3-1", "stack.media_ports"),
    ("stack.media_ports", "30000-33000\n", "stack.media_ports"),
    ("stack.media_ports", "0-10", "stack.media_ports"),
    # tags: AWS's rules, checked here
    ("stack.tags", {f"k{i}": "v" for i in range(51)}, "stack.tags"),
    ("stack.tags", {f"k{i}": "v" for i in range(41)}, "stack.tags"),
    ("stack.tags", {"aws:cost": "x"}, "stack.tags"),
    ("stack.tags", {"AWS:cost": "x"}, "stack.tags"),
    ("stack.tags", {"awslb:stack": "other"}, "stack.tags"),
    ("stack.tags", {"Name": "x"}, "stack.tags"),
    ("stack.tags", {"k" * 129: "v"}, "stack.tags"),
    ("stack.tags", {"team": "v" * 257}, "stack.tags"),
    ("stack.tags", {"": "v"}, "stack.tags"),
    ("stack.tags", {"team": "a\nb"}, "stack.tags"),
    ("stack.tags", {"te\nam": "x"}, "stack.tags"),
    ("stack.tags", {"team": "a;b"}, "stack.tags"),
    ("stack.tags", {"team": "<script>"}, "stack.tags"),
    ("stack.unknown", "x", "stack.unknown"),
    # image
    ("image.id", "ami-xyz", "image.id"),
    ("image.id", "ami-1e749f67\n", "image.id"),
    ("image.name", "ab", "image.name"),
    ("image.name", "wcs\nimage", "image.name"),
    ("image.name", "wcs;image", "image.name"),
    ("image.copy_to", ["eu-west-1", "eu-west-1"], "image.copy_to"),
    ("image.copy_to", ["eu-west-1\n"], "image.copy_to"),
    ("image.copy_to", ["nowhere"], "image.copy_to"),
    ("image.from_instance", "i-123", "image.from_instance"),
    ("image.from_instance", "wcs\nserver", "image.from_instance"),
    # load balancer
    ("load_balancer.type", "gateway", "load_balancer.type"),
    ("load_balancer.name", "-lb", "load_balancer.name"),
    ("load_balancer.name", "lb\n", "load_balancer.name"),
    ("load_balancer.name", "x" * 33, "load_balancer.name"),
    ("load_balancer.name", "internal-lb", "load_balancer.name"),
    ("load_balancer.ws_port", 0, "load_balancer.ws_port"),
    ("load_balancer.ws_port", 70000, "load_balancer.ws_port"),
    ("load_balancer.ws_port", "8080", "load_balancer.ws_port"),
    ("load_balancer.http_port", 8080, "load_balancer.http_port"),
    ("load_balancer.idle_timeout", 0, "load_balancer.idle_timeout"),
    ("load_balancer.idle_timeout", 4001, "load_balancer.idle_timeout"),
    ("load_balancer.cookie_ttl", 0, "load_balancer.cookie_ttl"),
    ("load_balancer.deregistration_delay", -1, "load_balancer.deregistration_delay"),
    ("load_balancer.targets", ["i-12"], "load_balancer.targets"),
    ("load_balancer.targets", ["wcs\nbox"], "load_balancer.targets"),
    ("load_balancer.subnets", ["subnet-1;x"], "load_balancer.subnets"),
    ("load_balancer.security_groups", ["sg-zz"], "load_balancer.security_groups"),
    ("load_balancer.security_groups", ["default"], "load_balancer.security_groups"),
    ("load_balancer.target_group", "tg_1", "load_balancer.target_group"),
    ("load_balancer.health_check.path", "stat", "load_balancer.health_check.path"),
    ("load_balancer.health_check.path", "/" + "a" * 1024, "load_balancer.health_check.path"),
    ("load_balancer.health_check.path", "/a b", "load_balancer.health_check.path"),
    ("load_balancer.health_check.path", "/stat\n", "load_balancer.health_check.path"),
    ("load_balancer.health_check.path", "/ünï", "load_balancer.health_check.path"),
    ("load_balancer.health_check.matcher", "ok", "load_balancer.health_check.matcher"),
    ("load_balancer.health_check.matcher", "100", "load_balancer.health_check.matcher"),
    ("load_balancer.health_check.matcher", "200-199", "load_balancer.health_check.matcher"),
    ("load_balancer.health_check.matcher", "500", "load_balancer.health_check.matcher"),
    ("load_balancer.health_check.matcher", "200,", "load_balancer.health_check.matcher"),
    ("load_balancer.health_check.matcher", "200\n", "load_balancer.health_check.matcher"),
    ("load_balancer.health_check.port", 0, "load_balancer.health_check.port"),
    ("load_balancer.health_check.interval", 4, "load_balancer.health_check.interval"),
    ("load_balancer.health_check.timeout", 10, "load_balancer.health_check.timeout"),
    ("load_balancer.health_check.protocol", "TCP", "load_balancer.health_check.protocol"),
    ("load_balancer.health_check.healthy_threshold", 11, "load_balancer.health_check.healthy_threshold"),
    ("load_balancer.https.ssl_policy", "ELBSecurityPolicy-Made-Up", "load_balancer.https.ssl_policy"),
    ("load_balancer.https.ssl_policy", "ELBSecurityPolicy-2014-01", "load_balancer.https.ssl_policy"),
    ("load_balancer.https.ssl_policy", "ELBSecurityPolicy-2016-08\n", "load_balancer.https.ssl_policy"),
    ("load_balancer.https.certificate", "arn:aws:acm:us-east-1:1:certificate/x", "load_balancer.https.certificate"),
    ("load_balancer.https.certificate", "arn:aws:acm:us-east-1:123456789012:certificate/a\nb",
     "load_balancer.https.certificate"),
    ("load_balancer.https.port", 0, "load_balancer.https.port"),
    ("load_balancer.https.domain", "media.example.com\n", "load_balancer.https.domain"),
    # launch
    ("launch.kind", "instance", "launch.kind"),
    ("launch.name", "ab", "launch.name"),
    ("launch.name", "wcs edge", "launch.name"),
    ("launch.name", "wcs-edge\n", "launch.name"),
    ("launch.instance_type", "huge", "launch.instance_type"),
    ("launch.instance_type", "c5.large\n", "launch.instance_type"),
    ("launch.volume_size", 4, "launch.volume_size"),
    ("launch.volume_size", 20000, "launch.volume_size"),
    ("launch.ami", "ami-\n", "launch.ami"),
    ("launch.security_groups", ["sg-1"], "launch.security_groups"),
    ("launch.key_name", "key\nname", "launch.key_name"),
    ("launch.userdata", "nope", "launch.userdata"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4\ncdn_role=origin"}, "cdn_point_of_entry"),
    ("launch.vars", {"cdn_point_of_entry": "fe80::1%eth0"}, "cdn_point_of_entry"),
    ("launch.vars", {"cdn_point_of_entry": "10.0.0.1 $(reboot)"}, "cdn_point_of_entry"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4", "heap_size": "lots"}, "heap_size"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4", "heap_size": "1g\n-Xss1k"}, "heap_size"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4", "cdn_role": "master"}, "cdn_role"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4", "cdn_ip": "0.0.0.0\u2028"}, "cdn_ip"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4", "update": "perhaps"}, "update"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4", "update_url": "http://x/y"}, "update_url"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4", "ws_ip_forward_header": "X-IP\nX"}, "ws_ip_forward_header"),
    ("launch.vars", {"cdn_point_of_entry": "1.2.3.4", "nope": "1"}, "nope"),
    ("launch.vars", {}, "cdn_point_of_entry"),
    # autoscaling
    ("autoscaling.max", 0, "autoscaling.max"),
    ("autoscaling.min", -1, "autoscaling.min"),
    ("autoscaling.desired", 9, "autoscaling.desired"),
    ("autoscaling.name", "a:b", "autoscaling.name"),
    ("autoscaling.name", "wcs\nasg", "autoscaling.name"),
    ("autoscaling.cpu_target", 0, "autoscaling.cpu_target"),
    ("autoscaling.cpu_target", 101, "autoscaling.cpu_target"),
    ("autoscaling.on_demand_percent", 101, "autoscaling.on_demand_percent"),
    ("autoscaling.instance_types", ["c5.large", "c5.large"], "autoscaling.instance_types"),
    ("autoscaling.instance_types", ["c5.xlarge"], "autoscaling.instance_types"),
    ("autoscaling.policy", "memory", "autoscaling.policy"),
    ("autoscaling.subnets", ["subnet-"], "autoscaling.subnets"),
    ("autoscaling.warm_pool", {"min": 2, "max": 1}, "autoscaling.warm_pool"),
    # haproxy (stack file)
    ("haproxy.servers", [{"name": "wcs1\n", "host": "10.0.0.1"}], "haproxy.servers"),
    ("haproxy.servers", [{"name": "wcs 1", "host": "10.0.0.1"}], "haproxy.servers"),
    ("haproxy.servers", [{"name": "wcs1", "host": "fe80::1%lo]:8080\n server evil 1.2.3.4:80"}], "haproxy.servers"),
    ("haproxy.servers", [{"name": "wcs1", "host": "fe80::1%lo"}], "haproxy.servers"),
    ("haproxy.servers", [{"name": "wcs1", "host": "host.example\n"}], "haproxy.servers"),
    ("haproxy.servers", [{"name": "wcs1", "host": "under_score"}], "haproxy.servers"),
    ("haproxy.servers", [{"name": "a", "host": "10.0.0.1"}, {"name": "a", "host": "10.0.0.2"}], "haproxy.servers"),
    ("haproxy.stats_socket", "/run/x.sock mode 600\n    stats socket ipv4@0.0.0.0:9999 level admin",
     "haproxy.stats_socket"),
    ("haproxy.stats_socket", "/run/x.sock level admin", "haproxy.stats_socket"),
    ("haproxy.stats_socket", "ipv4@0.0.0.0:9999", "haproxy.stats_socket"),
    ("haproxy.tls_cert", "/etc/x.pem\n    bind *:80", "haproxy.tls_cert"),
    ("haproxy.tls_cert", "/etc/x.pem crt-ignore-err all", "haproxy.tls_cert"),
    ("haproxy.tls_cert", "cert.pem", "haproxy.tls_cert"),
    ("haproxy.tls_cert", "/etc/../root/x.pem", "haproxy.tls_cert"),
    ("haproxy.bind", "fe80::1%lo", "haproxy.bind"),
    ("haproxy.bind", "0.0.0.0\n", "haproxy.bind"),
    ("haproxy.source_addresses", ["fe80::1%lo]:8080\n server evil 1.2.3.4:80"], "haproxy.source_addresses"),
    ("haproxy.source_addresses", ["fe80::1%eth0"], "haproxy.source_addresses"),
    ("haproxy.source_addresses", ["10.0.0.1", "10.0.0.1"], "haproxy.source_addresses"),
    ("haproxy.web_backend", "127.0.0.1:8180\n", "haproxy.web_backend"),
    ("haproxy.web_backend", "127.0.0.1", "haproxy.web_backend"),
    ("haproxy.web_backend", "[fe80::1%lo]:80", "haproxy.web_backend"),
    ("haproxy.agent_inter", "5s\n", "haproxy.agent_inter"),
    ("haproxy.agent_inter", "5x", "haproxy.agent_inter"),
    ("haproxy.agent_inter", "9" * 20, "haproxy.agent_inter"),
    ("haproxy.http_port", 443, "haproxy.http_port"),
    ("haproxy.weight", 257, "haproxy.weight"),
    ("haproxy.balance", "source", "haproxy.balance"),
]

# Whole files that are not stack files at all.
RAW_FILES: list[tuple[str, str, str]] = [
    ("empty", "", "empty"),
    ("comment-only", "# nothing here\n\n# at all\n", "empty"),
    ("deeply-nested", "x = " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    ("deeply-nested-tables", "x = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n", "not valid TOML"),
    ("not-toml", "[stack\nname = 'x'\n", "not valid TOML"),
    ("not-utf8", "\udcff", "not valid TOML"),
    ("unknown-section", "[stacks]\nname = 'x'\n", "stacks"),
    ("launch-without-image", "[stack]\nname = 'x'\n[launch]\nname = 'abc'\n", "image"),
    ("asg-without-launch", "[stack]\nname = 'x'\n[autoscaling]\nmax = 2\n", "launch"),
]

# -- the flags ----------------------------------------------------------------------------

SRV = ["--server", "a=10.0.0.1:8080"]
ASG = ["asg", "create", "--name", "g", "--template", "edge", "--ami", "ami-12345678",
       "--set", "cdn_point_of_entry=10.0.0.5"]
LT = ["--name", "lt", "--instance-type", "c5.large", "--set", "cdn_point_of_entry=10.0.0.1", "--ami", "ami-1e749f67"]
LC = ["--name", "lc", "--instance-type", "c5.large"]
FLAG_CASES: list[tuple[str, list[str], str]] = [
    # every command that takes a stack name, with the three names of the issue
    *[(f"{cmd}-stack-{i}", [*cmd.split(), *extra, "--stack", bad], "--stack")
      for cmd, extra in [("create-elb", []), ("create-alb", []), ("ami create", []), ("ami list", []),
                         ("target-group create", ["--name", "tg"]),
                         ("listener https", ["--domain", "x.example.com"]),
                         ("launch-template create", LT), ("launch-config create", LC),
                         ("asg create", ["--name", "g"]), ("asg refresh", []), ("haproxy config", [])]
      for i, bad in enumerate(["a\nb", "", "../../etc/x"])],
    *[(f"{cmd}-{i}", [cmd, bad], "stack") for cmd in ("down", "status")
      for i, bad in enumerate(["a\nb", "", "../../etc/x", "9lives"])],
    ("ami-delete-stack", ["ami", "delete", "ami-1e749f67", "--stack", "../x"], "--stack"),
    # haproxy config: injection through every flag that reaches haproxy.cfg
    ("hx-stats-socket-nl", [*SRV, "--stats-socket", "/run/x.sock\n    stats socket ipv4@0.0.0.0:9999 level admin"],
     "--stats-socket"),
    ("hx-stats-socket-space", [*SRV, "--stats-socket", "/run/x.sock level admin"], "--stats-socket"),
    ("hx-tls-cert-nl", [*SRV, "--tls-cert", "/etc/x.pem\n    bind *:80"], "--tls-cert"),
    ("hx-tls-cert-space", [*SRV, "--tls-cert", "/etc/x.pem verify none"], "--tls-cert"),
    ("hx-source-scope", [*SRV, "--source-address", "fe80::1%lo]:8080\n server evil 1.2.3.4:80"],
     "--source-address"),
    ("hx-source-scope-plain", [*SRV, "--source-address", "fe80::1%lo"], "--source-address"),
    ("hx-bind-scope", [*SRV, "--bind", "fe80::1%lo"], "--bind"),
    ("hx-bind-nl", [*SRV, "--bind", "0.0.0.0\n"], "--bind"),
    ("hx-server-scope", ["--server", "a=[fe80::1%lo]:8080"], "--server"),
    ("hx-server-name-nl", ["--server", "a\n=10.0.0.1:8080"], "--server"),
    ("hx-server-host-nl", ["--server", "a=host.example\n:8080"], "--server"),
    ("hx-server-port-nl", ["--server", "a=10.0.0.1:8080\n"], "--server"),
    ("hx-server-name-space", ["--server", "a b=10.0.0.1:8080"], "--server"),
    ("hx-server-dup", [*SRV, *SRV], "--server"),
    ("hx-server-bad", ["--server", "nope"], "--server"),
    ("hx-web-backend-nl", [*SRV, "--web-backend", "127.0.0.1:8180\n"], "--web-backend"),
    ("hx-web-backend-bad", [*SRV, "--web-backend", "nginx"], "--web-backend"),
    ("hx-agent-inter-nl", [*SRV, "--agent-inter", "5s\n"], "--agent-inter"),
    ("hx-agent-inter-bad", [*SRV, "--agent-inter", "soon"], "--agent-inter"),
    ("hx-balance", [*SRV, "--balance", "source"], "--balance"),
    ("hx-weight", [*SRV, "--weight", "300"], "--weight"),
    ("hx-port", [*SRV, "--port", "x"], "--port"),
    ("hx-no-servers", [], "--server"),
    # user-data variables
    *[(f"ud-{i}", ["userdata", "render", "edge", "--set", s], needle) for i, (s, needle) in enumerate([
        ("cdn_point_of_entry=1.2.3.4\ncdn_role=origin", "cdn_point_of_entry"),
        ("cdn_point_of_entry=1.2.3.4\r", "cdn_point_of_entry"),
        ("cdn_point_of_entry=fe80::1%eth0", "cdn_point_of_entry"),
        ("cdn_point_of_entry=", "cdn_point_of_entry"),
        ("cdn_point_of_entry=a b", "cdn_point_of_entry"),
        ("cdn_point_of_entry=$(reboot)", "cdn_point_of_entry"),
        ("cdn_point_of_entry=x\u0085y", "cdn_point_of_entry"),
        ("cdn_point_of_entry", "--set"),
        ("=1", "--set"),
    ])],
    *[(f"ud-var-{i}", ["userdata", "render", "edge", "--set", "cdn_point_of_entry=1.2.3.4", "--set", s], needle)
      for i, (s, needle) in enumerate([
          ("heap_size=1g\n-Xss1k", "heap_size"), ("heap_size=512", "heap_size"), ("heap_size=1t", "heap_size"),
          ("cdn_role=master", "cdn_role"), ("cdn_ip=0.0.0.0\n", "cdn_ip"), ("cdn_ip=localhost", "cdn_ip"),
          ("update=sometimes", "update"), ("update_url=http://x/y", "update_url"),
          ("update_url=https://x/y\nz", "update_url"), ("ws_ip_forward_header=X IP", "ws_ip_forward_header"),
          ("disable_demo=2", "disable_demo"), ("unknown=1", "unknown"),
      ])],
    ("ud-template", ["userdata", "render", "nope"], "nope"),
    ("lt-set", ["launch-template", "create", *LT, "--ami", "ami-1e749f67", "--set",
                "cdn_point_of_entry=1.2.3.4\ncdn_role=origin"], "cdn_point_of_entry"),
    ("lc-set", ["launch-config", "create", *LC, "--ami", "ami-1e749f67", "--template", "edge",
                "--set", "cdn_point_of_entry=1.2.3.4\ncdn_role=origin"], "cdn_point_of_entry"),
    ("asg-set", ["asg", "create", "--name", "g", "--template", "edge", "--ami", "ami-1e749f67", "--set",
                 "cdn_point_of_entry=1.2.3.4\ncdn_role=origin"], "cdn_point_of_entry"),
    # step commands' own flags (launch-template and asg create name the stack key a flag sets)
    ("alb-health-path", ["create-alb", "--health-path", "stat"], "--health-path"),
    ("alb-health-path-nl", ["create-alb", "--health-path", "/stat\n"], "--health-path"),
    ("alb-name", ["create-alb", "--name", "bad_name"], "--name"),
    ("alb-name-nl", ["create-alb", "--name", "lb\n"], "--name"),
    ("alb-same-ports", ["create-alb", "--http-port", "8080"], "--http-port"),
    ("alb-subnet", ["create-alb", "--subnet", "subnet-x"], "--subnet"),
    ("alb-target", ["create-alb", "--target", "wcs\nbox"], "--target"),
    ("alb-idle", ["create-alb", "--idle-timeout", "0"], "--idle-timeout"),
    ("alb-port", ["create-alb", "--ws-port", "0"], "--ws-port"),
    ("tg-health-path", ["target-group", "create", "--name", "tg", "--health-path", "/a b"], "--health-path"),
    ("tg-target", ["target-group", "create", "--name", "tg", "--target", "i-1"], "--target"),
    ("elb-name", ["create-elb", "--name", "-x"], "--name"),
    ("elb-ssl-policy", ["create-elb", "--certificate", "arn:aws:acm:us-east-1:123456789012:certificate/a",
                        "--wss-port", "8443", "--ssl-policy", "Made-Up"], "--ssl-policy"),
    ("elb-health", ["create-elb", "--health-check", "HTTP:8081/?action=stat\n"], "--health-check"),
    ("elb-health-bad", ["create-elb", "--health-check", "TCP:1"], "--health-check"),
    ("elb-instance", ["create-elb", "--instance", "i-1\n"], "--instance"),
    ("listener-policy", ["listener", "https", "--domain", "x.example.com", "--ssl-policy", "Made-Up"],
     "--ssl-policy"),
    ("listener-policy-nl", ["listener", "https", "--domain", "x.example.com", "--ssl-policy",
                            "ELBSecurityPolicy-2016-08\n"], "--ssl-policy"),
    ("listener-cert", ["listener", "https", "--certificate", "arn:nope"], "--certificate"),
    ("lt-type", ["launch-template", "create", *LT, "--instance-type", "huge"], "--instance-type"),
    ("lt-type-nl", ["launch-template", "create", *LT, "--instance-type", "c5.large\n"], "--instance-type"),
    ("lt-sg", ["launch-template", "create", *LT, "--security-group", "sg-1"], "--security-group"),
    ("lt-ami", ["launch-template", "create", *LT, "--ami", "ami-x"], "ami"),
    ("lt-volume", ["launch-template", "create", *LT, "--volume-size", "2"], "--volume-size"),
    ("lt-name", ["launch-template", "create", *LT[2:], "--name", "a b"], "--name"),
    # (every value asg create needs is given, so the bad one is what is reported)
    ("asg-sizes", [*ASG, "--min", "3", "--max", "2"], "--max"),
    ("asg-type", [*ASG, "--instance-type", "c5.large\n"], "--instance-type"),
    ("asg-subnet", [*ASG, "--subnet", "x"], "--subnet"),
    ("asg-warm", [*ASG, "--warm-pool-state", "frozen"], "--warm-pool-state"),
    ("asg-scale", ["asg", "scale", "g", "--desired", "-1"], "--desired"),
    ("asg-refresh", ["asg", "refresh", "--min-healthy", "101"], "--min-healthy"),
    ("ami-copy-to", ["ami", "create", "--instance-id", "i-0123456789abcdef0", "--copy-to", "eu-west-1\n"],
     "--copy-to"),
    ("ami-name", ["ami", "create", "--instance-id", "i-0123456789abcdef0", "--name", "a\nb"], "--name"),
    ("ami-instance", ["ami", "create", "--instance-id", "i-12"], "--instance-id"),
    ("ami-delete-id", ["ami", "delete", "ami-\n"], "AMI"),
    ("agent-allow", ["agent", "serve", "--allow", "everyone"], "--allow"),
    ("agent-stat-url", ["agent", "serve", "--stat-url", "ftp://x/"], "--stat-url"),
    ("agent-port", ["agent", "serve", "--port", "0"], "--port"),
    ("agent-check-target", ["agent", "check", "host:99999"], "HOST[:PORT]"),
    ("output", ["--output", "yaml", "status", "x"], "--output"),
    ("unknown-flag", ["up", "--frobnicate"], "--frobnicate"),
    ("up-no-file", ["up"], "--file"),
    ("up-missing-file", ["up", "-f", "missing.toml"], "-f"),
    ("iam-policy-missing", ["iam-policy", "-f", "missing.toml"], "-f"),
]


def _flag_args(args: list[str]) -> list[str]:
    if args and args[0].startswith("--server") or not args or args[0] in ("--stats-socket",):
        return ["haproxy", "config", *args]
    return args


CASES: list[tuple[str, list[str], str | None, str]] = []
for key, value, needle in STACK_CASES:
    CASES.append((f"file:{key}={value!r}"[:90], ["up", "--yes", "-f"], toml(mutate(key, value)), needle))
for name, text, needle in RAW_FILES:
    CASES.append((f"raw:{name}", ["plan", "-f"], text, needle))
# The same stack files through the other commands that read them.
for key, value, needle in STACK_CASES[:12] + STACK_CASES[-14:]:
    CASES.append((f"plan:{key}={value!r}"[:90], ["plan", "-f"], toml(mutate(key, value)), needle))
    CASES.append((f"iam:{key}={value!r}"[:90], ["iam-policy", "-f"], toml(mutate(key, value)), needle))
for key, value, needle in STACK_CASES[-30:]:
    CASES.append((f"hx-file:{key}={value!r}"[:90], ["haproxy", "config", "-f"], toml(mutate(key, value)), needle))
for name, args, needle in FLAG_CASES:
    hx = name.startswith("hx-")
    CASES.append((f"flag:{name}", (["haproxy", "config"] if hx else []) + args, None, needle))


class AwsCalled(AssertionError):
    pass


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record and fail every AWS call before it leaves the process."""
    made: list[str] = []

    def refuse(*args, **kwargs):
        made.append(str(kwargs.get("event_name") or args[1] if len(args) > 1 else kwargs))
        raise AwsCalled(f"an AWS call was made: {made[-1]}")

    def refuse_call(self, operation_name, api_params):
        made.append(operation_name)
        raise AwsCalled(f"an AWS call was made: {operation_name}")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse_call)
    with aws_mod.hooked("before-send", refuse, first=True):
        yield made


def test_at_least_150_cases() -> None:
    assert len(CASES) >= 150, len(CASES)


def run_case(home: Path, name: str, args: list[str], text: str | None):
    """Run one case in-process, in ``home`` (its stack file and, for `listener`, a ledger)."""
    argv = list(args)
    if name.startswith("flag:listener-"):  # the stack has an ALB (recorded), so the flags are checked
        ledger = Path(os.environ.get("AWSLB_HOME", ".awslb")) / "default.json"
        ledger.parent.mkdir(parents=True, exist_ok=True)
        ledger.write_text(json.dumps({"version": 1, "stack": "default", "region": "us-east-1", "resources": {},
                                      "spec": {"stack": {"name": "default"},
                                               "load_balancer": {"type": "application"}}}))
    if text is not None:
        f = home / "stack.toml"
        if name == "raw:not-utf8":
            f.write_bytes(b"[stack]\nname = '\xff'\n")
        else:
            f.write_text(text)
        argv.append(str(f))
    return CliRunner().invoke(app, argv)


def handled(result, needle: str) -> bool:
    """Exit 2 or 4, exactly one `error:` line naming ``needle``, no traceback, no other exception."""
    lines = result.stderr.splitlines()
    return (result.exit_code in (2, 4) and len(lines) == 1 and lines[0].startswith("error: ")
            and needle in lines[0] and "Traceback" not in result.stderr + result.stdout
            and (result.exception is None or isinstance(result.exception, SystemExit)))


@pytest.mark.parametrize("name, args, text, needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_or_4_and_no_aws_call(no_aws, tmp_path: Path, name, args, text,
                                                         needle) -> None:
    result = run_case(tmp_path, name, args, text)
    assert handled(result, needle), (result.exit_code, result.stderr, repr(result.exception))
    assert no_aws == [], no_aws
