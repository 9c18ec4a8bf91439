#!/usr/bin/env python3
"""Wall time of the ALB-with-autoscaling flow: `awslb up` against the same flow by hand with the AWS CLI.

One local moto server (in this process, on 127.0.0.1, seeded like `--sandbox`) serves both
sides. The awslb side runs `python -m awslb --endpoint-url URL up -f
examples/alb-autoscaling-edge.toml --yes` as one subprocess; the AWS CLI side runs
bench/flow_awscli.sh, which makes the same resources with the same settings one `aws`
command at a time (the way the guide is followed by hand). Before every timed run the
server is reset and seeded again, so each run starts from the same empty account.

Prints the median wall time of each side over --runs runs, the number of AWS CLI
processes the script starts, and the ratio. Loopback only; nothing is asserted.

    python bench/flow.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["MOTO_ACM_VALIDATION_WAIT"] = "0"  # before moto is imported
os.environ["AWS_ACCESS_KEY_ID"] = "bench"
os.environ["AWS_SECRET_ACCESS_KEY"] = "bench"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
for var in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(var, None)

REGION = "us-east-1"
EXAMPLE = ROOT / "examples" / "alb-autoscaling-edge.toml"
STACK = "wcs-edge"
SCRIPT = ROOT / "bench" / "flow_awscli.sh"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def aws_cli() -> str:
    exe = shutil.which("aws") or str(Path(sys.executable).parent / "aws")
    if not Path(exe).exists():
        sys.exit("flow.py: the AWS CLI (aws) is not installed")
    return exe


class Server:
    """moto's server on loopback, seeded like the sandbox; `fresh()` resets and seeds again."""

    def __init__(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        from awslb.moto_gaps import install

        install()  # the sandbox's patches for moto's gaps (same process as the server)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()

    def fresh(self) -> None:
        from awslb.aws import Aws
        from awslb.sandbox import seed_account

        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=30).read()
        seed_account(Aws(region=REGION, endpoint_url=self.url))

    def stop(self) -> None:
        self.server.stop()


def env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


def run(cmd: list[str], environ: dict[str, str], what: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environ, timeout=300)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"flow.py: {what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def awslb_up(server: Server, home: Path) -> float:
    environ = env(AWSLB_HOME=str(home), AWSLB_POLL="0.2")
    base = [sys.executable, "-m", "awslb", "--endpoint-url", server.url, "--region", REGION]
    seconds = run([*base, "up", "-f", str(EXAMPLE), "--yes"], environ, "awslb up")
    run([*base, "down", STACK, "--yes"], environ, "awslb down")  # not timed; the server is reset anyway
    return seconds


def awscli_flow(server: Server, count_file: Path) -> tuple[float, int]:
    count_file.write_text("")
    environ = env(ENDPOINT_URL=server.url, AWS=aws_cli(), REGION=REGION, AWSLB_PYTHON=sys.executable,
                  COUNT_FILE=str(count_file))
    seconds = run(["bash", str(SCRIPT)], environ, "bench/flow_awscli.sh")
    return seconds, len(count_file.read_text().splitlines())


def plan_after_script(server: Server, home: Path) -> str:
    """Not timed: `awslb plan` on what the script made (the script tags like awslb does)."""
    cmd = [sys.executable, "-m", "awslb", "--endpoint-url", server.url, "--region", REGION,
           "plan", "--exit-code", "-f", str(EXAMPLE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(AWSLB_HOME=str(home)), timeout=120)
    if proc.returncode == 0:
        return "awslb plan on what the script made: nothing to do (same resources, same settings)"
    return f"awslb plan on what the script made (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each side (median shown)")
    args = ap.parse_args()

    server = Server()
    try:
        with tempfile.TemporaryDirectory(prefix="awslb-bench-") as tmp:
            tmpdir = Path(tmp)
            awslb_times: list[float] = []
            cli_times: list[float] = []
            processes = 0
            for i in range(args.runs):
                server.fresh()
                awslb_times.append(awslb_up(server, tmpdir / f"home{i}"))
                server.fresh()
                seconds, processes = awscli_flow(server, tmpdir / "count")
                cli_times.append(seconds)
                if i == args.runs - 1:
                    same = plan_after_script(server, tmpdir / "check")
                print(f"run {i + 1}: awslb up {awslb_times[-1]:.2f}s   AWS CLI script {seconds:.2f}s",
                      file=sys.stderr)
    finally:
        server.stop()

    a, c = statistics.median(awslb_times), statistics.median(cli_times)
    print(f"flow: {EXAMPLE.relative_to(ROOT)} against moto's server on loopback, median of {args.runs}")
    print(f"  awslb up (1 process)                 {a:7.2f} s")
    print(f"  AWS CLI script ({processes} aws processes)   {c:7.2f} s")
    print(f"  ratio AWS CLI / awslb                {c / a:7.2f}x")
    print(same)


if __name__ == "__main__":
    main()
