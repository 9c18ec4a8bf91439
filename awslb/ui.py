"""All output goes through one UI object: data on stdout, everything else on stderr.

``--output json`` prints one JSON document on stdout; text output prints tables. Progress,
warnings and errors always go to stderr, so `awslb ... --output json | jq` works. NO_COLOR
and ``--no-color`` are honoured (rich reads NO_COLOR itself).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

WIDE = 4096


class UI:
    def __init__(self, output: str = "text", verbose: int = 0, color: bool = True):
        self.output = output
        self.verbose = verbose
        no_color = None if color else True
        self.err = Console(stderr=True, no_color=no_color, highlight=False, soft_wrap=True)
        self.out = Console(no_color=no_color, highlight=False, soft_wrap=True)
        for console in (self.out, self.err):
            if not console.is_terminal:
                # Piped to a file or a program: tables as wide as their content, so a name
                # is never broken in the middle (rich would fold cells to 80 columns).
                console.width = WIDE
        self.done: list[str] = []  # steps finished in this run (for the Ctrl-C line)
        self._progress: Any = None
        self._lock = threading.Lock()

    @property
    def json(self) -> bool:
        return self.output == "json"

    # -- messages (stderr) -------------------------------------------------------------

    def _say(self, text: str, style: str | None = None) -> None:
        target = self._progress.console if self._progress is not None else self.err
        target.print(text, style=style, markup=False)

    def info(self, text: str) -> None:
        self._say(text)

    def success(self, text: str) -> None:
        self._say(text, "green")

    def warn(self, text: str) -> None:
        self._say(f"warning: {text}", "yellow")

    def debug(self, text: str) -> None:
        if self.verbose:
            self._say(text, "dim")

    def error(self, text: str, hint: str | None = None) -> None:
        self.err.print(f"error: {text}", style="red", markup=False)
        if hint:
            self.err.print(f"hint: {hint}", style="dim", markup=False)

    # -- data (stdout) -----------------------------------------------------------------

    def data(self, obj: Any) -> None:
        """Print a JSON document on stdout."""
        sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
        sys.stdout.flush()

    def text(self, text: str) -> None:
        """Print raw text on stdout (rendered files, scripts): exactly as given."""
        sys.stdout.write(text)
        sys.stdout.flush()

    def table(self, title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
        table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*["" if v is None else str(v) for v in row])
        self.out.print(table)

    def line(self, text: str) -> None:
        """One line of human-readable data on stdout."""
        self.out.print(text, markup=False)

    # -- progress (stderr) -------------------------------------------------------------

    @contextmanager
    def progress(self) -> Iterator[Progress]:
        """A live area on stderr with one line per running step."""
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        live = self.err.is_terminal
        rich = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
            disable=not live,
        )
        tracker = Progress(self, rich, live)
        with rich:
            self._progress = rich if live else None
            try:
                yield tracker
            finally:
                self._progress = None


class Progress:
    """One line per running step; finished steps print one permanent line."""

    def __init__(self, ui: UI, rich: Any, live: bool):
        self.ui = ui
        self.rich = rich
        self.live = live
        self._lock = threading.Lock()

    def start(self, text: str) -> Any:
        with self._lock:
            if not self.live:
                self.ui.debug(f"… {text}")
            return self.rich.add_task(text, total=None)

    def update(self, task: Any, text: str) -> None:
        with self._lock:
            self.rich.update(task, description=text)
            if not self.live:
                self.ui.debug(f"… {text}")

    def finish(self, task: Any, text: str, ok: bool = True) -> None:
        with self._lock:
            self.rich.remove_task(task)
            mark = "✓" if ok else "✗"
            if ok:
                self.ui.done.append(text)
            self.ui._say(f"{mark} {text}", None if ok else "red")
