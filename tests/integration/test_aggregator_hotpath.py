"""The aggregator's hot path after the performance work (issue 6): same results, no scans."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from services.aggregator import store
from services.aggregator.db import make_engine, migrate
from services.aggregator.models import case_state
from services.aggregator.service import decode_message, event_from_handoff
from services.simulator.generate import SimConfig, generate, take
from shared.domain.case import fold_case
from shared.domain.validation import event_from_payload
from tests.aggregator_kit import COMMUNE, COMMUNE_B, batch_message, items, payload


def province_of(commune: str) -> str | None:
    return "01"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """A migrated, empty aggregator database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'agg.sqlite3'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    eng = make_engine(url)
    migrate(eng)
    store.ensure_meta(eng)
    yield eng
    eng.dispose()


def simulated_payloads(n: int) -> list[dict]:
    cfg = SimConfig(
        communes=(COMMUNE, COMMUNE_B),
        start=date(2025, 1, 6),
        end=date(2025, 3, 28),
        now=datetime(2025, 4, 1, tzinfo=UTC),
        seed=11,
        cases_per_day=6,
    )
    return [m.payload for m in take(generate(cfg), n) if m.payload is not None]


def test_handoff_decoding_equals_event_from_payload() -> None:
    """The aggregator's decoder gives the same CaseEvent as event_from_payload, field by field."""
    payloads = simulated_payloads(600)
    payloads.append(
        payload("x1", "apology_sent", "2025-03-02T09:00", new_due_at="2025-03-09T17:00")
    )
    payloads.append(
        payload("x2", "received", "2025-03-02T09:00", due_at="2025-03-09T17:00:00.123-03:30")
    )
    assert any("new_due_at" in p for p in payloads)
    for p in payloads:
        a, b = event_from_handoff(p), event_from_payload(p)
        assert a == b
        assert a.payload is p


def test_decode_message_reads_a_handoff_body() -> None:
    """A hand-off message decodes to its events with their sequences and publish times."""

    class Msg:
        data = batch_message([payload("e1", "received", "2025-03-01T08:00")], 41, 123)

    (item,) = decode_message(Msg())  # type: ignore[arg-type]
    assert (item.event.event_id, item.seq, item.published_ns) == ("e1", 41, 123)


def test_sqlite_case_events_query_probes_the_index(tmp_path: Path) -> None:
    """Loading the events of many cases searches the (commune, case) index, never scans."""
    eng = make_engine(f"sqlite:///{tmp_path / 'plan.sqlite3'}")
    migrate(eng)
    with eng.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + store.case_events_sql("?", 50),
            tuple(x for i in range(50) for x in (COMMUNE, f"C{i}")),
        ).all()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "SEARCH e USING INDEX ix_case_event_case" in details
    assert "SCAN case_event" not in details and "SCAN e" not in details
    eng.dispose()


def test_batches_give_the_fold_of_all_stored_events(engine: Engine) -> None:
    """Cases spread over many batches (more than one key chunk) end as the fold of their events."""
    payloads = simulated_payloads(1500)
    for i in range(0, len(payloads), 250):
        store.apply_batch(engine, items(payloads[i : i + 250], first_seq=i + 1), province_of)
    # A second delivery of everything changes nothing.
    again = store.apply_batch(engine, items(payloads), province_of)
    assert again.applied == [] and again.duplicates == len(payloads)
    events: dict[tuple[str, str], list] = {}
    for p in payloads:
        e = event_from_payload(p)
        events.setdefault(e.case_key, []).append(e)
    with engine.connect() as conn:
        rows = {
            (r["commune_code"], r["case_id"]): dict(r)
            for r in conn.execute(select(case_state)).mappings()
        }
    assert set(rows) == set(events)
    for key, evs in events.items():
        expected = store.row_from_summary(
            fold_case(evs), min(e.occurred_at for e in evs), province_of(key[0])
        )
        assert rows[key] == expected
    report = store.verify(engine, province_of)
    assert report.drift == 0 and report.events == len(payloads)


def test_replace_case_rows_upserts(engine: Engine) -> None:
    """Replacing a case row twice leaves one row with the newest values."""
    (summary_items) = items([payload("r1", "received", "2025-03-01T08:00")])
    summary = fold_case([summary_items[0].event])
    row = store.row_from_summary(summary, summary.received_at, "01")
    with engine.begin() as conn:
        store.replace_case_rows(conn, [row])
        store.replace_case_rows(
            conn, [{**row, "event_count": 7, "summary": orjson.dumps({}).decode()}]
        )
    with engine.connect() as conn:
        got = conn.execute(select(case_state.c.event_count, case_state.c.summary)).all()
    assert got == [(7, "{}")]
