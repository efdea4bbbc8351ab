"""A batch applied exactly once (storage/apply.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from services.aggregator.storage import apply
from services.aggregator.storage.apply import SetAside, apply_batch
from services.aggregator.storage.engine import make_engine, migrate
from services.aggregator.storage.meta import Applied, counts, read_position
from services.aggregator.storage.queries import figures_for
from services.aggregator.storage.rows import STATE_COLUMNS, fold_row
from services.aggregator.storage.schema import case_state, conflicting_event, set_aside
from services.aggregator.storage.statements import case_events_sql
from services.simulator.generate import SimConfig, generate, take
from shared.domain.figures import balance_holds
from shared.ports import FiguresRequest
from shared.registry import load_registry
from tests.kits.aggregator import (
    COMMUNE,
    COMMUNE_B,
    event_of,
    items,
    many_cases,
    migrated,
    payload,
    reference_verify,
    story,
    us,
)

START, END = us("2025-02-15T00:00"), us("2025-03-15T00:00")  # decree09 2025-M03
LATER = us("2025-06-01T00:00")
province_of = load_registry().province_of


def case_rows(engine: Engine) -> dict[tuple[str, str], tuple]:
    columns = [case_state.c[c] for c in STATE_COLUMNS]
    with engine.connect() as conn:
        return {(r[0], r[1]): tuple(r) for r in conn.execute(select(*columns))}


def expected_rows(payloads: list[dict]) -> dict[tuple[str, str], tuple]:
    """Every case's row as a fresh fold of all its (distinct) events gives it."""
    by_case: dict[tuple[str, str], dict] = {}
    for e in items(payloads):
        by_case.setdefault((e.commune_code, e.case_id), {})[e.event_id] = e.event()
    return {
        key: fold_row(list(evs.values()), province_of(key[0]))[1] for key, evs in by_case.items()
    }


def commune_figures(engine: Engine, commune: str = COMMUNE, now: int = LATER) -> dict:
    reply = figures_for(
        engine, load_registry(), FiguresRequest("commune", commune, START, END, now)
    )
    assert reply.error is None
    return reply.figures


def test_batch_twice_changes_nothing(engine: Engine) -> None:
    """The same batch delivered twice stores each event once and counts duplicates."""
    first = apply_batch(engine, items(story()), province_of)
    rows = case_rows(engine)
    second = apply_batch(engine, items(story()), province_of)
    assert len(first.applied) == 13 and first.duplicates == 0
    assert second.applied == [] and second.duplicates == 13
    assert case_rows(engine) == rows
    c = counts(engine)
    assert (c["events_stored"], c["duplicates_seen"], c["cases"]) == (13, 13, 7)
    assert c["events_seq_max"] == 13


def test_repeats_inside_one_batch(engine: Engine) -> None:
    """An event repeated inside one batch is stored once and counted as a duplicate."""
    events = story()
    result = apply_batch(engine, items(events + events[:3]), province_of)
    assert len(result.applied) == 13 and result.duplicates == 3


def test_overlapping_and_out_of_order_batches_equal_one_fold(engine: Engine) -> None:
    """Overlapping, shuffled batches give the same rows as folding every event at once."""
    events = many_cases(120)
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    for i in range(0, len(shuffled), 37):
        apply_batch(engine, items(shuffled[max(0, i - 10) : i + 37]), province_of)
    assert case_rows(engine) == expected_rows(events)
    assert counts(engine)["events_stored"] == len(events)


def test_late_event_corrects_the_figures(engine: Engine) -> None:
    """A `received` arriving after the case's resolution turns an orphan into a counted case."""
    apply_batch(engine, items([payload("o2", "resolved", "2025-03-01T09:00", "C9")]), province_of)
    assert commune_figures(engine)["resolved_total"] == 0
    apply_batch(
        engine,
        items([payload("o1", "received", "2025-02-20T09:00", "C9", due_at="2025-03-05T17:00")]),
        province_of,
    )
    after = commune_figures(engine)
    assert after["received_total"] == 1 and after["resolved_early"] == 1
    assert balance_holds(after)


def test_batch_reports_the_time_of_each_step(engine: Engine) -> None:
    """The service's slow-batch warning reads these: every step, cumulative, in order."""
    result = apply_batch(engine, items(story()), province_of)
    steps = ["begin", "load", "insert", "fold", "upsert", "meta", "commit"]
    assert list(result.phases) == steps
    times = [result.phases[s] for s in steps]
    assert all(t >= 0 for t in times) and times == sorted(times)
    again = apply_batch(engine, items(story()), province_of)
    assert again.duplicates == len(story()) and "insert" not in again.phases  # nothing new


def test_failed_batch_changes_nothing(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch failing after its events were inserted leaves no event, row or counter behind."""
    evs = [
        payload("f1", "received", "2025-02-20T09:00", "F"),
        payload("f2", "resolved", "2025-03-01T09:00", "F"),
    ]

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(apply, "replace_case_rows", boom)
        with pytest.raises(RuntimeError):
            apply_batch(engine, items(evs), province_of)
    assert counts(engine)["events_stored"] == 0 and counts(engine)["cases"] == 0
    result = apply_batch(engine, items(evs), province_of)
    assert len(result.applied) == 2 and result.duplicates == 0


def test_same_id_other_content_is_kept_as_a_conflict(engine: Engine) -> None:
    """An event id stored before with other content is kept whole and counted, never dropped
    silently; the first stored still wins for the figures. The same content re-serialised
    is a plain duplicate."""
    first = payload("k1", "received", "2025-02-20T09:00", "K", due_at="2025-03-05T17:00")
    apply_batch(engine, items([first]), province_of)
    before = commune_figures(engine)
    changed = dict(first, due_at="2025-02-21T17:00:00+07:00")
    resent = dict(reversed(list(first.items())))
    result = apply_batch(engine, [event_of(changed, 2), event_of(resent, 3)], province_of)
    assert (result.conflicts, result.duplicates, result.applied) == (1, 1, [])
    assert commune_figures(engine) == before
    with engine.connect() as conn:
        kept = conn.execute(select(conflicting_event.c.event_id, conflicting_event.c.payload)).all()
    assert kept == [("k1", orjson.dumps(changed).decode())]
    assert counts(engine)["conflicts_seen"] == 1
    inside = apply_batch(
        engine, [event_of(payload("k2", "resolved", "2025-03-01T09:00", "K"), 4),
                 event_of(payload("k2", "withdrawn", "2025-03-01T09:00", "K"), 5)], province_of
    )  # fmt: skip
    assert (len(inside.applied), inside.conflicts) == (1, 1)


def test_set_aside_items_are_kept_as_bytes(engine: Engine) -> None:
    """What could not be read is stored as it is, in the same transaction, and counted."""
    aside = [SetAside("unreadable_handoff", "entry 3: bad", b"\x00\xffraw", accepted_seq=7)]
    apply_batch(engine, items(story()), province_of, set_aside=aside)
    with engine.connect() as conn:
        rows = conn.execute(
            select(set_aside.c.kind, set_aside.c.accepted_seq, set_aside.c.data)
        ).all()
    assert rows == [("unreadable_handoff", 7, b"\x00\xffraw")]
    assert counts(engine)["set_aside"] == 1


def test_applied_positions_are_recorded_with_the_batch(engine: Engine) -> None:
    """The hand-off messages a batch applies join the applied ranges in its transaction."""
    for seqs in ((1, 2), (5,), (3, 4), (4,)):
        apply_batch(engine, [], province_of, applied=Applied("TTHC_ACCEPTED", "inc-1", seqs))
    with engine.connect() as conn:
        position = read_position(conn, "TTHC_ACCEPTED")
    assert position is not None and position.applied == [(1, 5)] and position.lost == []
    apply_batch(engine, [], province_of, applied=Applied("TTHC_ACCEPTED", "inc-2", (1,)))
    with engine.connect() as conn:
        again = read_position(conn, "TTHC_ACCEPTED")
    assert again is not None and (again.incarnation, again.applied) == ("inc-2", [(1, 1)])


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


def test_batches_give_the_fold_of_all_stored_events(engine: Engine) -> None:
    """Cases spread over many batches (more than one key chunk) end as the fold of their events."""
    payloads = simulated_payloads(1500)
    for i in range(0, len(payloads), 250):
        apply_batch(engine, items(payloads[i : i + 250], first_seq=i + 1), province_of)
    again = apply_batch(engine, items(payloads), province_of)  # a second delivery of everything
    assert again.applied == [] and again.duplicates == len(payloads)
    assert case_rows(engine) == expected_rows(payloads)
    report = reference_verify(engine, province_of)
    assert report.drift == 0 and report.events == len(payloads)


def test_replace_case_rows_upserts(engine: Engine) -> None:
    """Replacing a case row twice leaves one row with the newest values."""
    (e,) = items([payload("r1", "received", "2025-03-01T08:00")])
    _, row = fold_row([e.event()], "01")
    changed = list(row)
    changed[STATE_COLUMNS.index("event_count")] = 7
    changed[STATE_COLUMNS.index("summary")] = orjson.dumps({}).decode()
    with engine.begin() as conn:
        apply.replace_case_rows(conn, [row])
        apply.replace_case_rows(conn, [tuple(changed)])
    with engine.connect() as conn:
        got = conn.execute(select(case_state.c.event_count, case_state.c.summary)).all()
    assert got == [(7, "{}")]


def test_sqlite_case_events_query_probes_the_index(tmp_path: Path) -> None:
    """Loading the events of many cases searches the (commune, case) index, never scans."""
    eng = make_engine(f"sqlite:///{tmp_path / 'plan.sqlite3'}")
    migrate(eng)
    with eng.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + case_events_sql("sqlite", 50),
            tuple(x for i in range(50) for x in (COMMUNE, f"C{i}")),
        ).all()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "SEARCH e USING INDEX ix_case_event_case" in details
    assert "SCAN case_event" not in details and "SCAN e" not in details
    eng.dispose()


@pytest.mark.postgres
def test_postgres_plans_each_batch_for_the_table_as_it_is(fresh_postgres_url: str) -> None:
    """A statement prepared while `case_event` was empty still probes the index once the
    table has grown: psycopg prepares after five runs, and a generic plan kept from then
    scanned the whole table for every batch (8 s a batch within a minute at 2,000/s)."""
    from services.aggregator.storage.statements import load_case_events

    eng = migrated(fresh_postgres_url)
    keys = [(COMMUNE, f"C{i}") for i in range(20)]
    with eng.connect() as conn:
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
        for _ in range(8):  # prepared by psycopg, planned while the table is empty
            assert load_case_events(conn, keys) == {k: [] for k in keys}
        conn.exec_driver_sql(
            "INSERT INTO case_event (event_id, commune_code, case_id, event_type, occurred_at,"
            " stored_at, payload) SELECT 'e' || g, %s, 'K' || (g / 3), 'received', g, g, '{}'"
            " FROM generate_series(1, 60000) AS g",
            (COMMUNE,),
        )
        name = conn.exec_driver_sql(
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE '%%unnest%%'"
        ).scalar_one()
        communes, cases = (", ".join(f"'{k[i]}'" for k in keys) for i in (0, 1))
        plan = conn.exec_driver_sql(  # EXPLAIN takes no parameters: the keys as literals
            f"EXPLAIN EXECUTE {name}(ARRAY[{communes}]::varchar[], ARRAY[{cases}]::varchar[])"
        ).all()
        conn.rollback()
    text = " | ".join(row[0] for row in plan)
    assert "Index" in text and "Seq Scan on case_event" not in text, text
    eng.dispose()
