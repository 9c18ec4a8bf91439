"""How many concurrent WebSockets one HAProxy holds with K source addresses (seed 004).

Each (source address, server address) pair has one ephemeral port range of its own, so one
source address caps HAProxy at about that many connections to a backend, and K addresses
lift the cap K times. This bench measures it with awslb's own haproxy.cfg (`awslb haproxy
config` with one server and K `--source-address`: one `server` line per source address), the real
`haproxy`, a WebSocket backend and clients, all on loopback.

To reach the cap within this machine's limits (20,000 open files per process here), it runs
in a network namespace of its own (`unshare -n`, as root) with a small ephemeral port range
(`--ports`, default 2,000): the ratio between K = 1 and K = 3 is what matters, and nothing
outside the namespace sees the traffic or the changed range. Bounded: at most `--cap`
connections per run, and it stops at the first run of failures.

    sudo python bench/connections.py                # K = 1 and 3, 2,000 ports
    python bench/connections.py --sources 1 2 3 --ports 1000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "AWSLB_BENCH_NETNS"
BACKEND_PORT = 18080
FRONT_PORT = 18443
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# -- the backend: answers the WebSocket handshake and holds the connection --------------------

async def backend(port: int) -> None:
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        key = b""
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        held.append(writer)
        await reader.read()  # until the client (through HAProxy) goes away

    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


# -- the clients: open WebSockets through HAProxy until they fail -----------------------------

async def clients(port: int, cap: int, window: int, client_sources: int, net: str) -> tuple[int, str]:
    held: list[asyncio.StreamWriter] = []
    failures = 0
    last_error = ""
    n = 0
    sem = asyncio.Semaphore(window)
    stop = asyncio.Event()

    async def one(i: int) -> None:
        nonlocal failures, last_error
        src = f"{net}.{1 + i % client_sources}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0)), 10)
            key = base64.b64encode(os.urandom(16))
            writer.write(b"GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + b"\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            if not head.startswith(b"HTTP/1.1 101"):
                writer.close()
                raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
            held.append(writer)
            failures = 0
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ConnectionError) as exc:
            failures += 1
            last_error = str(exc) or type(exc).__name__
            if failures >= 50:
                stop.set()
        finally:
            sem.release()

    tasks = set()
    while n < cap and not stop.is_set():
        await sem.acquire()
        if stop.is_set():
            break
        t = asyncio.ensure_future(one(n))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        n += 1
    await asyncio.gather(*tasks)
    return len(held), last_error or "the cap was reached"


# -- one run: render the config with awslb, start haproxy, count ------------------------------

def run(k: int, r: int, args: argparse.Namespace, tmp: Path) -> tuple[int, str, float]:
    """Run ``r`` uses addresses of its own (127.<r+1>.2.x for HAProxy's sources, 127.<r+1>.1.x
    for the clients), so the TIME_WAIT ports an earlier run left do not count against it."""
    servers = [f"--server=b1=127.0.0.1:{BACKEND_PORT}"]  # one backend: awslb writes a line per source
    sources = [f"--source-address=127.{r + 1}.2.{i + 1}" for i in range(k)]
    cfg = tmp / f"haproxy-{k}.cfg"
    per_server = args.cap  # never the limit: the ports are
    subprocess.run([sys.executable, "-m", "awslb", "haproxy", "config", *servers, *sources, "--no-tls",
                    "--foreground", "--bind", "127.0.0.1", "--port", str(FRONT_PORT), "--balance", "leastconn",
                    "--maxconn", str(per_server), "--stats-socket", str(tmp / f"admin-{k}.sock"),
                    "-o", str(cfg)], check=True, cwd=ROOT)
    text = cfg.read_text()
    # HAProxy's own descriptor needs (two per connection) must fit this machine's hard limit.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    text = text.replace("    maxconn ", f"    maxconn {min(args.cap, hard // 2 - 500)} #", 1)
    cfg.write_text(text)
    subprocess.run(["haproxy", "-c", "-q", "-f", str(cfg)], check=True)
    log = open(tmp / f"haproxy-{k}.log", "w")  # noqa: SIM115 (closed below)
    proxy = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=log, stderr=log)
    try:
        time.sleep(1.0)
        start = time.perf_counter()
        held, why = asyncio.run(clients(FRONT_PORT, args.cap, args.window, args.client_sources, f"127.{r + 1}.1"))
        return held, why, time.perf_counter() - start
    finally:
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
        log.close()
        if os.environ.get("AWSLB_BENCH_DEBUG"):
            print((tmp / f"haproxy-{k}.log").read_text()[-3000:])


def inside(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if os.environ.get(MARK):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        lo = 40000
        Path("/proc/sys/net/ipv4/ip_local_port_range").write_text(f"{lo} {lo + args.ports - 1}\n")
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    print(f"ephemeral ports {low}-{high} ({int(high) - int(low) + 1}); open-file limit {hard}; cap {args.cap}")
    back = subprocess.Popen([sys.executable, __file__, "--role", "backend"])
    try:
        time.sleep(0.5)
        with tempfile.TemporaryDirectory() as tmp:
            results = {}
            for r, k in enumerate(args.sources):
                held, why, secs = run(k, r, args, Path(tmp))
                results[k] = held
                print(f"K={k} source address(es): {held} concurrent WebSockets held ({secs:.1f} s; stopped: {why})",
                      flush=True)
            base = results[args.sources[0]]
            for k, held in results.items():
                print(f"  K={k}: {held / base:.2f}x of K={args.sources[0]}")
    finally:
        back.terminate()
        back.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, nargs="+", default=[1, 3], help="values of K to run")
    ap.add_argument("--ports", type=int, default=2000, help="ephemeral ports in the namespace")
    ap.add_argument("--cap", type=int, default=9000, help="connections per run at the most")
    ap.add_argument("--window", type=int, default=256, help="handshakes in flight")
    ap.add_argument("--client-sources", type=int, default=32, help="client addresses per run")
    ap.add_argument("--role", choices=["main", "backend"], default="main", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "backend":
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        asyncio.run(backend(BACKEND_PORT))
        return
    if not shutil.which("haproxy"):
        sys.exit("haproxy is not installed (apt-get install haproxy)")
    if os.environ.get(MARK) or os.geteuid() != 0 or not shutil.which("unshare"):
        if not os.environ.get(MARK):
            print("not root: running in this namespace, with its own ephemeral port range", file=sys.stderr)
        inside(args)
        return
    env = {**os.environ, MARK: "1"}
    sys.exit(subprocess.call(["unshare", "-n", sys.executable, __file__, *sys.argv[1:]], env=env))


if __name__ == "__main__":
    main()
