"""`awslb sandbox status|stop|reset`: the background AWS emulator behind `--sandbox`."""

from __future__ import annotations

import typer

from awslb.cli.common import state

group = typer.Typer(help="The built-in AWS emulator behind --sandbox: status, stop, reset.",
                    no_args_is_help=True)


@group.command("status")
def status(ctx: typer.Context) -> None:
    """Endpoint, pid, uptime and what the sandbox's account holds (a count per kind)."""
    from awslb import sandbox

    st = state(ctx)
    d = sandbox.directory()
    info = sandbox.running(d)
    doc = sandbox.describe(d, info)
    if st.ui.json:
        st.ui.data(doc)
        return
    if info is None:
        st.ui.line(f"sandbox: not running (state {'saved' if doc['state_saved'] else 'empty'} in {d}); "
                   "the next --sandbox command starts it")
        return
    st.ui.line(f"sandbox: running at {doc['endpoint']} ({doc['region']}), pid {doc['pid']}, "
               f"up {sandbox._age(float(info['started']))}, state in {d}")
    st.ui.table(None, ["kind", "count"], [[k, n] for k, n in doc["resources"].items()])


@group.command("stop")
def stop(ctx: typer.Context) -> None:
    """Stop the emulator; its account is kept on disk for the next --sandbox command."""
    from awslb import sandbox

    st = state(ctx)
    pid = sandbox.stop()
    if st.ui.json:
        st.ui.data({"stopped": pid is not None, "pid": pid, "directory": str(sandbox.directory())})
    elif pid is None:
        st.ui.info("sandbox: not running")
    else:
        st.ui.success(f"sandbox: stopped (pid {pid}); its account is kept until `awslb sandbox reset`")


@group.command("reset")
def reset(ctx: typer.Context) -> None:
    """Stop the emulator and forget its account and the sandbox ledgers (.awslb/sandbox)."""
    import os
    from pathlib import Path

    from awslb import sandbox

    st = state(ctx)
    ledgers = Path(os.environ.get("AWSLB_HOME", ".awslb")) / "sandbox"
    removed = sandbox.reset(ledgers)
    if st.ui.json:
        st.ui.data({"removed": [str(p) for p in removed]})
        return
    st.ui.success("sandbox: reset; the next --sandbox command starts a fresh, seeded account"
                  + (f" (removed {', '.join(str(p) for p in removed)})" if removed else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="sandbox")
