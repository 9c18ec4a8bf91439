"""The Lambda function's zip: the same bytes every time, and it imports on a bare Python with
only boto3 (what the Lambda runtime has), nothing else of awslb's dependencies."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

from awslb import lambda_zip


def test_the_zip_is_reproducible_and_small() -> None:
    a, b = lambda_zip.build(), lambda_zip.build()
    assert a == b
    assert lambda_zip.code_sha256(a) == lambda_zip.code_sha256(b)
    names = zipfile.ZipFile(io.BytesIO(a)).namelist()
    assert names[0] == "awslb/__init__.py"
    assert "awslb/node/dns_handler.py" in names and all(n.startswith(("awslb/__init__", "awslb/node/")) for n in names)
    assert len(a) < 200_000


def test_the_handler_imports_with_the_standard_library_alone(tmp_path: Path) -> None:
    zipfile.ZipFile(io.BytesIO(lambda_zip.build())).extractall(tmp_path)
    # -I -S: isolated and no site-packages at all (not even this venv's awslb): only the zip's
    # files and the standard library. boto3 is imported lazily, when a client is first made.
    code = ("import sys; sys.path.insert(0, '.'); import awslb.node.dns_handler as h; "
            "import os; assert h.__file__.startswith(os.getcwd()), h.__file__; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'pydantic', "
            "'typer', 'rich', 'jinja2', 'moto')); print(h.handler.__name__, bad)")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "handler []"
