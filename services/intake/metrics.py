"""Intake's Prometheus metrics (names and meanings in docs/metrics.md), on its own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.domain.validation import REASONS
from shared.opsmetrics import ServiceMetrics

BATCH_SIZE_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000)
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class IntakeMetrics:
    """Counters and histograms of one intake instance; every reason exported at 0."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.service = ServiceMetrics(r)  # process, build info, NATS connection
        self.messages = Counter(
            "tthc_intake_messages", "Messages taken from TTHC_EVENTS.", registry=r
        )
        self.accepted = Counter(
            "tthc_intake_accepted", "Events handed on to the aggregator.", registry=r
        )
        self.rejected = Counter(
            "tthc_intake_rejected",
            "Messages rejected into TTHC_REJECTED, by reason code.",
            ["reason"],
            registry=r,
        )
        for reason in REASONS:
            self.rejected.labels(reason=reason)
        self.duplicates = Counter(
            "tthc_intake_duplicates",
            "Duplicates dropped at intake (same batch or recently seen event id).",
            registry=r,
        )
        self.batch_size = Histogram(
            "tthc_intake_batch_size", "Messages per batch.", buckets=BATCH_SIZE_BUCKETS, registry=r
        )
        self.batch_duration = Histogram(
            "tthc_intake_batch_duration_seconds",
            "Time to handle one batch (validate, publish, acknowledge).",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.handoff_errors = Counter(
            "tthc_intake_handoff_errors",
            "Failed publishes to TTHC_ACCEPTED / TTHC_REJECTED (batch left unacked, retried).",
            registry=r,
        )
