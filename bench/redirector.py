"""Redirects per second and latency of `awslb redirector serve` with 1,000 edges reporting.

    .venv/bin/python bench/redirector.py [--edges 1000] [--interval 2.5] [--requests 60000]
                                          [--concurrency 1 4 16] [--max-seconds 30]

The redirector runs as the CLI does (`python -m awslb redirector serve`), pinned to one CPU.
A second process plays the edges: each sends a signed report every --interval seconds
(1,000 edges every 2.5 s: 400 datagrams/s), spread evenly. The clients are raw keep-alive
HTTP/1.1 connections driven by one selector loop (one request in flight per connection):
each request's latency is the time from its send to the end of its response. Every answer
is checked (200 and a `redirect=` line). Bounded: --requests per concurrency level and
--max-seconds per level; everything is stopped at the end. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from awslb.node import wire  # noqa: E402

KEY = b"bench-key-0123456789abcdef"
REQUEST = b"GET /redirect HTTP/1.1\r\nHost: bench\r\n\r\n"


def edges_process(port: int, edges: int, interval: float, stop_at: float, cpu: int | None) -> None:
    """Every edge reports every ``interval`` seconds, the edges spread evenly over it."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seq = wire.first_sequence()
    limits = {"publishers": 100, "subscribers": 2000, "hls": 100, "cpu": 90, "band_out": 1000}
    gap = interval / edges
    start = time.monotonic()
    n = 0
    while time.time() < stop_at:
        i = n % edges
        load = (i * 7919 + n // edges) % 1000
        r = wire.Report(f"edge-{i:05d}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "up",
                        {"publishers": load % 50, "subscribers": load, "hls": 0, "cpu": load / 20,
                         "band_out": load / 2}, limits, interval)
        seq += 1
        sock.sendto(wire.encode(r, KEY, seq), ("127.0.0.1", port))
        n += 1
        delay = start + n * gap - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def health(http_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as r:
        return json.loads(r.read())


def run_clients(http_port: int, concurrency: int, requests: int, max_seconds: float) -> dict:
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(concurrency):
        s = socket.create_connection(("127.0.0.1", http_port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        conns.append(s)
    latencies: list[float] = []
    answers: Counter = Counter()
    bad = 0
    sent_at: dict[socket.socket, float] = {}
    bufs: dict[socket.socket, bytes] = {}
    sent = 0
    start = time.perf_counter()
    deadline = start + max_seconds
    for s in conns:
        sel.register(s, selectors.EVENT_READ)
        s.send(REQUEST)
        sent_at[s] = time.perf_counter()
        bufs[s] = b""
        sent += 1
    done = 0
    while done < sent:
        for key, _ in sel.select(timeout=5):
            s = key.fileobj
            data = s.recv(65536)  # type: ignore[union-attr]
            if not data:
                raise SystemExit("the redirector closed a connection")
            buf = bufs[s] + data  # type: ignore[index]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                bufs[s] = buf  # type: ignore[index]
                continue
            at = buf.find(b"Content-Length: ", 0, end) + 16
            length = int(buf[at:buf.find(b"\r\n", at)])
            if len(buf) < end + 4 + length:
                bufs[s] = buf  # type: ignore[index]
                continue
            now = time.perf_counter()
            latencies.append(now - sent_at[s])  # type: ignore[index]
            body = buf[end + 4:end + 4 + length]
            if buf.startswith(b"HTTP/1.1 200") and body.startswith(b"redirect="):
                answers[body] += 1
            else:
                bad += 1
            bufs[s] = buf[end + 4 + length:]  # type: ignore[index]
            done += 1
            if sent < requests and now < deadline:
                s.send(REQUEST)  # type: ignore[union-attr]
                sent_at[s] = time.perf_counter()  # type: ignore[index]
                sent += 1
    elapsed = time.perf_counter() - start
    for s in conns:
        s.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {"concurrency": concurrency, "requests": done, "seconds": round(elapsed, 2),
            "redirects_per_s": round(done / elapsed), "p50_ms": round(pct(50), 3), "p99_ms": round(pct(99), 3),
            "p99_9_ms": round(pct(99.9), 3), "max_ms": round(latencies[-1] * 1000, 3),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 3), "not_redirect": bad,
            "distinct_edges": len(answers)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edges", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=2.5)
    ap.add_argument("--requests", type=int, default=60_000, help="per concurrency level")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--max-seconds", type=float, default=30, help="per concurrency level")
    ap.add_argument("--idle-seconds", type=float, default=5, help="reports only, to cost a report")
    args = ap.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    red_cpu, other_cpu = cpus[0], (cpus[1] if len(cpus) > 1 else None)
    tmp = Path(tempfile.mkdtemp(prefix="awslb-bench-"))
    key = tmp / "key"
    key.write_bytes(KEY + b"\n")
    key.chmod(0o600)
    log = tmp / "redirector.log"
    red = subprocess.Popen([sys.executable, "-m", "awslb", "--no-color", "redirector", "serve", "--key-file",
                            str(key), "--listen", "127.0.0.1:0/udp", "--http", "127.0.0.1:0"],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("w"),
                           preexec_fn=lambda: os.sched_setaffinity(0, {red_cpu}))
    budget = time.time() + 60 + args.idle_seconds + len(args.concurrency) * (args.max_seconds + 5)
    sender = None
    try:
        m = None
        for _ in range(200):
            m = re.search(r"reports on 127\.0\.0\.1:(\d+)/udp, clients on http://127\.0\.0\.1:(\d+)", log.read_text())
            if m or red.poll() is not None:
                break
            time.sleep(0.05)
        if not m:
            raise SystemExit(f"the redirector did not start: {log.read_text()}")
        udp, http_port = int(m.group(1)), int(m.group(2))
        sender = multiprocessing.Process(target=edges_process, args=(udp, args.edges, args.interval, budget,
                                                                     other_cpu), daemon=True)
        sender.start()
        if other_cpu is not None:
            os.sched_setaffinity(0, {other_cpu})
        for _ in range(int(args.interval * 40) + 100):
            if health(http_port)["edges"] >= args.edges:
                break
            time.sleep(0.05)
        h = health(http_port)
        cpu0, accepted0 = cpu_seconds(red.pid), h["reports"]["accepted"]
        time.sleep(args.idle_seconds)
        h = health(http_port)
        reports = h["reports"]["accepted"] - accepted0
        idle_cpu = cpu_seconds(red.pid) - cpu0
        per_report = idle_cpu / reports * 1e6 if reports else float("nan")
        print(f"reports only: {reports} reports in {args.idle_seconds:g}s used {idle_cpu:.2f} CPU-s "
              f"({per_report:.0f} us per report, sweeps included)")
        print(f"redirector pinned to CPU {red_cpu}; clients and {h['edges']} edges (every {args.interval:g}s, "
              f"{args.edges / args.interval:.0f} reports/s) on CPU {other_cpu}; loopback; keep-alive HTTP/1.1")
        results = []
        for c in args.concurrency:
            cpu0 = cpu_seconds(red.pid)
            r = run_clients(http_port, c, args.requests, args.max_seconds)
            used = cpu_seconds(red.pid) - cpu0
            r["redirector_cpu_s"] = round(used, 2)
            r["redirects_per_cpu_s"] = round(r["requests"] / used) if used else None
            r["edges_tracked"] = health(http_port)["edges"]
            results.append(r)
            print(f"  concurrency {c:3}: {r['redirects_per_s']:6} redirects/s  p50 {r['p50_ms']:.3f} ms  "
                  f"p99 {r['p99_ms']:.3f} ms  p99.9 {r['p99_9_ms']:.3f} ms  max {r['max_ms']:.2f} ms  "
                  f"redirector CPU {r['redirector_cpu_s']} s = {r['redirects_per_cpu_s']} redirects per CPU-second  "
                  f"({r['requests']} requests, {r['distinct_edges']} distinct edges, "
                  f"{r['not_redirect']} not redirect, {r['edges_tracked']} edges tracked)")
        h = health(http_port)
        print(f"reports accepted {h['reports']['accepted']}, dropped {h['reports']['dropped'] or 0}")
        print(json.dumps({"edges": args.edges, "interval": args.interval, "us_per_report": round(per_report, 1),
                          "results": results}))
    finally:
        if sender is not None:
            sender.terminate()
            sender.join(5)
        red.send_signal(signal.SIGTERM)
        try:
            red.wait(10)
        except subprocess.TimeoutExpired:
            red.kill()


if __name__ == "__main__":
    main()
