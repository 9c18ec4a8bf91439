"""Under a real pseudo-terminal: Ctrl-C says what was done and that a re-run resumes, and
`status --watch` redraws in place with the time of each refresh."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli.test_wizard_cli import Terminal
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
QUICKSTART = str(ROOT / "examples" / "alb-autoscaling-edge.toml")


def created(seen: str) -> set[str]:
    return set(re.findall(r"✓ (\S+ \S+) \([^)]*\): created", seen))


def test_ctrl_c_says_what_was_done_and_a_rerun_resumes(tmp_path: Path) -> None:
    # Each change takes 0.3 s in this sandbox, so Ctrl-C lands while steps still run.
    t = Terminal("--sandbox", "up", "-f", QUICKSTART, "--yes", cwd=tmp_path,
                 extra_env={"AWSLB_SANDBOX_DELAY": "0.3"})
    try:
        t.expect("(sandbox)")
        t.expect("✓ ")  # a first step finished
        os.write(t.fd, b"\x03")  # Ctrl-C, typed on the terminal
        t.expect("error: interrupted after ")
        line = t.seen[t.seen.rindex("error: interrupted"):].splitlines()[0]
        assert re.fullmatch(r"error: interrupted after \d+ step\(s\) finished \(✓ above\), each recorded in the "
                            r"ledger; run the same command again: it resumes where this one stopped", line), line
        assert t.finish() == 130
        assert "Traceback" not in t.seen
    finally:
        t.close()
    first = created(t.seen)
    assert first
    again = Terminal("--sandbox", "up", "-f", QUICKSTART, "--yes", cwd=tmp_path)
    try:
        again.expect("change(s) applied")
        assert again.finish() == 0, again.seen
    finally:
        again.close()
    second = created(again.seen)
    assert second and not first & second  # the re-run made only what the first did not finish
    assert "autoscaling_group asg" in first | second


def test_status_watch_redraws_in_place_with_a_timestamp(tmp_path: Path) -> None:
    setup = Terminal("--sandbox", "up", "-f", str(ROOT / "examples" / "security-groups.toml"), "--yes", cwd=tmp_path)
    setup.expect("change(s) applied")
    assert setup.finish() == 0
    t = Terminal("--sandbox", "status", "wcs-net", "--watch", "--interval", "1", cwd=tmp_path, term="xterm")
    try:
        stamps = []
        for _ in range(3):
            t.expect("stack wcs-net, every 1 s (Ctrl-C to stop)")
            stamps.append(t.seen[: t.pos].rsplit("\n", 1)[-1])
        # Redrawn in place: the cursor goes back up over the previous screen (rich Live).
        assert "\x1b[1A" in t.seen or "\x1b[2K" in t.seen, repr(t.seen[-400:])
        assert all(re.search(r"\d\d:\d\d:\d\d  stack wcs-net", s) for s in stamps), stamps
        assert "security_group lb-sg: wcs-net-balancer" in t.seen
        os.write(t.fd, b"\x03")
        t.expect("stopped watching stack wcs-net (nothing was changed)")
        assert t.finish() == 0
    finally:
        t.close()
