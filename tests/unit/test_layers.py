"""The layers are enforced, not described: import-linter's contracts (pyproject.toml) hold.

CLI modules call the library (deploy, steps, ops) and never import the resource kinds,
awslb.aws or the ledger; no kind imports the ledger.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lint_imports() -> str:
    found = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(found).exists():
        pytest.fail("lint-imports is missing: pip install -e '.[dev]' (import-linter)")
    return found


def test_the_import_contracts_are_kept() -> None:
    r = subprocess.run([lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 4 kept, 0 broken." in r.stdout


def test_a_violation_is_caught(tmp_path: Path) -> None:
    """The contract can fail: a CLI module importing a kind breaks it."""
    (tmp_path / "awslb" / "cli").mkdir(parents=True)
    (tmp_path / "awslb" / "resources").mkdir()
    (tmp_path / "awslb" / "__init__.py").write_text("")
    (tmp_path / "awslb" / "aws.py").write_text("import boto3\nimport botocore\n")
    # The node side, as the contracts' ignored imports name it (an ignore that matches
    # nothing is an error of its own).
    (tmp_path / "awslb" / "node").mkdir()
    (tmp_path / "awslb" / "node" / "__init__.py").write_text("")
    (tmp_path / "awslb" / "node" / "awsapi.py").write_text("import boto3\nimport botocore\n")
    (tmp_path / "awslb" / "node" / "dns.py").write_text("from awslb.node import awsapi  # noqa\n")
    (tmp_path / "awslb" / "ledger.py").write_text("")
    (tmp_path / "awslb" / "resources" / "__init__.py").write_text("")
    (tmp_path / "awslb" / "cli" / "__init__.py").write_text("from awslb.resources import x  # noqa\n")
    (tmp_path / "awslb" / "resources" / "x.py").write_text("")
    config = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(config[config.index("[tool.importlinter]"):])
    r = subprocess.run([lint_imports(), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1 and "awslb.cli is not allowed to import awslb.resources" in r.stdout, r.stdout + r.stderr
