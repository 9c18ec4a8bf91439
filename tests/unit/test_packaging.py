"""Templates ship inside the wheel and are found from it, from a checkout and an editable install."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    return next(out.glob("awslb-*.whl"))


def test_wheel_contains_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "awslb/_data/userdata/edge.sh.j2" in names
    assert any(n.startswith("awslb/_data/userdata/partials/") for n in names)
    for src in (ROOT / "templates").rglob("*.j2"):
        assert f"awslb/_data/templates/{src.relative_to(ROOT / 'templates')}" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    for src in (ROOT / "examples").glob("*.toml"):
        assert f"awslb/_data/examples/{src.name}" in names


def test_installed_wheel_finds_its_templates(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import awslb.render as r; "
             "from awslb.userdata import catalogue; print(r.template_root()); print(sorted(catalogue()))")
    out = subprocess.run([sys.executable, "-c", probe, str(target)], capture_output=True, text=True,
                         cwd=tmp_path, check=True, timeout=60)
    root, names = out.stdout.splitlines()
    assert Path(root) == target / "awslb" / "_data"
    assert "edge" in names
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from awslb.cli.examples import examples_dir, catalogue; "
             "print(examples_dir()); print(sorted(catalogue()))")
    out = subprocess.run([sys.executable, "-c", probe, str(target)], capture_output=True, text=True,
                         cwd=tmp_path, check=True, timeout=60)
    folder, names = out.stdout.splitlines()
    assert Path(folder) == target / "awslb" / "_data" / "examples"
    assert "'classic-elb'" in names


def test_checkout_finds_its_templates() -> None:
    from awslb.render import template_root

    assert (template_root() / "userdata" / "edge.sh.j2").is_file()
