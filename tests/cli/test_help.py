"""`--help` of every command and subcommand renders: exit 0, a usage line, no traceback."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from awslb.cli import app


def command_at(path: tuple[str, ...]) -> Any:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command of the tree under ``command`` (a click group or command), as argv prefixes."""
    out = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            out += command_paths(sub, (*path, name))
    return out


PATHS = command_paths(typer.main.get_command(app))


def test_the_tree_has_the_commands_of_the_design_card() -> None:
    found = {" ".join(p) for p in PATHS}
    for expected in ("up", "down", "plan", "status", "create-alb", "create-elb", "asg create", "listener https",
                     "haproxy config", "ami create"):
        assert expected in found, sorted(found)


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "awslb" for p in PATHS])
def test_help_renders(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="awslb", env={"COLUMNS": "250"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    assert "Usage: awslb" in result.stdout
    assert "Traceback" not in result.output
    # Bracketed words in a help text are shown as written, not taken for markup and dropped.
    command = command_at(path)
    texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    shown = " ".join(result.stdout.split())
    for token in {t for text in texts for t in re.findall(r"\[[^\]\s]+\]", text)}:
        assert token in shown, f"{token} is missing from the help of {' '.join(path)}"
