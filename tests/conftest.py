"""Shared fixtures: a clean environment, moto, a call recorder, and the CLI runner."""

from __future__ import annotations

import os

# moto must be imported before any client is made, and certificates issue at once.
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
# moto's 44 sample images, not its ~1,300 per region (seconds of CPU per emulated account).
from awslb.moto_gaps import small_image_catalogue  # noqa: E402

small_image_catalogue()

import functools  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import typer.main  # noqa: E402
import typer.testing  # noqa: E402
from moto import mock_aws  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from awslb import aws as aws_mod  # noqa: E402
from awslb.aws import Aws, is_mutating  # noqa: E402
from awslb.cli import app  # noqa: E402
from awslb.deploy import Options  # noqa: E402
from awslb.ui import UI  # noqa: E402

# Typer's runner builds the click command tree from the app's signatures on every invoke
# (about 0.4 s of CPU for awslb's tree); the tree is the same each time, so build it once.
typer.testing._get_command = functools.cache(typer.main.get_command)  # type: ignore[attr-defined]

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


def require_binary(name: str) -> str:
    """The path of a real binary; skip without it, fail when CI says it must be there."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("AWSLB_REQUIRE_BINARIES") == "1":
            pytest.fail(f"{name} is required (AWSLB_REQUIRE_BINARIES=1) but not installed")
        pytest.skip(f"{name} not installed")
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWSLB_STACK", "NO_COLOR", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWSLB_HOME", str(tmp_path / ".awslb"))
    monkeypatch.setenv("AWSLB_POLL", "0.01")
    # Emulated instances have made-up (even public) addresses: never fetch their stat pages.
    monkeypatch.setenv("AWSLB_STATS", "off")
    # Nothing under test may ask the real instance metadata service (a closed loopback port).
    monkeypatch.setenv("AWSLB_METADATA_URL", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def sandbox_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Each test's own sandbox directory; a background sandbox a test started is stopped after it."""
    d = tmp_path / "sandbox-state"
    monkeypatch.setenv("AWSLB_SANDBOX_DIR", str(d))
    monkeypatch.delenv("AWSLB_SANDBOX", raising=False)
    yield d
    if (d / "server.json").exists():
        from awslb import sandbox

        sandbox.stop()


@pytest.fixture(autouse=True)
def moto_like_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where moto 5.2 differs from AWS in the guides' flows (awslb/moto_gaps.py: snapshot tags
    on CreateImage, the instance protocol of Classic listeners, SSM's DescribeInstanceInformation),
    patched as in the sandbox."""
    from awslb import moto_gaps

    for obj, attr, value in moto_gaps.patches():
        monkeypatch.setattr(obj, attr, value, raising=False)  # raising=False: some add a missing call


@dataclass
class Calls:
    """Every AWS call made, as (service, Operation), recorded with a before-call hook."""

    made: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, model, params, **kwargs):  # botocore 'before-call' handler
        self.made.append((model.service_model.service_name, model.name))

    @property
    def mutating(self) -> list[tuple[str, str]]:
        return [c for c in self.made if is_mutating(c[1])]

    def names(self) -> list[str]:
        return [op for _, op in self.made]

    def clear(self) -> None:
        self.made.clear()


@pytest.fixture
def calls() -> Iterator[Calls]:
    rec = Calls()
    with aws_mod.hooked("before-call", rec):
        yield rec


@pytest.fixture
def moto() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def aws(moto: None) -> Aws:
    return Aws(region=REGION)


@pytest.fixture
def ui() -> UI:
    return UI("text", color=False)


@pytest.fixture
def opts() -> Options:
    return Options(poll=0.01, delete_timeout=5)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli():
    """Run the CLI in-process: cli('up', '-f', 'x.toml', '--yes') -> Run."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Run:
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return invoke


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def run_awslb(*args: str, env: dict[str, str] | None = None, timeout: float = 120, input: str | None = None):
    """Run `python -m awslb` from this checkout in a subprocess (for real processes/servers)."""
    import subprocess
    import sys

    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "awslb", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, input=input)


def fake_call(parsed: dict, status: int = 200):
    """What a 'before-call.<service-id>.<Operation>' handler returns to answer a call itself.

    Used where moto lacks an operation (instance refresh, lifecycle actions, notification
    configuration): the tests say so where they use it.
    """
    from types import SimpleNamespace

    return SimpleNamespace(status_code=status, headers={}, raw=None, content=b""), parsed


@pytest.fixture
def seeded(moto: None) -> dict:
    """The sandbox's account under moto: two-zone default VPC, a media server, a certificate."""
    from awslb.sandbox import seed_account

    return seed_account(Aws(region=REGION))


@pytest.fixture(scope="session")
def _moto_server_url() -> Iterator[str]:
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_server(_moto_server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto as a real HTTP server on loopback, reset for this test; AWS_ENDPOINT_URL points at it."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{_moto_server_url}/moto-api/reset", method="POST"),
                           timeout=30).read()
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_server_url)
    return _moto_server_url
