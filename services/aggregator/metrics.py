"""Prometheus metrics of the aggregator (docs/metrics.md), on its own registry.

Live gauges are set from `storage.live.live_figures` (the rule table at the current
instant), after batches (at most about once a second) and by the overdue sweep, so a
case whose due instant passes becomes overdue in the gauges without any `overdue`
event. The `unit` label is the province (default) or the commune
(TTHC_UNIT_LABEL=commune); never a case id. Every label combination of a known unit is
exported, 0 included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.domain.case import ANOMALY_KINDS, Lateness
from shared.domain.events import CHANNELS
from shared.opsmetrics import ServiceMetrics

LATENESS = tuple(v.value for v in Lateness)

# Fine around the 250 ms objective (p99 under 250 ms at 2,000 events/s), so a quantile
# read off the buckets is not a guess across a 250 ms wide bucket.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
    1, 2.5, 5, 10, 30, 60, 300, 900,
)  # fmt: skip
BATCH_SIZE_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
DURATION_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10,
)  # fmt: skip


class AggregatorMetrics:
    """The aggregator's series; `units` are exported with every label combination at 0."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.service = ServiceMetrics(r)  # process, build info, NATS connection
        self.events_applied = Counter(
            "tthc_aggregator_events_applied", "New events stored and folded.", registry=r
        )
        self.duplicates = Counter(
            "tthc_aggregator_duplicates",
            "Events already stored (dropped by event id, forever).",
            registry=r,
        )
        self.db_errors = Counter(
            "tthc_aggregator_db_errors",
            "Failed batch transactions (batch left unacknowledged and retried).",
            registry=r,
        )
        self.bad_messages = Counter(
            "tthc_aggregator_bad_messages",
            "Hand-off entries or events that could not be applied (kept in set_aside, logged).",
            registry=r,
        )
        self.conflicts = Counter(
            "tthc_aggregator_conflicting_duplicates",
            "Events whose id was stored with other content (kept, reported; first wins).",
            registry=r,
        )
        self.lost_messages = Gauge(
            "tthc_aggregator_lost_messages",
            "Hand-off messages the broker no longer held when this database needed them: "
            "the figures are incomplete while this is above 0.",
            registry=r,
        )
        self.replayed_messages = Counter(
            "tthc_aggregator_replayed_messages",
            "Hand-off messages replayed from the broker because the database lacked them.",
            registry=r,
        )
        self.batch_size = Histogram(
            "tthc_aggregator_batch_size",
            "Events per committed batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_duration = Histogram(
            "tthc_aggregator_batch_duration_seconds",
            "Time to decode, store, fold and commit one batch.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.checkpoint_duration = Histogram(
            "tthc_aggregator_checkpoint_duration_seconds",
            "SQLite: time to checkpoint the WAL into the database file (off the commit path).",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.wal_pages = Gauge(
            "tthc_aggregator_wal_pages",
            "SQLite: WAL pages not yet checkpointed after the last checkpoint.",
            registry=r,
        )
        self.wal_restarts = Counter(
            "tthc_aggregator_wal_restarts_total",
            "SQLite: RESTART checkpoints run to start a grown WAL over, by outcome (done:"
            " the next commit writes from its start; busy: a reader or the writer held"
            " it past the wait, tried again next round).",
            ["outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "tthc_event_to_figure_latency_seconds",
            "From an event's JetStream publish time to its commit into the figures.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.received = Gauge(
            "tthc_cases_received", "Cases received, all time.", ["unit", "channel"], registry=r
        )
        self.resolved = Gauge(
            "tthc_cases_resolved",
            "Cases resolved, all time, by the channel received through and lateness.",
            ["unit", "channel", "lateness"],
            registry=r,
        )
        self.open = Gauge("tthc_cases_open", "Cases open now.", ["unit"], registry=r)
        self.open_overdue = Gauge(
            "tthc_cases_open_overdue", "Cases open and overdue now.", ["unit"], registry=r
        )
        self.overdue_without_apology = Gauge(
            "tthc_cases_overdue_without_apology",
            "Cases open and overdue now with no apology letter yet.",
            ["unit"],
            registry=r,
        )
        self.awaiting_supplement = Gauge(
            "tthc_cases_awaiting_supplement",
            "Open cases waiting for a supplement now.",
            ["unit"],
            registry=r,
        )
        self.paused = Gauge("tthc_cases_paused", "Open cases paused now.", ["unit"], registry=r)
        self.apologies = Gauge(
            "tthc_apology_letters", "Apology letters, all time.", ["unit"], registry=r
        )
        self.anomalies = Gauge(
            "tthc_case_anomalies",
            "Case anomalies, all time, by kind.",
            ["unit", "kind"],
            registry=r,
        )
        self.last_event = Gauge(
            "tthc_unit_last_event_timestamp_seconds",
            "occurred_at of the newest event of the unit (Unix seconds).",
            ["unit"],
            registry=r,
        )
        self.consumer_pending = Gauge(
            "tthc_consumer_pending",
            "num_pending + num_ack_pending of each consumer on the project's streams, in "
            "messages (on TTHC_ACCEPTED a message is a hand-off batch of events).",
            ["stream", "consumer"],
            registry=r,
        )
        self.consumer_pending_events = Gauge(
            "tthc_consumer_pending_events",
            "Desk events not yet through each consumer of TTHC_EVENTS and TTHC_ACCEPTED "
            "(on TTHC_ACCEPTED a span of TTHC_EVENTS sequences: an upper bound).",
            ["stream", "consumer"],
            registry=r,
        )
        self.last_sweep = Gauge(
            "tthc_aggregator_last_sweep_timestamp_seconds",
            "When the live gauges were last recomputed (Unix seconds).",
            registry=r,
        )
        self.units: set[str] = set()

    def add_units(self, units: Iterable[str]) -> None:
        """Export every label combination of these units (0 until data says otherwise)."""
        for unit in units:
            if unit in self.units:
                continue
            self.units.add(unit)
            for channel in CHANNELS:
                self.received.labels(unit, channel)
                for lateness in LATENESS:
                    self.resolved.labels(unit, channel, lateness)
            for gauge in (
                self.open,
                self.open_overdue,
                self.overdue_without_apology,
                self.awaiting_supplement,
                self.paused,
                self.apologies,
                self.last_event,
            ):
                gauge.labels(unit)
            for kind in ANOMALY_KINDS:
                self.anomalies.labels(unit, kind)

    def set_live(self, live: dict[str, dict[Any, float]]) -> None:
        """Set every live gauge from `live_figures` (combinations absent from it: 0)."""
        live = defaultdict(dict, live)
        self.add_units(live["last_event"])
        for unit in self.units:
            for channel in CHANNELS:
                self.received.labels(unit, channel).set(live["received"].get((unit, channel), 0))
                for lateness in LATENESS:
                    self.resolved.labels(unit, channel, lateness).set(
                        live["resolved"].get((unit, channel, lateness), 0)
                    )
            self.open.labels(unit).set(live["open"].get(unit, 0))
            self.open_overdue.labels(unit).set(live["open_overdue"].get(unit, 0))
            self.overdue_without_apology.labels(unit).set(
                live["overdue_without_apology"].get(unit, 0)
            )
            self.awaiting_supplement.labels(unit).set(live["awaiting_supplement"].get(unit, 0))
            self.paused.labels(unit).set(live["paused"].get(unit, 0))
            self.apologies.labels(unit).set(live["apologies"].get(unit, 0))
            self.last_event.labels(unit).set(live["last_event"].get(unit, 0))
            for kind in ANOMALY_KINDS:
                self.anomalies.labels(unit, kind).set(live["anomalies"].get((unit, kind), 0))
