"""Every module imports on its own (no import cycle hidden by the order the CLI uses).

One fresh interpreter imports each awslb module in turn with every awslb module removed
from ``sys.modules`` before it: an import cycle among awslb's modules shows exactly as in
an interpreter of its own, while third-party packages (boto3, pydantic, typer) are loaded
once instead of once per module.
"""

import json
import subprocess
import sys

from tests.conftest import ROOT

MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in (ROOT / "awslb").rglob("*.py")
    if p.name not in ("__main__.py",)
)

PROBE = """
import importlib, json, sys, traceback
failures = []
for mod in json.loads(sys.argv[1]):
    for name in [m for m in sys.modules if m == "awslb" or m.startswith("awslb.")]:
        del sys.modules[name]
    try:
        importlib.import_module(mod)
    except BaseException:
        failures.append(mod + ": " + traceback.format_exc().strip().splitlines()[-1])
print(json.dumps(failures))
"""


def test_every_module_imports_alone() -> None:
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(MODULES)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


def test_the_probe_finds_a_cycle(tmp_path) -> None:
    # The check can fail: two modules that import each other's names at import time.
    pkg = tmp_path / "awslb"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from awslb.b import B\nA = 1\n")
    (pkg / "b.py").write_text("from awslb.a import A\nB = 2\n")
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(["awslb.a", "awslb.b"])], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    failures = json.loads(r.stdout.strip().splitlines()[-1])
    assert [f.split(":")[0] for f in failures] == ["awslb.a", "awslb.b"]
