"""`awslb examples`, and every awslb command quoted in an example's comments, pasted as is."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_sandbox import awslb
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
QUOTED = re.compile(r"#\s+(awslb [^#]+?)\s*(?:#\s*(.*))?")


def quoted_commands(path: Path) -> list[tuple[str, str]]:
    """(command, its trailing comment) for each comment line that is an awslb command."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = QUOTED.fullmatch(line)
        if m:
            out.append((m.group(1), m.group(2) or ""))
    return out


def test_every_example_quotes_how_to_run_it_in_the_sandbox() -> None:
    for path in EXAMPLES:
        commands = [c for c, _ in quoted_commands(path)]
        assert f"awslb --sandbox up -f examples/{path.name} --yes" in commands, path.name


@pytest.mark.slow
def test_every_quoted_command_works_when_pasted(tmp_path: Path) -> None:
    """In a directory holding examples/ (as a checkout does), in one sandbox, in file order.
    Commands for a real account say so ("your account") and are not run here."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    ran = 0
    for path in EXAMPLES:
        for command, comment in quoted_commands(path):
            if "your account" in comment:
                continue
            r = subprocess.run([awslb_exe(), *shlex.split(command)[1:]], capture_output=True, text=True,
                               cwd=tmp_path, timeout=300)
            assert r.returncode == 0, f"{path.name}: `{command}` exited {r.returncode}:\n{r.stderr}"
            assert "Traceback" not in r.stderr
            ran += 1
    assert ran >= len(EXAMPLES) + 5
    assert (tmp_path / "haproxy.cfg").is_file()  # `awslb haproxy config ... -o haproxy.cfg`


def awslb_exe() -> str:
    from tests.cli.test_sandbox import console_script

    return console_script()


def test_list_show_and_init(tmp_path: Path) -> None:
    r = awslb("examples", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for path in EXAMPLES:  # piped: one line per example, never folded mid-word
        assert sum(1 for line in lines if line.startswith(path.stem + " ")) == 1, r.stdout
    assert len(lines) == len(EXAMPLES) + 2  # header and rule
    r = awslb("--output", "json", "examples", "list")
    import json

    assert [e["name"] for e in json.loads(r.stdout)] == [p.stem for p in EXAMPLES]

    r = awslb("examples", "show", "classic-elb")
    assert r.returncode == 0 and r.stdout == (ROOT / "examples" / "classic-elb.toml").read_text()
    r = awslb("--output", "json", "examples", "show", "classic-elb")
    assert r.returncode == 2 and r.stdout == "" and "--output json" in r.stderr

    target = tmp_path / "mine.toml"
    r = awslb("examples", "init", "haproxy", "-o", str(target))
    assert r.returncode == 0 and target.read_text() == (ROOT / "examples" / "haproxy.toml").read_text()
    r = awslb("examples", "init", "haproxy", "-o", str(target))
    assert r.returncode == 2 and "exists" in r.stderr
    r = awslb("examples", "show", "nope")
    assert r.returncode == 2 and "one of: alb-autoscaling-edge" in r.stderr
