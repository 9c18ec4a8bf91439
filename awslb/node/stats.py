"""The media server's stat page (`http://SERVER:8081/?action=stat`): fetch and parse.

The guides check that connections spread across servers by opening each server's stat
page and reading ``connections_websocket`` (and the WebRTC stream counts). `awslb status`
does the same for every target, concurrently and with a short timeout; a page that does
not answer is marked "unreachable" rather than slowing the command down.

The page is ``key=value`` lines under ``----Section----`` headers. Copies of it in the
guides sometimes have a space where the key has an underscore (``streams webrtc_in=1``):
keys are normalised to underscores.

``AWSLB_STATS=off`` turns fetching off (the tests set it, so no test sends traffic to the
made-up addresses of emulated instances); ``AWSLB_STATS_TIMEOUT`` sets the timeout.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# The figures `awslb status` shows for each server.
FIGURES = ("connections_websocket", "streams_webrtc_in", "streams_webrtc_out")
UNREACHABLE = "unreachable"
DEFAULT_TIMEOUT = 2.0
MAX_BYTES = 256 * 1024
# A counter is at most 18 digits (below 2**63): a longer "number" stays text, so no figure
# overflows a float (309 digits) or Python's int parser (4300 digits).
_INT = re.compile(r"-?\d{1,18}")
MAX_COUNT = 10**18


def count(value: int | str | None) -> int | None:
    """A counter from the page, bounded to 0..10**18; None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        if not _INT.fullmatch(value.strip()):
            return None
        value = int(value.strip())
    return max(0, min(MAX_COUNT, value))


class PageError(Exception):
    """The page did not come, or not in time: a short reason ("HTTP 503", "timed out")."""


class Fetch:
    """One GET bounded as a whole: the deadline (or :meth:`abort`) shuts the socket down.

    A socket timeout bounds each read only, so a page that trickles one byte at a time
    would hold a plain ``urlopen`` for as long as it trickles.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.aborted = False

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def get(self, url: str, seconds: float, limit: int = MAX_BYTES, verify: bool = True) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PageError(f"not an http(s) URL: {url!r}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            context = ssl.create_default_context() if verify else ssl._create_unverified_context()  # noqa: S323
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=seconds, context=context)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=seconds)
        timer = threading.Timer(seconds, self.abort)
        timer.daemon = True
        started = time.monotonic()
        timer.start()
        try:
            conn.connect()
            with self._lock:
                self._sock = conn.sock
                if self.aborted:
                    raise PageError(f"no answer within {seconds:g}s")
            conn.request("GET", path, headers={"Connection": "close"})
            resp = conn.getresponse()
            if resp.status >= 400:
                raise PageError(f"HTTP {resp.status}")
            chunks: list[bytes] = []
            size = 0
            while size < limit:
                data = resp.read(min(65536, limit - size))
                if not data:
                    break
                chunks.append(data)
                size += len(data)
            if self.aborted:
                raise PageError(f"no complete answer within {seconds:g}s")
            return b"".join(chunks).decode("utf-8", "replace")
        except PageError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if self.aborted or time.monotonic() - started >= seconds:
                raise PageError(f"no complete answer within {seconds:g}s") from None
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise PageError(reason) from None
        finally:
            timer.cancel()
            conn.close()


def enabled() -> bool:
    return os.environ.get("AWSLB_STATS", "on").strip().lower() not in ("0", "off", "false", "no")


def timeout() -> float:
    try:
        return max(0.1, float(os.environ.get("AWSLB_STATS_TIMEOUT", DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def parse(text: str) -> dict[str, int | str]:
    """Every ``key=value`` line of a stat page; integer values as int."""
    out: dict[str, int | str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("-") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = re.sub(r"\s+", "_", key.strip()).lower()
        value = value.strip()
        if key:
            out[key] = int(value) if _INT.fullmatch(value) else value
    return out


def figures(page: Mapping[str, int | str]) -> dict[str, int | str | None]:
    return {k: page.get(k) for k in FIGURES}


def fetch(url: str, seconds: float | None = None) -> dict[str, Any] | str:
    """The figures of one stat page, or a short word saying why there are none."""
    seconds = timeout() if seconds is None else seconds
    # Straight to the server (no HTTP proxy); a stat page on HTTPS (8444) is addressed by IP,
    # so its certificate (made for the domain) is not verified. The timeout bounds the whole GET.
    try:
        body = Fetch().get(url, seconds, verify=False)
    except PageError as exc:
        return str(exc) if str(exc).startswith("HTTP ") else UNREACHABLE
    page = parse(body)
    if not any(k in page for k in FIGURES):
        return "not a stat page"
    return figures(page)


def fetch_all(urls: Mapping[str, str], seconds: float | None = None) -> dict[str, dict[str, Any] | str]:
    """{name: figures or why not} for every {name: url}, fetched concurrently."""
    if not urls:
        return {}
    with ThreadPoolExecutor(min(16, len(urls)), "awslb-stats") as pool:
        futures = {name: pool.submit(fetch, url, seconds) for name, url in urls.items()}
        return {name: fut.result() for name, fut in futures.items()}
