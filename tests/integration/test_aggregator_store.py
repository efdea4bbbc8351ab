"""The aggregator's storage on SQLite and PostgreSQL: batches, idempotency, verify, queries."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, update

from services.aggregator import store
from services.aggregator.db import make_engine, migrate, schema_present
from services.aggregator.models import case_state, metadata
from services.aggregator.queries import figures_for
from shared.domain.case import fold_case
from shared.domain.figures import balance_holds
from shared.ports import FiguresRequest
from shared.registry import load_registry
from tests.aggregator_kit import COMMUNE, COMMUNE_B, PROVINCE, items, payload, story, us

START, END = us("2025-02-15T00:00"), us("2025-03-15T00:00")  # decree09 2025-M03
LATER = us("2025-06-01T00:00")


def province_of(commune: str) -> str | None:
    return load_registry().province_of(commune)


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


def case_rows(engine: Engine) -> dict[tuple[str, str], dict]:
    with engine.connect() as conn:
        return {
            (r["commune_code"], r["case_id"]): dict(r)
            for r in conn.execute(select(case_state)).mappings()
        }


def commune_figures(engine: Engine, commune: str = COMMUNE, now: int = LATER) -> dict:
    reply = figures_for(
        engine, load_registry(), FiguresRequest("commune", commune, START, END, now)
    )
    assert reply.error is None
    return reply.figures


def many_cases(n_cases: int, seed: int = 7) -> list[dict]:
    """A few events per case for n cases over two communes, with some anomalies."""
    rng = random.Random(seed)
    out: list[dict] = []
    for i in range(n_cases):
        commune = COMMUNE if i % 3 else COMMUNE_B
        day = 1 + i % 27
        case = f"HS-{i:05d}"
        out.append(
            payload(
                f"{case}-r",
                "received",
                f"2025-02-{day:02d}T08:00",
                case,
                commune,
                channel=rng.choice(["direct", "postal", "online_partial", "online_full"]),
                due_at=f"2025-03-{day:02d}T17:00",
            )
        )
        if rng.random() < 0.3:
            out.append(
                payload(
                    f"{case}-s", "supplement_requested", f"2025-02-{day:02d}T10:00", case, commune
                )
            )
            out.append(
                payload(
                    f"{case}-sr", "supplement_received", f"2025-02-{day:02d}T15:00", case, commune
                )
            )
        end = rng.random()
        if end < 0.6:
            out.append(
                payload(
                    f"{case}-x",
                    "resolved",
                    f"2025-03-{1 + (day + 3) % 27:02d}T09:00",
                    case,
                    commune,
                )
            )
        elif end < 0.7:
            out.append(payload(f"{case}-x", "withdrawn", f"2025-03-{day:02d}T09:00", case, commune))
        if rng.random() < 0.05:
            out.append(
                payload(f"{case}-dup", "received", f"2025-02-{day:02d}T09:00", case, commune)
            )
    return out


class TestMigrations:
    def test_upgrade_head_matches_models(self, engine: Engine) -> None:
        """`alembic upgrade head` on an empty database gives exactly the models' tables."""
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        assert {"case_event", "case_state", "aggregator_meta"} <= set(
            inspect(engine).get_table_names()
        )

    def test_downgrade_to_0001_and_back_keeps_rows_and_matches_models(self, engine: Engine) -> None:
        """0002 (the figures indexes) goes down to 0001 and up again on a table with rows."""
        from alembic import command

        from services.aggregator.db import alembic_config

        store.apply_batch(engine, items(story()), province_of)
        before = store.counts(engine)
        command.downgrade(alembic_config(engine), "0001")
        names = {i["name"] for i in inspect(engine).get_indexes("case_state")}
        assert {"ix_case_state_received", "ix_case_state_ended"} <= names
        assert not names & {"ix_case_state_plain", "ix_case_state_rich"}
        migrate(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert store.counts(engine) == before

    def test_upgrade_is_idempotent(self, engine: Engine) -> None:
        """Running the migrations again on a migrated database changes nothing."""
        migrate(engine)
        assert schema_present(engine)


class TestBatches:
    def test_batch_twice_changes_nothing(self, engine: Engine) -> None:
        """The same batch delivered twice stores each event once and counts duplicates."""
        first = store.apply_batch(engine, items(story()), province_of)
        rows = case_rows(engine)
        second = store.apply_batch(engine, items(story()), province_of)
        assert len(first.applied) == 13 and first.duplicates == 0
        assert second.applied == [] and second.duplicates == 13
        assert case_rows(engine) == rows
        c = store.counts(engine)
        assert (c["events_stored"], c["duplicates_seen"], c["cases"]) == (13, 13, 7)
        assert c["events_seq_max"] == 13

    def test_repeats_inside_one_batch(self, engine: Engine) -> None:
        """An event repeated inside one batch is stored once and counted as a duplicate."""
        events = story()
        result = store.apply_batch(engine, items(events + events[:3]), province_of)
        assert len(result.applied) == 13 and result.duplicates == 3

    def test_overlapping_and_out_of_order_batches_equal_one_fold(self, engine: Engine) -> None:
        """Overlapping, shuffled batches give the same rows as folding every event at once."""
        events = many_cases(120)
        rng = random.Random(3)
        shuffled = events[:]
        rng.shuffle(shuffled)
        for i in range(0, len(shuffled), 37):
            store.apply_batch(engine, items(shuffled[max(0, i - 10) : i + 37]), province_of)
        expected = {}
        by_case: dict[tuple[str, str], list] = {}
        for it in items(events):
            by_case.setdefault(it.event.case_key, []).append(it.event)
        for key, evs in by_case.items():
            expected[key] = store.row_from_summary(
                fold_case(evs), min(e.occurred_at for e in evs), province_of(key[0])
            )
        assert case_rows(engine) == expected
        assert store.counts(engine)["events_stored"] == len(events)

    def test_late_event_corrects_the_figures(self, engine: Engine) -> None:
        """A `received` arriving after the case's resolution turns an orphan into a counted case."""
        store.apply_batch(
            engine, items([payload("o2", "resolved", "2025-03-01T09:00", "C9")]), province_of
        )
        before = commune_figures(engine)
        assert before["resolved_total"] == 0
        store.apply_batch(
            engine,
            items([payload("o1", "received", "2025-02-20T09:00", "C9", due_at="2025-03-05T17:00")]),
            province_of,
        )
        after = commune_figures(engine)
        assert after["received_total"] == 1 and after["resolved_early"] == 1
        assert balance_holds(after)


class TestVerify:
    def test_no_drift_after_batches(self, engine: Engine) -> None:
        """verify finds zero drift on rows written by batches."""
        store.apply_batch(engine, items(many_cases(60)), province_of)
        report = store.verify(engine, province_of)
        assert report.drift == 0 and report.cases == 60 and report.events > 60

    def test_injected_drift_found_and_repaired(self, engine: Engine) -> None:
        """A tampered row, a deleted row and a stray row are reported, then repaired."""
        store.apply_batch(engine, items(story()), province_of)
        with engine.begin() as conn:
            conn.execute(
                update(case_state).where(case_state.c.case_id == "C1").values(lateness="late")
            )
            conn.execute(case_state.delete().where(case_state.c.case_id == "C2"))
            conn.execute(
                case_state.insert().values(
                    commune_code=COMMUNE,
                    case_id="ZZ",
                    apology_count=0,
                    anomaly_count=0,
                    event_count=1,
                )
            )
        report = store.verify(engine, province_of)
        assert report.drift == 3
        assert (report.missing_rows, report.stale_rows) == (1, 1)
        assert {e["case_id"] for e in report.examples} == {"C1", "C2", "ZZ"}
        repaired = store.verify(engine, province_of, repair=True)
        assert repaired.repaired == 3
        assert store.verify(engine, province_of).drift == 0


class TestQueries:
    def test_story_figures(self, engine: Engine) -> None:
        """The hand-built story gives the figures worked out by hand (decree09 2025-M03)."""
        store.apply_batch(engine, items(story()), province_of)
        f = commune_figures(engine)
        expected = {
            "carried_over": 2,  # C2, C5
            "received_total": 4,  # C1, C3, C4, C7
            "received_direct": 2,
            "received_online_partial": 1,
            "received_online_full": 1,
            "resolved_total": 3,
            "resolved_early": 1,  # C1
            "resolved_on_time": 1,  # C7, on its due day
            "resolved_late": 1,  # C3
            "resolved_in_time_direct": 2,
            "resolved_in_time_land": 1,
            "returned": 1,  # C5
            "open_at_end": 2,  # C2 overdue, C4 waiting
            "open_in_time_at_end": 1,
            "open_overdue_at_end": 1,
            "awaiting_supplement_at_end": 1,
            "became_overdue": 2,  # C2 on 20 Feb, C3 on 1 Mar
            "apologies_sent": 1,
            "apologized_cases": 1,
            "resolved_late_without_apology": 0,
            "open_overdue_without_apology_at_end": 1,
            "on_time_rate": 66.67,
            "online_rate": 50.0,
        }
        assert {k: f[k] for k in expected} == expected
        assert balance_holds(f)

    def test_anomalies_and_watermark(self, engine: Engine) -> None:
        """The orphan is listed with every kind counted, and the watermark names what is in."""
        store.apply_batch(engine, items(story()), province_of)
        reply = figures_for(
            engine, load_registry(), FiguresRequest("commune", COMMUNE, START, END, LATER)
        )
        assert reply.anomalies["counts"]["orphan"] == 1
        assert sum(reply.anomalies["counts"].values()) == 1
        assert len(reply.anomalies["counts"]) == 7
        assert reply.anomalies["cases"] == [
            {
                "case_id": "C6",
                "commune_code": COMMUNE,
                "kind": "orphan",
                "event_id": "e11",
                "occurred_at": "2025-03-01T09:00:00+07:00",
            }
        ]
        assert reply.watermark == {
            "events_stream_seq": 13,
            "accepted_events": 13,
            "last_event_at": "2025-03-14T10:00:00+07:00",
        }

    def test_province_sums_its_communes(self, engine: Engine) -> None:
        """A province's figures are the sums of its communes', with the breakdown on request."""
        store.apply_batch(engine, items(many_cases(90)), province_of)
        reply = figures_for(
            engine, load_registry(), FiguresRequest("province", PROVINCE, START, END, LATER, True)
        )
        a, b = commune_figures(engine, COMMUNE), commune_figures(engine, COMMUNE_B)
        assert reply.figures["received_total"] == a["received_total"] + b["received_total"] > 0
        seen = reply.figures["carried_over"] + reply.figures["received_total"]
        assert seen == 90  # every case received before the end, none ended before the start
        assert reply.communes[COMMUNE] == a and reply.communes[COMMUNE_B] == b
        assert balance_holds(reply.figures)

    def test_overdue_as_time_passes(self, engine: Engine) -> None:
        """An open case becomes overdue in figures asked after its due instant, with no event."""
        store.apply_batch(
            engine,
            items([payload("a1", "received", "2025-02-20T09:00", "A", due_at="2025-03-03T17:00")]),
            province_of,
        )
        early = commune_figures(engine, now=us("2025-03-02T12:00"))
        late = commune_figures(engine, now=us("2025-03-04T12:00"))
        assert (early["open_overdue_at_end"], late["open_overdue_at_end"]) == (0, 1)

    def test_unknown_units_are_errors(self, engine: Engine) -> None:
        """An unknown commune or province is an error in the reply, not an exception."""
        reply = figures_for(
            engine, load_registry(), FiguresRequest("commune", "99999", START, END, LATER)
        )
        assert reply.error == "unknown commune 99999"
        reply = figures_for(
            engine, load_registry(), FiguresRequest("province", "99", START, END, LATER)
        )
        assert reply.error == "unknown province 99"


def test_batch_reports_the_time_of_each_step(engine: Engine) -> None:
    """The service's slow-batch warning reads these: every step, cumulative, in order."""
    result = store.apply_batch(engine, items(story()), load_registry(None).province_of)
    steps = ["begin", "insert", "load", "fold", "upsert", "meta", "commit"]
    assert list(result.phases) == steps
    times = [result.phases[s] for s in steps]
    assert all(t >= 0 for t in times) and times == sorted(times)
    again = store.apply_batch(engine, items(story()), load_registry(None).province_of)
    assert again.duplicates == len(story()) and "insert" not in again.phases  # nothing new
