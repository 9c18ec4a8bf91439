"""Variable sets the user-data checks render every template with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from awslb.userdata import Template, catalogue

# A value for each required variable, so a template renders with its defaults.
REQUIRED = {"cdn_point_of_entry": "172.31.43.82"}
# Non-empty values for optional strings, so every `{% if value %}` branch renders.
STRINGS = {"cdn_point_of_entry": "172.31.43.82", "cdn_ip": "172.31.40.10"}


def defaults(t: Template) -> dict[str, Any]:
    return {k: v for k, v in REQUIRED.items() if k in t.variables}


def all_on(t: Template) -> dict[str, Any]:
    out = defaults(t)
    for var in t.variables.values():
        if var.type == "bool":
            out[var.name] = True
        elif var.type == "switch":
            out[var.name] = "true"
        elif var.name in STRINGS:
            out[var.name] = STRINGS[var.name]
    return out


def all_off(t: Template) -> dict[str, Any]:
    out = defaults(t)
    out.update({v.name: False for v in t.variables.values() if v.type in ("bool", "switch")})
    return out


CASES = [(name, label, make) for name in sorted(catalogue())
         for label, make in (("defaults", defaults), ("all-on", all_on), ("all-off", all_off))]
IDS = [f"{name}-{label}" for name, label, _ in CASES]


def stub_commands(bin_dir: Path, stubs: dict[str, str]) -> Path:
    """Fake commands for a script run on this machine: NAME -> the bash body it runs."""
    bin_dir.mkdir()
    for name, body in stubs.items():
        (bin_dir / name).write_text("#!/bin/bash\n" + body)
        (bin_dir / name).chmod(0o755)
    return bin_dir
