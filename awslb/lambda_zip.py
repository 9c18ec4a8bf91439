"""The zip of a Lambda function whose handler is a module of ``awslb.node``.

The function runs on AWS's Python runtime, which has the standard library and boto3 and
nothing of awslb's other dependencies, so the zip holds ``awslb/__init__.py`` and the
``awslb/node`` modules only. It is built byte for byte the same from the same sources
(fixed timestamps and permissions, sorted entries), so its SHA-256 - which Lambda reports
as ``CodeSha256`` - tells whether the deployed code is current without downloading it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


def files() -> list[tuple[str, bytes]]:
    """(path in the zip, content) for every file the function needs, sorted."""
    out = [("awslb/__init__.py", (PACKAGE_DIR / "__init__.py").read_bytes())]
    for path in sorted((PACKAGE_DIR / "node").glob("*.py")):
        out.append((f"awslb/node/{path.name}", path.read_bytes()))
    return out


def build() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files():
            info = zipfile.ZipInfo(name, EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def code_sha256(data: bytes) -> str:
    """What Lambda reports as the function's ``CodeSha256``: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
