"""The ledger: `.awslb/<stack>.json`, what awslb made for a stack and the stack's spec.

It is a cache: the tags on AWS are the truth, and `down` works without it. It is saved
atomically (temp file + ``os.replace``) after every mutating step, so an interrupted run
leaves a ledger that says exactly what was done.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from awslb.resources.base import Observed

VERSION = 1


def home() -> Path:
    """`.awslb/` (or AWSLB_HOME); the sandbox's ledgers apart in its `sandbox/` folder, so a
    sandbox run never becomes the base of a real stack."""
    base = Path(os.environ.get("AWSLB_HOME", ".awslb"))
    sandbox = os.environ.get("AWSLB_SANDBOX", "").lower() in ("1", "true", "yes")
    return base / "sandbox" if sandbox else base


class Ledger:
    def __init__(self, stack: str, path: Path | None = None):
        self.stack = stack
        self.path = path or home() / f"{stack}.json"
        self.region: str | None = None
        self.spec: dict[str, Any] | None = None
        self.resources: dict[str, Observed] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, stack: str, path: Path | None = None) -> Ledger:
        ledger = cls(stack, path)
        try:
            data = json.loads(ledger.path.read_text())
        except FileNotFoundError:
            return ledger
        except (OSError, ValueError):
            # A damaged cache is no loss: the tags on AWS are the truth.
            return ledger
        ledger.region = data.get("region")
        ledger.spec = data.get("spec")
        ledger.resources = {
            k: Observed.from_dict(v) for k, v in (data.get("resources") or {}).items()
        }
        return ledger

    def record(self, obs: Observed) -> None:
        with self._lock:
            self.resources[obs.id] = obs
            self._save_locked()

    def forget(self, logical_id: str) -> None:
        with self._lock:
            self.resources.pop(logical_id, None)
            self._save_locked()

    def save(self) -> None:
        with self._lock:
            self._save_locked()

    def remove(self) -> None:
        with self._lock:
            self.resources.clear()
            self.path.unlink(missing_ok=True)

    def _save_locked(self) -> None:
        data = {
            "version": VERSION,
            "stack": self.stack,
            "region": self.region,
            "spec": self.spec,
            "resources": {k: v.to_dict() for k, v in sorted(self.resources.items())},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.stack}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh, indent=2, default=str)
                fh.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
