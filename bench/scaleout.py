"""A model (not a measurement) of the time from a load spike to a new server that passes its
health check, for CPU target tracking against media-load metrics at 10 s, cold or from a warm
pool in each state.

Each input is marked *documented* (AWS's documentation says so, source given) or *assumed*
(typical figures; change them with --set NAME=SECONDS to model your own AMI and region).

    python bench/scaleout.py
    python bench/scaleout.py --set boot=60 --set app_start=45
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class Input:
    seconds: float
    kind: str  # "documented" or "assumed"
    source: str


INPUTS: dict[str, Input] = {
    # Detection.
    "cpu_period": Input(60, "documented", "EC2 detailed monitoring publishes CPUUtilization every 1 minute "
                        "(EC2 User Guide, 'Enable or turn off detailed monitoring')"),
    "media_period": Input(10, "documented", "high-resolution custom metrics and target tracking on 10 s periods "
                          "(EC2 Auto Scaling User Guide, 'Create a target tracking policy using high-resolution "
                          "metrics for faster response')"),
    "datapoints": Input(3, "documented", "a target-tracking scale-out alarm needs 3 datapoints over the target "
                        "(EC2 Auto Scaling User Guide, 'Target tracking scaling policies': the alarms it creates)"),
    "cpu_delay": Input(60, "assumed", "time for an EC2 metric datapoint to be published after its minute ends"),
    "agent_lag": Input(5, "assumed", "half the agent's 10 s publishing period, on average"),
    "media_delay": Input(10, "assumed", "PutMetricData to the datapoint being visible to the alarm"),
    "react": Input(10, "assumed", "alarm state change to the group launching (or taking from the warm pool)"),
    # Capacity.
    "launch": Input(40, "assumed", "RunInstances to 'running' for a new instance from an AMI"),
    "boot": Input(30, "assumed", "OS boot to cloud-init running user-data"),
    "user_data": Input(30, "assumed", "the edge user-data: properties, CDN settings, agent unit"),
    "app_start": Input(30, "assumed", "WCS (or another media server) starting and serving its stat page"),
    "start_stopped": Input(40, "assumed", "StartInstances of a stopped warm-pool instance to 'running'"),
    "resume_hibernated": Input(20, "assumed", "resuming a hibernated warm-pool instance (memory restored)"),
    "take_running": Input(5, "assumed", "moving a running warm-pool instance into the group"),
    # Health.
    "health_interval": Input(10, "documented", "awslb's target-group health check interval (awslb/spec.py) "
                             "- ELB: 'HealthCheckIntervalSeconds'"),
    "healthy_threshold": Input(3, "documented", "awslb's healthy threshold: consecutive successful checks "
                               "before a target is healthy (ELB User Guide, 'Health checks for target groups')"),
}


def total(parts: list[tuple[str, float]]) -> float:
    return sum(s for _, s in parts)


def scenarios(v: dict[str, float]) -> dict[str, list[tuple[str, float]]]:
    cpu_detect = v["cpu_period"] * v["datapoints"] + v["cpu_delay"]
    media_detect = v["media_period"] * v["datapoints"] + v["agent_lag"] + v["media_delay"]
    health = v["health_interval"] * v["healthy_threshold"]
    cold = [("launch", v["launch"]), ("boot", v["boot"]), ("user-data", v["user_data"]),
            ("app start", v["app_start"])]
    return {
        "CPU 1-min, cold launch": [("detect", cpu_detect), ("react", v["react"]), *cold, ("health", health)],
        "media 10 s, cold launch": [("detect", media_detect), ("react", v["react"]), *cold, ("health", health)],
        "media 10 s, warm pool stopped": [("detect", media_detect), ("react", v["react"]),
                                          ("start", v["start_stopped"]), ("boot", v["boot"]),
                                          ("app start", v["app_start"]), ("health", health)],
        "media 10 s, warm pool hibernated": [("detect", media_detect), ("react", v["react"]),
                                             ("resume", v["resume_hibernated"]), ("health", health)],
        "media 10 s, warm pool running": [("detect", media_detect), ("react", v["react"]),
                                          ("take", v["take_running"]), ("health", health)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=SECONDS",
                    help=f"override an input: {', '.join(INPUTS)}")
    args = ap.parse_args()
    values = {k: i.seconds for k, i in INPUTS.items()}
    for item in args.set:
        name, _, value = item.partition("=")
        if name not in INPUTS:
            ap.error(f"--set: unknown input {name!r}")
        values[name] = float(value)
    table = scenarios(values)
    base = total(table["CPU 1-min, cold launch"])
    print("A MODEL of spike -> new server healthy (seconds); inputs below.\n")
    print(f"{'scenario':36} {'total':>6} {'vs CPU':>7}  parts")
    for name, parts in table.items():
        t = total(parts)
        detail = ", ".join(f"{p} {s:g}" for p, s in parts)
        print(f"{name:36} {t:6.0f} {base / t:6.1f}x  {detail}")
    print("\ninputs:")
    for k, i in INPUTS.items():
        mark = "" if values[k] == i.seconds else f" (set to {values[k]:g})"
        print(f"  {k:18} {i.seconds:6g}{mark}  [{i.kind}] {i.source}")


if __name__ == "__main__":
    main()
