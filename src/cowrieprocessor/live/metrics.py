"""A Prometheus endpoint on a local port: the follower's counters, read at each scrape (no second bookkeeping)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cowrieprocessor.live.stats import FollowStats

PREFIX = "cowrieprocessor_follow_"
#: (attribute, help) of the counters: they only ever grow while the process runs.
COUNTERS = (
    ("events_read", "Events read from the logs"),
    ("events_new", "Events new to the database"),
    ("sessions_new", "Sessions created"),
    ("sessions_snapshotted", "Sessions given their attack-time snapshot"),
    ("dead_letters", "Lines that could not be ingested"),
    ("batches", "Ticks that committed new events"),
    ("rotations", "Rotations of a live log seen"),
    ("truncations", "Truncations of a live log seen"),
    ("enrich_passes", "Enrichment passes run"),
    ("provider_errors", "Provider lookups that failed"),
    ("alerts_sent", "Alerts delivered"),
    ("alert_errors", "Alert runs that failed"),
)
GAUGES = (
    ("lag_bytes", "Bytes written to the live logs and not read yet"),
    ("lag_seconds", "Seconds the oldest unread byte has waited"),
    ("events_per_second", "New events per second over the last minute"),
    ("last_batch_seconds", "Seconds the last tick with new events took, enrichment included"),
)


class StatsCollector(Collector):
    def __init__(self, stats: FollowStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Any]:
        s = self.stats
        for name, text in COUNTERS:
            counter = CounterMetricFamily(PREFIX + name, text)
            counter.add_metric([], float(getattr(s, name)))
            yield counter
        for name, text in GAUGES:
            gauge = GaugeMetricFamily(PREFIX + name, text)
            gauge.add_metric([], float(getattr(s, name)))
            yield gauge
        last = GaugeMetricFamily(PREFIX + "last_batch_timestamp_seconds", "Unix time of the last committed batch")
        last.add_metric([], float(s.last_batch_at or 0.0))
        yield last


def serve(stats: FollowStats, port: int, host: str = "127.0.0.1") -> Any:
    """Start the endpoint in a daemon thread; return its server (``shutdown()`` stops it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(stats))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
