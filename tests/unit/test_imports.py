"""Every module imports on its own (no import cycle hidden by the order the CLI uses)."""

import subprocess
import sys

from tests.conftest import ROOT

MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in (ROOT / "awslb").rglob("*.py")
    if p.name not in ("__main__.py",)
)


def test_every_module_imports_alone() -> None:
    failures = []
    for module in MODULES:
        mod = module.removesuffix(".__init__")
        r = subprocess.run([sys.executable, "-c", f"import {mod}"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            failures.append(f"{mod}: {r.stderr.strip().splitlines()[-1]}")
    assert failures == []
