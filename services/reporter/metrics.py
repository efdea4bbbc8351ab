"""The reporter's Prometheus metrics (docs/metrics.md, reporter part)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.domain.periods import KINDS
from shared.opsmetrics import ServiceMetrics


class ReporterMetrics:
    """The reporter's own Prometheus registry (docs/metrics.md, reporter part)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.service = ServiceMetrics(self.registry)  # process, build info, NATS connection
        self.snapshots = Counter(
            "tthc_reporter_snapshots_total",
            "Snapshot revisions made, by period kind",
            ["kind"],
            registry=self.registry,
        )
        self.failures = Counter(
            "tthc_reporter_snapshot_failures_total",
            "Scheduled snapshot runs that failed",
            ["kind"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "tthc_reporter_snapshot_duration_seconds",
            "Time to freeze one period's snapshots",
            registry=self.registry,
        )
        self.last_success = Gauge(
            "tthc_reporter_last_snapshot_success_timestamp_seconds",
            "When a period kind's snapshots were last made successfully",
            ["kind"],
            registry=self.registry,
        )
        for kind in KINDS:
            if kind != "range":
                self.snapshots.labels(kind)
                self.failures.labels(kind)
