"""Media-load metrics for scaling on what media servers are loaded by, not CPU alone.

The agent publishes, once per period and in one ``PutMetricData`` call, the server's
publishers, viewers (WebRTC, WebSocket, RTMP, RTSP and HLS together) and bandwidth in and
out, in namespace ``awslb/Media`` with one dimension, the group's name
(``AutoScalingGroupName``), at high resolution (``StorageResolution=1``; the agent sends
every 10 s by default).

Every server of the group writes to the same metric, so the metric's ``Average`` over a
period is the load per server: what a target-tracking policy with a customized metric
specification compares with its target (``[autoscaling] metric = "viewers"``,
``target = 200`` keeps about 200 viewers per server).

Standard library only; the call goes through the client it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NAMESPACE = "awslb/Media"
DIMENSION = "AutoScalingGroupName"

# Stack-file metric name -> (CloudWatch metric name, unit).
METRICS: Mapping[str, tuple[str, str]] = {
    "publishers": ("Publishers", "Count"),
    "viewers": ("Viewers", "Count"),
    "bandwidth_in": ("BandwidthIn", "Megabits/Second"),
    "bandwidth_out": ("BandwidthOut", "Megabits/Second"),
}


def figures(publishers: int, subscribers: int, hls: int, band_in: float | None, band_out: float | None
            ) -> dict[str, float]:
    """The figures to publish; a figure the agent could not measure is left out, not sent as 0."""
    out: dict[str, float] = {"publishers": publishers, "viewers": subscribers + hls}
    if band_in is not None:
        out["bandwidth_in"] = band_in
    if band_out is not None:
        out["bandwidth_out"] = band_out
    return out


def metric_data(group: str, values: Mapping[str, float]) -> list[dict[str, Any]]:
    return [
        {"MetricName": METRICS[key][0], "Dimensions": [{"Name": DIMENSION, "Value": group}],
         "Value": float(value), "Unit": METRICS[key][1], "StorageResolution": 1}
        for key, value in values.items()
    ]


def publish(cloudwatch: Any, group: str, values: Mapping[str, float]) -> None:
    """One PutMetricData call for the period."""
    if values:
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=metric_data(group, values))


def customized_metric(metric: str, group: str, period: int = 10) -> dict[str, Any]:
    """The CustomizedMetricSpecification of a target-tracking policy on ``metric`` (per server).

    ``Period`` 10 makes a high-resolution target-tracking policy (EC2 Auto Scaling User Guide,
    "Create a target tracking policy using high-resolution metrics for faster response")."""
    if period not in (10, 20, 30, 60):
        raise ValueError(f"period {period}: target tracking takes 10, 20, 30 or 60 seconds")
    name, unit = METRICS[metric]
    return {"MetricName": name, "Namespace": NAMESPACE, "Dimensions": [{"Name": DIMENSION, "Value": group}],
            "Statistic": "Average", "Unit": unit, "Period": period}
