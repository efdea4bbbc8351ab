"""Figures queries equal `compute_figures` over every case, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import bindparam, func, insert, select, text

from services.aggregator import store
from services.aggregator.db import make_engine, migrate
from services.aggregator.models import case_state
from services.aggregator.queries import figures_for, load_cases
from shared.domain.figures import anomaly_report, compute_figures, sum_anomaly_reports, sum_figures
from shared.ports import FiguresRequest
from shared.registry import load_registry
from tests.figureskit import orderly_cases, random_cases, random_window

REGISTRY = load_registry()
PROVINCE = "01"
COMMUNES = REGISTRY.communes_of(PROVINCE)[:4]


def filled(url: str, seed: int, orderly: bool = False):
    """An engine on a migrated database holding random cases of four communes.

    `orderly`: well-formed stories (waits, letters, ends; no anomaly) instead.
    """
    engine = make_engine(url)
    migrate(engine)
    store.ensure_meta(engine)
    rng = random.Random(seed)
    cases = (orderly_cases if orderly else random_cases)(rng, COMMUNES, 60)
    with engine.begin() as conn:
        conn.execute(case_state.delete())
        rows = [store.row_from_summary(c, first, PROVINCE) for c, first in cases]
        if rows:
            conn.execute(insert(case_state), rows)
    return engine, [c for c, _ in cases]


def check(engine, cases, rng: random.Random) -> None:
    for _ in range(6):
        start, end, now = random_window(rng)
        e = min(end, now)
        s = min(start, e)
        by_commune = {code: [c for c in cases if c.commune_code == code] for code in COMMUNES}
        expected = {code: compute_figures(cs, start, end, now) for code, cs in by_commune.items()}
        reports = {code: anomaly_report(cs, s, e) for code, cs in by_commune.items()}
        for code in COMMUNES:
            reply = figures_for(engine, REGISTRY, FiguresRequest("commune", code, start, end, now))
            assert reply.figures == expected[code]
            assert reply.anomalies == reports[code]
        reply = figures_for(
            engine,
            REGISTRY,
            FiguresRequest("province", PROVINCE, start, end, now, with_communes=True),
        )
        assert reply.figures == sum_figures(expected.values())
        assert reply.anomalies == sum_anomaly_reports(reports.values())
        assert {code: reply.communes[code] for code in COMMUNES} == expected
        loaded = load_cases(engine, COMMUNES, s, e)
        assert compute_figures(loaded[COMMUNES[0]], start, end, now) == expected[COMMUNES[0]]


@pytest.mark.parametrize("seed", range(8))
def test_sqlite_figures_equal_compute_figures(tmp_path: Path, seed: int) -> None:
    """On SQLite, commune and province figures and anomalies equal the pure computation."""
    engine, cases = filled(f"sqlite:///{tmp_path / 'q.sqlite3'}", seed)
    try:
        check(engine, cases, random.Random(seed))
    finally:
        engine.dispose()


@pytest.mark.parametrize("seed", range(4))
def test_postgres_figures_equal_compute_figures(fresh_postgres_url: str, seed: int) -> None:
    """On PostgreSQL, commune and province figures and anomalies equal the pure computation."""
    engine, cases = filled(fresh_postgres_url, 100 + seed)
    try:
        check(engine, cases, random.Random(seed))
    finally:
        engine.dispose()


def waited_and_ended(engine) -> int:
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


@pytest.mark.parametrize("seed", range(6))
def test_sqlite_waits_and_letters_equal_compute_figures(tmp_path: Path, seed: int) -> None:
    """Well-formed stories with waits and letters (counted by group once ended): equal too."""
    engine, cases = filled(f"sqlite:///{tmp_path / 'w.sqlite3'}", 200 + seed, orderly=True)
    try:
        assert waited_and_ended(engine) > 10
        check(engine, cases, random.Random(seed))
    finally:
        engine.dispose()


@pytest.mark.parametrize("seed", range(3))
def test_postgres_waits_and_letters_equal_compute_figures(
    fresh_postgres_url: str, seed: int
) -> None:
    """The same on PostgreSQL."""
    engine, cases = filled(fresh_postgres_url, 300 + seed, orderly=True)
    try:
        assert waited_and_ended(engine) > 10
        check(engine, cases, random.Random(seed))
    finally:
        engine.dispose()


def test_sqlite_plans_read_the_partial_indexes(tmp_path: Path) -> None:
    """SQLite counts plain cases from the covering index in group order (no sort, no
    table look-up) and finds the cases it rebuilds through the small rich-case index."""
    from sqlalchemy.dialects import sqlite

    from services.aggregator.queries import _PLAIN_GROUPS, _rich_cases_stmt

    engine, _ = filled(f"sqlite:///{tmp_path / 'p.sqlite3'}", 1)
    try:
        params = {"communes": list(COMMUNES), "start": 1, "end": 2}
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            explain = text("EXPLAIN QUERY PLAN " + _PLAIN_GROUPS.text)
            explain = explain.bindparams(bindparam("communes", expanding=True))
            plan = [r[-1] for r in conn.execute(explain, params)]
            rich = _rich_cases_stmt(COMMUNES, 1, 2).compile(
                dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
            )
            rich_plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {rich}")]
    finally:
        engine.dispose()
    plain_part = plan[: plan.index("UNION ALL")]  # the plain cases' half of the query
    assert any("COVERING INDEX ix_case_state_plain" in line for line in plain_part), plan
    assert not any("TEMP B-TREE" in line for line in plain_part), plan
    assert any("ix_case_state_rich" in line for line in rich_plan), rich_plan


def test_cache_reuses_communes_and_follows_writes(tmp_path: Path) -> None:
    """Cached commune results serve a province; a batch or a rebuild invalidates them."""
    from services.aggregator.queries import cache_of
    from services.aggregator.rebuild import rebuild
    from tests.aggregator_kit import items, payload

    engine, _ = filled(f"sqlite:///{tmp_path / 'c.sqlite3'}", 3)
    try:
        rng = random.Random(3)
        start, end, now = random_window(rng)
        ask = FiguresRequest("province", PROVINCE, start, end, now, with_communes=True)
        cold = figures_for(engine, REGISTRY, ask, use_cache=False)
        for code in COMMUNES:
            reply = figures_for(engine, REGISTRY, FiguresRequest("commune", code, start, end, now))
            reply.figures["received_total"] = -1  # a caller changing its reply
        cache = cache_of(engine)
        assert {k[0] for k in cache.entries} == set(COMMUNES)
        warm = figures_for(engine, REGISTRY, ask)
        assert warm == cold
        version = cache.version
        # A batch (new case in the first commune) changes the meta table: fresh figures.
        day = "2025-01-20T09:00"
        new = payload("cache-1", "received", day, "NEWCASE", COMMUNES[0], due_at=day)
        store.apply_batch(engine, items([new]), REGISTRY.province_of)
        after = figures_for(engine, REGISTRY, ask)
        assert cache.version != version
        assert after == figures_for(engine, REGISTRY, ask, use_cache=False)
        # A rebuild (rows rewritten outside batches) bumps the version too.
        version = cache.version
        rebuild(engine, REGISTRY.province_of)
        figures_for(engine, REGISTRY, ask)
        assert cache.version != version
    finally:
        engine.dispose()
