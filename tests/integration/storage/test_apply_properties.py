"""Properties of the stored figures: order, duplicates and crashes change nothing (SQLite).

Hypothesis draws event sets and deliveries of them; the figures the database gives
equal the fold of the set, whatever the order, repeats and crashed-then-replayed batches.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from services.aggregator.storage.apply import apply_batch
from services.aggregator.storage.queries import figures_for
from services.aggregator.storage.schema import case_event, case_state
from shared.domain.case import fold_case
from shared.domain.figures import balance_holds, compute_figures
from shared.ports import FiguresRequest
from shared.registry import load_registry
from tests.kits.aggregator import COMMUNE, items, migrated, payload, reference_verify, us

TYPES = [
    "supplement_requested",
    "supplement_received",
    "paused",
    "resumed",
    "resolved",
    "returned",
    "withdrawn",
    "overdue",
    "apology_sent",
    "received",
]
PERIODS = [
    (us("2025-02-15T00:00"), us("2025-03-15T00:00")),
    (us("2025-03-01T00:00"), us("2025-03-08T00:00")),
    (us("2025-01-01T00:00"), us("2025-12-31T00:00")),
]
NOW = us("2025-04-01T00:00")


@st.composite
def event_sets(draw: st.DrawFn) -> list[dict]:
    """Up to 6 cases of 1-6 events each, mostly well-formed stories, some anomalies."""
    out = []
    for c in range(draw(st.integers(1, 6))):
        case = f"P{c}"
        if draw(st.booleans()) or c == 0:
            day = draw(st.integers(1, 27))
            due = draw(st.integers(1, 27))
            out.append(
                payload(
                    f"{case}-0",
                    "received",
                    f"2025-02-{day:02d}T08:00",
                    case,
                    channel=draw(
                        st.sampled_from(["direct", "postal", "online_partial", "online_full"])
                    ),
                    due_at=f"2025-03-{due:02d}T17:00",
                )
            )
        for i in range(draw(st.integers(0, 5))):
            kind = draw(st.sampled_from(TYPES))
            at = f"2025-{draw(st.sampled_from(['02', '03'])):s}-{draw(st.integers(1, 27)):02d}T{draw(st.integers(7, 17)):02d}:00"
            extra = {"due_at": "2025-03-20T17:00"} if kind == "received" else {}
            out.append(payload(f"{case}-{i + 1}", kind, at, case, **extra))
    return out


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict], list[list[dict]], list[int]]:
    """Events, then batches of a shuffled delivery with repeats, and batches that 'crash'."""
    events = draw(event_sets())
    repeats = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    stream = draw(st.permutations(events + repeats))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    batches, last = [], 0
    for cut in [*cuts, len(stream)]:
        if cut > last:
            batches.append(stream[last:cut])
            last = cut
    crashed = draw(st.lists(st.integers(0, max(0, len(batches) - 1)), max_size=2, unique=True))
    return events, batches, crashed


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_any_delivery_gives_the_figures_of_the_set(case: tuple) -> None:
    """Permuted, repeated and crashed-then-replayed batches give the figures of the event set."""
    events, batches, crashed = case
    province_of = load_registry().province_of
    engine = migrated(f"sqlite:///{Path(tempfile.mkdtemp()) / 'prop.sqlite3'}")
    try:
        for i, batch in enumerate(batches):
            if i in crashed:
                continue  # the transaction died: nothing committed, the messages come back
            apply_batch(engine, items(batch), province_of)
        for i in crashed:  # redelivered after the restart
            apply_batch(engine, items(batches[i]), province_of)
        by_case: dict[tuple[str, str], list] = {}
        for it in items(events):
            by_case.setdefault((it.commune_code, it.case_id), []).append(it.event())
        summaries = [fold_case(evs) for evs in by_case.values()]
        for start, end in PERIODS:
            stored = figures_for(
                engine, load_registry(), FiguresRequest("commune", COMMUNE, start, end, NOW)
            ).figures
            assert stored == compute_figures(summaries, start, end, NOW)
            assert balance_holds(stored)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(case_event)).scalar() == len(
                {e["event_id"] for e in events}
            )
            assert conn.execute(select(func.count()).select_from(case_state)).scalar() == len(
                by_case
            )
        assert reference_verify(engine, province_of).drift == 0
    finally:
        engine.dispose()
