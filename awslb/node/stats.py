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

import os
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# The figures `awslb status` shows for each server.
FIGURES = ("connections_websocket", "streams_webrtc_in", "streams_webrtc_out")
UNREACHABLE = "unreachable"
DEFAULT_TIMEOUT = 2.0
MAX_BYTES = 256 * 1024
_INT = re.compile(r"^-?\d+$")


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
            out[key] = int(value) if _INT.match(value) else value
    return out


def figures(page: Mapping[str, int | str]) -> dict[str, int | str | None]:
    return {k: page.get(k) for k in FIGURES}


def fetch(url: str, seconds: float | None = None) -> dict[str, Any] | str:
    """The figures of one stat page, or a short word saying why there are none."""
    seconds = timeout() if seconds is None else seconds
    # Straight to the server (no HTTP proxy from the environment); a stat page on HTTPS
    # (8444) is addressed by IP, so its certificate (made for the domain) is not verified.
    handlers: list[Any] = [urllib.request.ProxyHandler({})]
    if url.startswith("https:"):
        handlers.append(urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))  # noqa: S323
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=seconds) as resp:
            body = resp.read(MAX_BYTES).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ValueError):  # refused, timed out, no route, bad URL
        return UNREACHABLE
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
