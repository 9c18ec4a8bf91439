"""The sandbox's background process: moto's server on loopback, with awslb's moto fixes,
keeping its state on disk.

Started by :mod:`awslb.sandbox` as ``python -m awslb.sandbox_server --dir DIR`` in its own
session. It applies ``awslb.moto_gaps`` (so the sandbox behaves like AWS where moto does
not), restores the account from ``DIR/state.pickle`` if one was saved, serves moto's WSGI
app on 127.0.0.1, and writes ``DIR/server.json`` (pid, port) once it listens.

State: moto keeps its account in Python objects; they are pickled to ``state.pickle``
(temp file + ``os.replace``) shortly after every change, while no request is in flight, and
once more on SIGTERM (`awslb sandbox stop`). So the account survives a stop and a reboot.
Moto's own record/replay would not do here: replayed requests get new random ids, and
every later request names the old ones.

Runs moto only; nothing here talks to AWS.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

# The services awslb calls (and those moto's own models use behind them).
SERVICES = ("ec2", "elbv2", "elb", "acm", "autoscaling", "iam", "cloudwatch", "sts", "ssm")
STATE_FILE = "state.pickle"
SERVER_FILE = "server.json"
READ_PREFIXES = ("Describe", "List", "Get")


class Gate:
    """Requests share it; a snapshot holds it alone (so no model changes while pickling)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self.dirty = False
        self.last = time.monotonic()

    def enter(self, mutating: bool) -> None:
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1
            self.dirty = self.dirty or mutating
            self.last = time.monotonic()

    def leave(self) -> None:
        with self._cond:
            self._readers -= 1
            self.last = time.monotonic()
            self._cond.notify_all()

    def exclusive(self) -> Any:
        gate = self

        class _Held:
            def __enter__(self) -> None:
                with gate._cond:
                    while gate._writing or gate._readers:
                        gate._cond.wait()
                    gate._writing = True

            def __exit__(self, *exc: Any) -> None:
                with gate._cond:
                    gate._writing = False
                    gate._cond.notify_all()

        return _Held()


def operation(environ: dict[str, Any]) -> str:
    """The AWS operation of a request: X-Amz-Target (JSON protocols) or the Action field."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if action:
        return action[0]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)  # put it back for moto
    found = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return found[0] if found else ""


def load_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, None)


def load_certificate(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem)


def _pickle_keys() -> None:
    """ACM keeps certificates and keys as `cryptography` objects, which do not pickle: as PEM."""
    import copyreg

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def reduce_certificate(cert: Any) -> Any:
        return load_certificate, (cert.public_bytes(serialization.Encoding.PEM),)

    copyreg.pickle(x509.Certificate, reduce_certificate)

    def reduce_key(key: Any) -> Any:
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        return load_key, (pem,)

    for cls in {type(rsa.generate_private_key(public_exponent=65537, key_size=1024))}:
        copyreg.pickle(cls, reduce_key)


def snapshot(path: Path) -> None:
    from moto.backends import get_backend

    data = {name: dict(get_backend(name)) for name in SERVICES}  # type: ignore[call-overload]
    fd, tmp = tempfile.mkstemp(prefix=".state.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def restore(path: Path) -> bool:
    from moto.backends import get_backend
    from moto.core.base_backend import BackendDict

    try:
        data = pickle.loads(path.read_bytes())
    except FileNotFoundError:
        return False
    for name, accounts in data.items():
        live: Any = get_backend(name)
        live.clear()
        live.update(accounts)
        instances: list[Any] = BackendDict._instances  # type: ignore[misc]
        if live not in instances:
            instances.append(live)
    return True


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def serve(directory: Path, port: int) -> None:
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(var, None)
    os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "sandbox"
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    import logging

    from awslb.moto_gaps import install, small_image_catalogue

    small_image_catalogue()  # before moto's EC2 loads

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    install()
    _pickle_keys()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    state = directory / STATE_FILE
    restored = restore(state)
    gate = Gate()
    moto_app = DomainDispatcherApplication(create_backend_app)
    # AWS takes its time; AWSLB_SANDBOX_DELAY (seconds per change) lets a demo or a test see
    # steps run (and interrupt one) the way they do on AWS. Default: none.
    delay = float(os.environ.get("AWSLB_SANDBOX_DELAY") or 0)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        mutating = not path.startswith("/moto-api") and not operation(environ).startswith(READ_PREFIXES)
        if mutating and delay > 0:
            time.sleep(delay)
        gate.enter(mutating)
        try:
            return list(moto_app(environ, start_response))
        finally:
            gate.leave()

    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    stopping = threading.Event()

    def save() -> None:
        with gate.exclusive():
            if gate.dirty:
                gate.dirty = False
                snapshot(state)

    def saver() -> None:
        while not stopping.wait(0.3):
            if gate.dirty and time.monotonic() - gate.last > 0.3:
                try:
                    save()
                except Exception as exc:  # noqa: BLE001 - keep serving; say why in the log
                    print(f"awslb sandbox: could not save the state: {exc!r}", file=sys.stderr, flush=True)

    def on_term(signum: int, frame: Any) -> None:
        stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    threading.Thread(target=saver, daemon=True).start()
    write_json(directory / SERVER_FILE, {
        "pid": os.getpid(), "port": server.server_port, "endpoint": f"http://127.0.0.1:{server.server_port}",
        "started": time.time(), "restored": restored,
    })
    print(f"awslb sandbox: serving on 127.0.0.1:{server.server_port} (state restored: {restored})",
          file=sys.stderr, flush=True)
    server.serve_forever()
    save()  # the last changes, before exiting
    print("awslb sandbox: stopped, state saved", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m awslb.sandbox_server", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="state directory")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    serve(args.dir, args.port)


if __name__ == "__main__":
    # Through the package, so pickled references name `awslb.sandbox_server`, not `__main__`.
    from awslb.sandbox_server import main as package_main

    package_main()
