"""The figures read side (storage/queries.py) equals the domain's fold over every case,
per agency and field too, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, bindparam, func, select, text

from services.aggregator.rebuild import rebuild
from services.aggregator.recovery import record_lost
from services.aggregator.storage.apply import apply_batch
from services.aggregator.storage.figcache import cache_of
from services.aggregator.storage.meta import Position, read_position
from services.aggregator.storage.queries import figures_for
from services.aggregator.storage.rows import case_row
from services.aggregator.storage.schema import (
    ENDED_SPAN_SHIFT,
    ENDED_SPAN_SQL,
    ENDED_SPAN_WIDTH,
    OPEN_INSTANT,
    case_state,
    ended_span,
)
from services.aggregator.storage.sqlrules import plain_groups_sql, rich_cases_sql
from services.aggregator.storage.statements import replace_case_rows
from shared.domain.events import ALL_AGENCIES
from shared.domain.figures import (
    REPORT_KINDS,
    anomaly_report,
    balance_holds,
    compute_breakdown,
    procedure_counts,
    sum_anomaly_reports,
    sum_figures,
)
from shared.domain.periods import parse_period
from shared.ports import FiguresRequest
from shared.registry import load_registry
from shared.subjects import ACCEPTED_STREAM
from tests.kits.aggregator import (
    COMMUNE,
    COMMUNE_B,
    PROVINCE,
    items,
    many_cases,
    migrated,
    payload,
    story,
    us,
)
from tests.kits.figures import (
    DAY,
    T0,
    orderly_cases,
    pick_origin,
    random_cases,
    random_window,
)

REGISTRY = load_registry()
COMMUNES = REGISTRY.communes_of(PROVINCE)[:4]
START, END = us("2025-02-15T00:00"), us("2025-03-15T00:00")  # decree09 2025-M03
LATER = us("2025-06-01T00:00")
province_of = REGISTRY.province_of


def commune_reply(engine: Engine, commune: str = COMMUNE, now: int = LATER, agency: str = "ubnd"):
    reply = figures_for(
        engine, REGISTRY, FiguresRequest("commune", commune, START, END, now, agency=agency)
    )
    assert reply.error is None
    return reply


def fill(
    engine: Engine, seed: int, orderly: bool = False, origins: tuple[int, ...] = (T0,)
) -> list:
    """Random cases of four communes written as case rows; `orderly`: well-formed stories
    (waits, letters, ends; no anomaly) instead; `origins`: when the random stories start."""
    rng = random.Random(seed)
    if orderly:
        cases = orderly_cases(rng, COMMUNES, 60)
    else:
        cases = random_cases(rng, COMMUNES, 60, origins)
    with engine.begin() as conn:
        replace_case_rows(conn, [case_row(c, first, PROVINCE) for c, first in cases])
    return [c for c, _ in cases]


def check(
    engine: Engine, cases: list, rng: random.Random, origins: tuple[int, ...] = (T0,)
) -> None:
    """Every agency's figures, breakdowns, procedures and anomalies equal the fold's."""
    for _ in range(4):
        start, end, now = random_window(rng, pick_origin(rng, origins))
        e = min(end, now)
        s = min(start, e)
        for agency in ("ubnd", "cong_an", ALL_AGENCIES):
            mine = [c for c in cases if agency == ALL_AGENCIES or c.agency == agency]
            by_commune = {code: [c for c in cases if c.commune_code == code] for code in COMMUNES}
            expected = {
                code: compute_breakdown(cs, start, end, now, agency)
                for code, cs in by_commune.items()
            }
            reports = {
                code: anomaly_report([c for c in cs if c in mine], s, e)
                for code, cs in by_commune.items()
            }
            for code in COMMUNES:
                ask = FiguresRequest("commune", code, start, end, now, agency=agency)
                reply = figures_for(engine, REGISTRY, ask)
                assert reply.figures == expected[code].figures
                assert reply.by_agency == expected[code].by_agency
                assert reply.by_field == expected[code].by_field
                assert reply.anomalies == reports[code]
                mine_here = [c for c in by_commune[code] if c in mine]
                assert reply.procedures == procedure_counts(mine_here, start, end, now)
            ask = FiguresRequest("province", PROVINCE, start, end, now, True, agency)
            reply = figures_for(engine, REGISTRY, ask)
            assert reply.figures == sum_figures(b.figures for b in expected.values())
            assert reply.by_field == compute_breakdown(cases, start, end, now, agency).by_field
            assert reply.anomalies == sum_anomaly_reports(reports.values())
            assert {code: reply.communes[code] for code in COMMUNES} == {
                code: b.figures for code, b in expected.items()
            }
            assert reply.procedures == procedure_counts(mine, start, end, now)


@pytest.mark.parametrize("seed", range(4))
def test_figures_equal_the_fold(engine: Engine, seed: int) -> None:
    """Commune and province figures, per agency and field, and anomalies equal the fold."""
    cases = fill(engine, seed)
    check(engine, cases, random.Random(seed))


# Stories starting years apart, some just before a Decree 09 year ends (and an ended
# span, on 14 December local time) so that they end in the next span.
YEARS_APART = tuple(T0 + k * 365 * DAY + shift for k in range(-3, 3) for shift in (0, -20 * DAY))


@pytest.mark.parametrize("seed", range(3))
def test_figures_over_years_of_history_equal_the_fold(engine: Engine, seed: int) -> None:
    """A window reads the plain cases from its start's ended span on (the cases it sees
    ended in that span or later, or are open): over six years of stories, windows at
    any of them, and across a span's end, the figures still equal the fold."""
    cases = fill(engine, 100 + seed, origins=YEARS_APART)
    spans = {ended_span(c.ended_at) for c in cases if c.ended_at is not None}
    assert len(spans) >= 6  # the stories do cover several spans
    check(engine, cases, random.Random(seed), origins=YEARS_APART)


@pytest.mark.parametrize(
    "instant",
    [
        0,
        1,
        -1,
        -ENDED_SPAN_SHIFT,
        -ENDED_SPAN_SHIFT - 1,
        -ENDED_SPAN_SHIFT + 1,
        T0,
        T0 - 1,
        -T0,
        ENDED_SPAN_WIDTH - ENDED_SPAN_SHIFT,
        ENDED_SPAN_WIDTH - ENDED_SPAN_SHIFT - 1,
        -3 * ENDED_SPAN_WIDTH - ENDED_SPAN_SHIFT,
        2**61,
        -(2**61),
        None,
    ],
)
def test_ended_span_is_computed_as_the_database_does(engine: Engine, instant: int | None) -> None:
    """`ended_span` (the query's `:span`) equals the index's expression in SQL, negative
    instants included (both databases truncate towards zero, Python floors); open cases
    come after every span."""
    with engine.connect() as conn:
        got = conn.execute(
            text(f"SELECT {ENDED_SPAN_SQL} FROM (SELECT CAST(:t AS BIGINT) AS ended_at) AS c"),
            {"t": instant},
        ).scalar_one()
    assert got == ended_span(OPEN_INSTANT if instant is None else instant)
    if instant is None:
        assert got > ended_span(2**61)


def test_ended_spans_start_on_the_last_day_of_a_decree09_year() -> None:
    """Every span from 2000 to 2100 starts on 14 December local time, the last day of a
    Decree 09 year (15 December to 14 December): each of its periods starts in the span
    of its year, and only the cases of that last day are in the next one."""
    local = datetime.timezone(datetime.timedelta(hours=7))

    def at(*when: int) -> int:
        return int(datetime.datetime(*when, tzinfo=local).timestamp()) * 1_000_000

    for year in range(2000, 2100):
        span = ended_span(at(year, 12, 15))
        assert ended_span(at(year, 12, 14) - 1) == span - 1, year
        assert ended_span(at(year + 1, 12, 14) - 1) == span, year
        for label in (f"{year + 1}-M01", f"{year + 1}-Q3", f"{year + 1}-M12", f"{year + 1}"):
            period = parse_period(label, "decree09")
            assert ended_span(period.start_instant) == span, label


def waited_and_ended(engine: Engine) -> int:
    """How many stored cases only waited (no letter, no anomaly) and have ended."""
    c = case_state.c
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(
                c.summary.is_not(None),
                c.apology_count == 0,
                c.anomaly_count == 0,
                c.ended_at.is_not(None),
            )
        ).scalar_one()


@pytest.mark.parametrize("seed", range(3))
def test_waits_and_letters_equal_the_fold(engine: Engine, seed: int) -> None:
    """Well-formed stories with waits and letters (counted by group once ended): equal too."""
    cases = fill(engine, 200 + seed, orderly=True)
    assert waited_and_ended(engine) > 10
    check(engine, cases, random.Random(seed))


def test_story_figures(engine: Engine) -> None:
    """The hand-built story gives the figures worked out by hand (decree09 2025-M03)."""
    apply_batch(engine, items(story()), province_of)
    f = commune_reply(engine).figures
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


def test_agencies_are_apart_and_add_up(engine: Engine) -> None:
    """Cases of other agencies at the desk are not in the People's Committee's figures;
    `all` is the sum of `by_agency`; `by_field` adds up to the figures."""
    police = [
        payload(f"p{i}", "received", "2025-02-20T09:00", f"P{i}", agency="cong_an",
                channel="online_full", field="cu_tru", due_at="2025-02-25T17:00")
        for i in range(3)
    ]  # fmt: skip
    apply_batch(engine, items(story() + police), province_of)
    ubnd, everything = commune_reply(engine), commune_reply(engine, agency=ALL_AGENCIES)
    assert ubnd.figures["received_total"] == 4
    assert everything.figures["received_total"] == 7
    assert set(everything.by_agency) == {"ubnd", "cong_an"}
    assert everything.figures == sum_figures(everything.by_agency.values())
    assert sum_figures(ubnd.by_field.values()) == ubnd.figures
    assert set(ubnd.by_field) == {"dat_dai", "unspecified"}
    assert commune_reply(engine, agency="cong_an").by_field["cu_tru"]["received_online_full"] == 3


def test_anomalies_and_watermark(engine: Engine) -> None:
    """The orphan is listed with every kind counted, and the watermark names what is in."""
    apply_batch(engine, items(story()), province_of)
    reply = commune_reply(engine)
    assert reply.anomalies["counts"]["orphan"] == 1
    assert sum(reply.anomalies["counts"].values()) == 1
    assert len(reply.anomalies["counts"]) == len(REPORT_KINDS)
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
    assert reply.completeness["complete"] is True


def test_conflicting_duplicates_are_listed_as_anomalies(engine: Engine) -> None:
    """An event id stored with other content shows in the period's anomalies."""
    first = payload("k1", "received", "2025-02-20T09:00", "K")
    apply_batch(engine, items([first]), province_of)
    apply_batch(engine, items([dict(first, channel="postal")], first_seq=2), province_of)
    reply = commune_reply(engine)
    assert reply.anomalies["counts"]["conflicting_duplicate"] == 1
    assert reply.anomalies["cases"][0]["event_id"] == "k1"


def test_province_sums_its_communes(engine: Engine) -> None:
    """A province's figures are the sums of its communes', with the breakdown on request."""
    apply_batch(engine, items(many_cases(90)), province_of)
    reply = figures_for(
        engine, REGISTRY, FiguresRequest("province", PROVINCE, START, END, LATER, True)
    )
    a, b = commune_reply(engine, COMMUNE).figures, commune_reply(engine, COMMUNE_B).figures
    assert reply.figures["received_total"] == a["received_total"] + b["received_total"] > 0
    seen = reply.figures["carried_over"] + reply.figures["received_total"]
    assert seen == 90  # every case received before the end, none ended before the start
    assert reply.communes[COMMUNE] == a and reply.communes[COMMUNE_B] == b
    assert balance_holds(reply.figures)


def test_overdue_as_time_passes(engine: Engine) -> None:
    """An open case becomes overdue in figures asked after its due instant, with no event."""
    apply_batch(
        engine,
        items([payload("a1", "received", "2025-02-20T09:00", "A", due_at="2025-03-03T17:00")]),
        province_of,
    )
    early = commune_reply(engine, now=us("2025-03-02T12:00")).figures
    late = commune_reply(engine, now=us("2025-03-04T12:00")).figures
    assert (early["open_overdue_at_end"], late["open_overdue_at_end"]) == (0, 1)


def test_unknown_units_are_errors(engine: Engine) -> None:
    """An unknown commune or province is an error in the reply, not an exception."""
    reply = figures_for(engine, REGISTRY, FiguresRequest("commune", "99999", START, END, LATER))
    assert reply.error == "unknown commune 99999"
    reply = figures_for(engine, REGISTRY, FiguresRequest("province", "99", START, END, LATER))
    assert reply.error == "unknown province 99"


def test_sqlite_plans_read_the_partial_indexes(tmp_path: Path) -> None:
    """SQLite counts plain cases from the covering index in group order (no sort of the
    rows, no table look-up), from the window's start span on, and finds the cases it
    rebuilds through the small rich-case index (from the start span on too) and the
    anomalous ones through theirs."""
    engine = migrated(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    try:
        fill(engine, 1)
        params = {"communes": list(COMMUNES), "start": 1, "end": 2, "span": 0}
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            explain = text("EXPLAIN QUERY PLAN " + plain_groups_sql("sqlite").text)
            plan = [
                r[-1]
                for r in conn.execute(
                    explain.bindparams(bindparam("communes", expanding=True)), params
                )
            ]
            rich = text("EXPLAIN QUERY PLAN " + rich_cases_sql("*"))
            rich_plan = [
                r[-1]
                for r in conn.execute(
                    rich.bindparams(bindparam("communes", expanding=True)), params
                )
            ]
    finally:
        engine.dispose()
    plain_part = plan[: plan.index("UNION ALL")]  # the plain cases' half of the query
    assert any("COVERING INDEX ix_case_state_plain" in line for line in plain_part), plan
    # from the window's start span on: a range on the index's second column, the span
    assert any("(commune_code=? AND <expr>>?)" in line for line in plain_part), plan
    # read in group order: no sort (a group's distinct procedure codes have a small one)
    assert not any("TEMP B-TREE FOR GROUP BY" in line for line in plain_part), plan
    waited_part = plan[plan.index("UNION ALL") :]  # the cases that only waited and ended
    assert any("ix_case_state_rich (commune_code=? AND <expr>>?)" in x for x in waited_part), plan
    # the other cases: without anomalies from the start span on, then the anomalous
    rich_part, anomalous_part = (
        rich_plan[: rich_plan.index("UNION ALL")],
        rich_plan[rich_plan.index("UNION ALL") :],
    )
    assert any("ix_case_state_rich (commune_code=? AND <expr>>?)" in x for x in rich_part), (
        rich_plan
    )
    assert any("ix_case_state_anomalous (commune_code=?)" in x for x in anomalous_part), rich_plan


def test_cache_reuses_communes_and_follows_writes(engine: Engine) -> None:
    """Cached commune data serve a province; a batch or a rebuild invalidates them."""
    fill(engine, 3)
    start, end, now = random_window(random.Random(3))
    ask = FiguresRequest("province", PROVINCE, start, end, now, with_communes=True)
    cold = figures_for(engine, REGISTRY, ask, use_cache=False)
    for code in COMMUNES:
        reply = figures_for(engine, REGISTRY, FiguresRequest("commune", code, start, end, now))
        reply.figures["received_total"] = -1  # a caller changing its reply
    cache = cache_of(engine)
    assert {k[0] for k in cache.entries} == set(COMMUNES)
    assert figures_for(engine, REGISTRY, ask) == cold
    version = cache.version
    # A batch (new case in the first commune) changes the meta table: fresh figures.
    day = "2025-01-20T09:00"
    new = payload("cache-1", "received", day, "NEWCASE", COMMUNES[0], due_at=day)
    apply_batch(engine, items([new]), province_of)
    after = figures_for(engine, REGISTRY, ask)
    assert cache.version != version
    assert after == figures_for(engine, REGISTRY, ask, use_cache=False)
    # A rebuild (rows rewritten outside batches) bumps the version too.
    version = cache.version
    rebuild(engine, province_of)
    figures_for(engine, REGISTRY, ask)
    assert cache.version != version
    # Recovery recording lost messages moves it too: the next cached reply says so.
    assert figures_for(engine, REGISTRY, ask).completeness["complete"]
    with engine.connect() as conn:
        base = read_position(conn, ACCEPTED_STREAM)
    record_lost(engine, [(900, 902)], base or Position(ACCEPTED_STREAM, 1))
    lost = figures_for(engine, REGISTRY, ask).completeness
    assert (lost["complete"], lost["missing_messages"]) == (False, 3)
    assert lost == figures_for(engine, REGISTRY, ask, use_cache=False).completeness
