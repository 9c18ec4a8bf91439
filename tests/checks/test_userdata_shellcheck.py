"""The real `shellcheck` on every user-data template: defaults, every option on, every option off."""

from __future__ import annotations

import subprocess

import pytest

from awslb.userdata import catalogue, render_userdata
from tests.checks.userdata_cases import CASES, IDS
from tests.conftest import require_binary


def test_every_template_is_checked() -> None:
    assert {name for name, _, _ in CASES} == set(catalogue()) >= {"edge", "origin", "standalone"}


@pytest.mark.parametrize("name, label, make", CASES, ids=IDS)
def test_shellcheck(name, label, make, tmp_path) -> None:
    shellcheck = require_binary("shellcheck")
    script = tmp_path / f"{name}-{label}.sh"
    script.write_text(render_userdata(name, make(catalogue()[name])))
    proc = subprocess.run([shellcheck, "--shell=bash", "--severity=style", str(script)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
