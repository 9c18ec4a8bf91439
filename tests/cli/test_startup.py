"""`awslb --help` and `--version` must not pay for boto3, moto or pydantic."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = """
import json, sys
from awslb.cli import app
try:
    app({args!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in ("boto3", "botocore", "moto", "pydantic", "jinja2") if m in sys.modules)),
      file=sys.stderr)
"""


def imported(args: list[str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    return json.loads(out.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_import_nothing_heavy(args) -> None:
    assert imported(args) == []


def test_command_help_does_not_touch_aws() -> None:
    # Typer 0.29 itself builds option converters with pydantic for a command's --help,
    # so only the AWS libraries are checked here.
    heavy = imported(["up", "--help"])
    assert "boto3" not in heavy and "botocore" not in heavy and "moto" not in heavy


@pytest.mark.parametrize("args", [["up", "--help"], ["asg", "create", "--help"], ["sandbox", "status", "--help"],
                                  ["--region", "eu-west-1", "-v", "status", "--help"]])
def test_command_help_imports_neither_pydantic_nor_rich(args) -> None:
    """Help is instant: plain click formatting (no rich panels) and the global options
    checked without a pydantic TypeAdapter (awslb.cli.plain_globals)."""
    probe = PROBE.replace('("boto3", "botocore", "moto", "pydantic", "jinja2")',
                          '("boto3", "botocore", "moto", "pydantic", "jinja2", "rich")')
    out = subprocess.run([sys.executable, "-c", probe.format(args=args)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert json.loads(out.stderr.strip().splitlines()[-1]) == []
