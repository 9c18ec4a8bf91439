"""`awslb agent serve` / `awslb agent check`: the HAProxy agent of seed 001 on port 9707."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from awslb.cli.common import state

agent_app = typer.Typer(help="The load-reporting agent HAProxy asks on port 9707.", no_args_is_help=True)


@agent_app.command("serve")
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to answer on.")] = 9707,
    bind: Annotated[str, typer.Option("--bind", help="Address to listen on (* for all).")] = "*",
    stat_url: Annotated[str, typer.Option("--stat-url", help="The WCS stat page.")] =
        "http://127.0.0.1:8081/?action=stat",
    cpu: Annotated[float, typer.Option("--cpu", min=0, help="Limit: CPU % (0: ignore).")] = 90,
    publishers: Annotated[int, typer.Option("--publishers", min=0, help="Limit: published streams "
                                            "(WebRTC, RTMP, RTSP).")] = 100,
    subscribers: Annotated[int, typer.Option("--subscribers", min=0, help="Limit: "
                                             "subscribers.")] = 100,
    hls: Annotated[int, typer.Option("--hls", min=0, help="Limit: HLS streams.")] = 100,
    band_in: Annotated[float, typer.Option("--band-in", min=0, help="Limit: Mbit/s in.")] = 100,
    band_out: Annotated[float, typer.Option("--band-out", min=0, help="Limit: Mbit/s out.")] = 100,
    over: Annotated[str, typer.Option("--over", metavar="down|drain", help="What HAProxy is told at a limit: "
                                      "down (seed 001: new and sticky clients go to other servers) or drain "
                                      "(sticky clients still come); open connections stay either way.")] = "down",
    allow: Annotated[list[str] | None, typer.Option("--allow", help="Answer only these CIDR blocks "
                                                    "(repeat; default: loopback and the private ranges "
                                                    "10/8, 172.16/12, 192.168/16, fc00::/7; "
                                                    "0.0.0.0/0 and ::/0 for everyone).")] = None,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between samples.")] = 2.0,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds the whole stat page "
                                           "may take (at most --interval).")] = 1.5,
    report_to: Annotated[list[str] | None, typer.Option("--report-to", help="Send load reports to this "
                                                        "redirector, HOST:PORT (repeat for several).")] = None,
    report_key_file: Annotated[str | None, typer.Option("--report-key-file", help="The redirectors' shared "
                                                        "key (mode 0600).")] = None,
    report_interval: Annotated[float, typer.Option("--report-interval", help="Seconds between "
                                                   "reports.")] = 2.5,
    redirect_address: Annotated[str | None, typer.Option("--redirect-address", help="Address clients are "
                                                         "sent to (default: the instance's public IPv4).")] = None,
    edge_id: Annotated[str | None, typer.Option("--edge-id", help="This edge's id in reports (default: "
                                                "the instance id, else the host name).")] = None,
    report_app: Annotated[list[str] | None, typer.Option("--report-app", help="Applications this edge "
                                                         "serves (repeat; default: all).")] = None,
    lifecycle_hook: Annotated[str | None, typer.Option("--lifecycle-hook", help="Drain on scale-in: the "
                                                       "group's terminate hook (needs --group).")] = None,
    group: Annotated[str | None, typer.Option("--group", help="This server's Auto Scaling group.")] = None,
    max_drain: Annotated[float, typer.Option("--max-drain", min=1, help="Seconds a drain may last.")] = 3600,
    heartbeat: Annotated[float, typer.Option("--heartbeat", min=30, help="The hook's heartbeat timeout (s).")] = 300,
    metrics_group: Annotated[str | None, typer.Option("--metrics-group", help="Publish media metrics "
                                                      "(awslb/Media) under this group's name.")] = None,
    metrics_period: Annotated[float, typer.Option("--metrics-period", min=1, help="Seconds between "
                                                  "PutMetricData calls.")] = 10,
) -> None:
    """Answer HAProxy agent checks from a verdict refreshed on a timer.

    Below every limit: `up ready N%` (weight falls with load). At a limit: `down #reason`
    (--over down, the default) or `up drain #reason` (--over drain). HAProxy keeps a DOWN
    or DRAIN server's established connections; DOWN also ignores its sticky cookie, DRAIN
    does not. The stat page not answering is `down`; a scale-in drain is always `up drain`.
    """
    from awslb.errors import UsageError
    from awslb.node import agent

    st = state(ctx)
    try:
        networks = agent.parse_allow(allow or agent.DEFAULT_ALLOW)
    except ValueError as exc:
        raise UsageError(f"--allow: {exc}") from None
    if over not in agent.OVER_CHOICES:
        raise UsageError(f"--over: down or drain, not {over!r}")
    if not stat_url.startswith(("http://", "https://")):
        raise UsageError(f"--stat-url: not an http(s) URL: {stat_url!r}")
    limits = agent.Limits(cpu=cpu, publishers=publishers, subscribers=subscribers, hls=hls,
                          band_in=band_in, band_out=band_out)

    def changed(v: agent.Verdict, s: agent.Sample) -> None:
        st.ui.info(f"verdict: {v.reply().strip()}")

    a = agent.Agent(stat_url, limits, interval=interval, timeout=timeout, allow=networks, on_change=changed,
                    over=over)
    from awslb.cli.redirector import reporter

    rep = reporter(report_to or [], report_key_file, report_interval, redirect_address, edge_id,
                   report_app or [], a, st.ui)
    _fleet_loops(a, stat_url, lifecycle_hook, group, max_drain, heartbeat, metrics_group, metrics_period, interval)

    def ready(addrs: list[tuple]) -> None:
        where = ", ".join(f"{x[0]}:{x[1]}" for x in addrs)
        who = ", ".join(str(n) for n in networks)
        if not allow:
            who += " (the default --allow; others are refused)"
        st.ui.info(f"awslb agent on {where}, answering {who}; stat page {stat_url}")
        if rep is not None:  # after the first sample: the first report carries a real verdict
            rep.start()
            st.ui.info(f"reporting as {rep.edge} ({rep.address}) every {rep.interval:g}s to "
                       + ", ".join(f"{h}:{p}" for h, p in rep.targets))

    try:
        agent.run(a, bind, port, ready)
    except OSError as exc:
        from awslb.errors import AwslbError

        raise AwslbError(f"agent: cannot listen on {bind}:{port}: {exc.strerror or exc}") from None
    finally:
        if rep is not None:
            rep.stop()


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./@+=-]{0,254}")


def _fleet_loops(a: Any, stat_url: str, hook: str | None, group: str | None, max_drain: float,
                 heartbeat: float, metrics_group: str | None, period: float, interval: float) -> None:
    """Start the drain watcher and the metrics publisher beside the agent (daemon threads)."""
    from awslb.errors import UsageError

    for flag, value in (("--lifecycle-hook", hook), ("--group", group), ("--metrics-group", metrics_group)):
        if value is not None and not NAME.fullmatch(value):
            raise UsageError(f"{flag}: not an Auto Scaling name: {value!r}")
    if (hook is None) != (group is None):
        raise UsageError("--lifecycle-hook: give --lifecycle-hook and --group together")
    if hook is not None and group is not None:
        from awslb.node import lifecycle

        try:  # checked before anything is asked of the metadata service
            lifecycle.Hook(group, hook, "", heartbeat_timeout=heartbeat, max_drain=max_drain).check()
        except ValueError as exc:
            raise UsageError(f"--max-drain: {exc}") from None
        imds = lifecycle.Imds()
        iid = imds.get("instance-id")
        if iid is None:
            from awslb.errors import AwslbError

            raise AwslbError("--lifecycle-hook: the instance metadata service (IMDSv2) did not answer",
                             "run the agent on the EC2 instance of the group, with IMDS enabled")
        h = lifecycle.Hook(group, hook, iid, heartbeat_timeout=heartbeat, max_drain=max_drain)
        from awslb.node.awsapi import client

        drainer = lifecycle.Drainer(h, imds, client("autoscaling"), lifecycle.stat_sessions(stat_url),
                                    a.set_admin)
        _every(interval, drainer.tick)
    if metrics_group is not None:
        from awslb.node import metrics
        from awslb.node.awsapi import client

        cloudwatch = client("cloudwatch")

        def publish() -> None:
            s = a.last_sample
            if s.error is None:
                metrics.publish(cloudwatch, metrics_group, metrics.figures(
                    s.publishers, s.subscribers, s.hls, s.band_in, s.band_out))

        _every(period, publish)


def _every(seconds: float, fn: Any) -> None:
    import logging
    import threading

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(seconds):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - a failed tick is logged; the next one tries again
                logging.getLogger("awslb.agent").warning("%s: %s", getattr(fn, "__name__", "tick"), exc)

    threading.Thread(target=loop, name="awslb-agent-fleet", daemon=True).start()


@agent_app.command("check")
def check(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="HOST[:PORT]", help="The agent to ask (port 9707).")],
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait.")] = 3.0,
) -> None:
    """Print what an agent answers and how HAProxy reads it (exit 1 if HAProxy would not accept it)."""
    from awslb.errors import AwslbError, UsageError
    from awslb.node import agent
    from awslb.spec import host_port

    st = state(ctx)
    host, port = target, agent.DEFAULT_PORT
    if target.count(":") == 1 or target.startswith("["):
        try:
            host, port = host_port(target)
        except ValueError as exc:
            raise UsageError(f"HOST[:PORT]: {exc}") from None
    try:
        reply = agent.check(host, port, timeout)
    except agent.Refused as exc:
        raise AwslbError(f"agent {host}:{port}: refused: {exc}",
                         "add this host's address to the agent's --allow (agent_allow in the user-data)") from None
    except OSError as exc:
        raise AwslbError(f"agent {host}:{port}: {exc.strerror or exc}",
                         "is the agent running (systemctl status awslb-agent) and port 9707 open to you?") from None
    if st.ui.json:
        st.ui.data({"host": host, "port": port, "reply": reply.raw, "valid": reply.valid,
                    "ignored": reply.ignored, "health": reply.health, "admin": reply.admin,
                    "weight": reply.weight, "maxconn": reply.maxconn, "description": reply.description,
                    "errors": reply.errors, "haproxy": reply.explain()})
    else:
        st.ui.line(f"reply:   {reply.raw!r}")
        st.ui.line(f"haproxy: {reply.explain()}")
    if not reply.valid:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(agent_app, name="agent")
