"""Agent checks per second and latency: `awslb agent serve` against the guide's approach.

The guide (seed 001) runs a shell script per connection from xinetd: the script calls curl on
the WCS stat page and computes the verdict with bc. Here that is a bash script started per
connection by `socat TCP-LISTEN:...,fork EXEC:script` (xinetd's model; a small Python
forking launcher if socat is missing). `awslb agent serve` answers from a cached verdict
that a timer refreshes. Both read the same stand-in stat page on loopback.

    /work/venv/bin/python bench/agent.py [--checks 3000] [--shell-checks 300] [--concurrency 1 8]

Bounded: a fixed number of checks per run and --max-seconds per run. Loopback only.
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
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from awslb.node.agent import parse_reply  # noqa: E402

STAT = """-----Connection Stats----
connections=12
connections_websocket=12
----Stream Stats---
streams webrtc_in=3
streams_webrtc_out=20
streams_rtmp_in=1
streams_rtmp_out=2
streams_hls=0
"""

# The guide's agent, condensed: curl the stat page, sum the counters, compare with limits,
# CPU from the load average, weight with bc. One bash (+ curl, awk, bc) per check.
GUIDE_SCRIPT = r"""#!/bin/bash
STAT_URL="${STAT_URL:-$1}"; MAX_CPU=90; MAX_PUB=100; MAX_SUB=100; MAX_HLS=100
stat=$(curl -s --max-time 2 "$STAT_URL") || { echo "down #stat page"; exit 0; }
count() { echo "$stat" | tr ' ' '_' | awk -F= -v re="$1" '$1 ~ re {s += $2} END {print s + 0}'; }
pub=$(count '^streams_(webrtc|rtmp|rtsp|rtsp_push|rtmfp)_in$')
sub=$(count '^streams_(webrtc|websocket|rtmp|rtsp|rtsp_push|rtmfp|rtmp_client)_out$')
hls=$(count '^streams_hls$')
cpu=$(echo "$(cut -d' ' -f1 /proc/loadavg) * 100 / $(nproc)" | bc)
if [ "$cpu" -ge "$MAX_CPU" ] || [ "$pub" -ge "$MAX_PUB" ] || [ "$sub" -ge "$MAX_SUB" ] || [ "$hls" -ge "$MAX_HLS" ]; then
  echo "up drain"; exit 0
fi
load=$(printf '%s\n' "$((cpu * 100 / MAX_CPU))" "$((pub * 100 / MAX_PUB))" "$((sub * 100 / MAX_SUB))" \
  "$((hls * 100 / MAX_HLS))" | sort -n | tail -1)
weight=$(echo "w = 100 - $load; if (w < 1) w = 1; w" | bc)
echo "up ready ${weight}%"
"""

FORK_LAUNCHER = r"""
import os, signal, socket, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
port, script, url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(128)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        os.dup2(c.fileno(), 1); os.execv("/bin/bash", ["bash", script, url])
    c.close()
"""


def stat_page() -> tuple[ThreadingHTTPServer, str]:
    body = STAT.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/?action=stat"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(256)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port}")


def one_check(port: int) -> tuple[float, str]:
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        data = b""
        while chunk := s.recv(256):
            data += chunk
    return time.perf_counter() - t0, data.decode("ascii", "replace")


def run(port: int, checks: int, concurrency: int, max_seconds: float) -> dict:
    lat: list[float] = []
    bad: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    per_worker = [checks // concurrency + (1 if i < checks % concurrency else 0) for i in range(concurrency)]

    def worker(n: int) -> None:
        for _ in range(n):
            if time.monotonic() > deadline:
                return
            try:
                dt, reply = one_check(port)
            except OSError as exc:
                with lock:
                    bad.append(str(exc))
                continue
            with lock:
                lat.append(dt)
                if not parse_reply(reply).valid:
                    bad.append(reply)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in per_worker]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "checks": len(lat),
        "per_s": len(lat) / wall if wall else 0.0,
        "p50_ms": statistics.median(lat) * 1000 if lat else float("nan"),
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan"),
        "errors": len(bad),
        "sample_error": bad[0] if bad else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checks", type=int, default=3000, help="checks per run against awslb agent serve")
    ap.add_argument("--shell-checks", type=int, default=300, help="checks per run against the guide's script")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--max-seconds", type=float, default=30.0, help="upper bound per run")
    args = ap.parse_args()

    srv, url = stat_page()
    tmp = Path(tempfile.mkdtemp(prefix="awslb-bench-"))
    script = tmp / "haproxy-agent-check.sh"
    script.write_text(GUIDE_SCRIPT)
    script.chmod(0o755)
    procs: list[subprocess.Popen] = []
    try:
        ours = free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
        procs.append(subprocess.Popen([sys.executable, "-m", "awslb", "agent", "serve", "--bind", "127.0.0.1",
                                       "--port", str(ours), "--stat-url", url, "--interval", "2"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        guide = free_port()
        socat = shutil.which("socat")
        if socat:
            launcher = "socat + bash + curl (xinetd model)"
            # The URL goes in the environment: socat's address syntax would split it at ':' and ','.
            cmd = [socat, f"TCP-LISTEN:{guide},bind=127.0.0.1,reuseaddr,fork,backlog=128",
                   f"EXEC:/bin/bash {script}"]
        else:
            launcher = "fork + bash + curl (xinetd model)"
            cmd = [sys.executable, "-c", FORK_LAUNCHER, str(guide), str(script), url]
        procs.append(subprocess.Popen(cmd, env=dict(os.environ, STAT_URL=url), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        wait_listening(ours)
        wait_listening(guide)
        _, reply_ours = one_check(ours)
        _, reply_guide = one_check(guide)
        print(f"replies: awslb {reply_ours!r}  guide {reply_guide!r}")
        print(f"{'approach':<36} {'conc':>4} {'checks':>7} {'checks/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
        rows = []
        for conc in args.concurrency:
            a = run(ours, args.checks, conc, args.max_seconds)
            g = run(guide, args.shell_checks, conc, args.max_seconds)
            for name, r in (("awslb agent serve (cached verdict)", a), (launcher, g)):
                print(f"{name:<36} {conc:>4} {r['checks']:>7} {r['per_s']:>10.0f} {r['p50_ms']:>8.2f} "
                      f"{r['p99_ms']:>8.2f} {r['errors']:>6}" + (f"  e.g. {r['sample_error']!r}" if r["errors"] else ""))
            rows.append((conc, a, g))
        for conc, a, g in rows:
            print(f"ratio at concurrency {conc}: {a['per_s'] / g['per_s']:.0f}x the checks/s, "
                  f"p50 {g['p50_ms'] / a['p50_ms']:.0f}x lower, p99 {g['p99_ms'] / a['p99_ms']:.0f}x lower")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
