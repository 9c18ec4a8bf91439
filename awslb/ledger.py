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

from awslb.errors import InputError
from awslb.resources.base import Observed

VERSION = 1


def home() -> Path:
    """`.awslb/` (or AWSLB_HOME); the sandbox's ledgers apart in its `sandbox/` folder, so a
    sandbox run never becomes the base of a real stack."""
    base = Path(os.environ.get("AWSLB_HOME", ".awslb"))
    sandbox = os.environ.get("AWSLB_SANDBOX", "").lower() in ("1", "true", "yes")
    return base / "sandbox" if sandbox else base


def _damaged(path: Path, why: str) -> InputError:
    return InputError(f"{path}: {why}",
                      "move the file away: awslb finds the stack's resources by their tags "
                      "(`awslb down` never needs it)")


def check(data: Any, path: Path, stack: str) -> dict[str, Any]:
    """The ledger's JSON, checked: its shape, and that it is this stack's. InputError otherwise."""
    if not isinstance(data, dict):
        raise _damaged(path, "not an awslb ledger (expected a JSON object)")
    if data.get("stack", stack) != stack:
        raise _damaged(path, f"the ledger of stack {data.get('stack')!r}, not of stack {stack!r}")
    shapes = {"region": (str, type(None)), "spec": (dict, type(None)), "resources": (dict, type(None)),
              "version": (int, type(None))}
    for key, types in shapes.items():
        if not isinstance(data.get(key), types):
            raise _damaged(path, f"not an awslb ledger ({key!r} has the wrong type)")
    for key, entry in (data.get("resources") or {}).items():
        fields = ("kind", "id", "physical_id")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields) \
                or not isinstance(entry.get("attrs", {}), dict):
            raise _damaged(path, f"not an awslb ledger (resource {key!r} is malformed)")
    return data


class Ledger:
    def __init__(self, stack: str, path: Path | None = None, persist: bool = True):
        self.stack = stack
        self.persist = persist
        self.path = path or home() / f"{stack}.json"
        self.region: str | None = None
        self.spec: dict[str, Any] | None = None
        self.resources: dict[str, Observed] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, stack: str, path: Path | None = None) -> Ledger:
        ledger = cls(stack, path)
        try:
            text = ledger.path.read_text()
        except FileNotFoundError:
            return ledger
        except OSError as exc:
            raise _damaged(ledger.path, f"cannot read it: {exc.strerror}") from None
        try:
            data = check(json.loads(text), ledger.path, stack)
        except ValueError:
            raise _damaged(ledger.path, "not valid JSON") from None
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

    def forget(self, logical_id: str, physical_id: str | None = None) -> None:
        """Drop an entry (only if it is ``physical_id``: a replacement's new one stays)."""
        with self._lock:
            known = self.resources.get(logical_id)
            if known is not None and physical_id is not None and known.physical_id != physical_id:
                return
            self.resources.pop(logical_id, None)
            self._save_locked()

    def save(self) -> None:
        with self._lock:
            self._save_locked()

    def remove(self) -> None:
        with self._lock:
            self.resources.clear()
            if self.persist:
                self.path.unlink(missing_ok=True)

    def _save_locked(self) -> None:
        if not self.persist:
            return
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
