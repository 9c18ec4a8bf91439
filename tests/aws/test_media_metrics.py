"""Media-load metrics (awslb.node.metrics): one PutMetricData per period, read back from
moto's CloudWatch as a target-tracking policy's customized metric would read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from moto import mock_aws

from awslb.node import metrics

GROUP = "wcs-edge-asg"


def test_one_call_per_period_and_the_average_is_per_server() -> None:
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name="us-east-1")
        calls: list[str] = []
        cw.meta.events.register("before-call.cloudwatch", lambda model, **kw: calls.append(model.name))
        # Two servers of the group report in the same period.
        metrics.publish(cw, GROUP, metrics.figures(2, 150, 50, 12.5, 480.0))
        metrics.publish(cw, GROUP, metrics.figures(0, 90, 10, None, None))
        assert calls == ["PutMetricData", "PutMetricData"]
        spec = metrics.customized_metric("viewers", GROUP)
        assert spec["Period"] == 10
        now = datetime.now(UTC)
        got = cw.get_metric_statistics(Namespace=spec["Namespace"], MetricName=spec["MetricName"],
                                       Dimensions=spec["Dimensions"], StartTime=now - timedelta(minutes=5),
                                       EndTime=now + timedelta(minutes=1), Period=60,
                                       Statistics=[spec["Statistic"]])
        assert [p["Average"] for p in got["Datapoints"]] == [150.0]  # (200 + 100) / 2 servers
        names = {m["MetricName"] for m in cw.list_metrics(Namespace=metrics.NAMESPACE)["Metrics"]}
        assert names == {"Publishers", "Viewers", "BandwidthIn", "BandwidthOut"}


def test_unmeasured_figures_are_left_out_not_zero() -> None:
    data = metrics.metric_data(GROUP, metrics.figures(1, 2, 3, None, 7.5))
    assert [(d["MetricName"], d["Value"], d["StorageResolution"]) for d in data] == [
        ("Publishers", 1.0, 1), ("Viewers", 5.0, 1), ("BandwidthOut", 7.5, 1)]
    assert all(d["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": GROUP}] for d in data)
