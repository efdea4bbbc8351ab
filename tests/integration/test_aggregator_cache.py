"""The aggregator's case cache: folds from cached events equal folds of all stored events."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from services.aggregator import store
from services.aggregator.db import make_engine, migrate
from services.aggregator.models import case_state
from shared.domain.case import fold_case
from shared.registry import load_registry
from tests.aggregator_kit import items
from tests.integration.test_aggregator_store import many_cases


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


def case_rows(engine: Engine) -> dict[tuple[str, str], tuple]:
    with engine.connect() as conn:
        return {
            (r.commune_code, r.case_id): tuple(r)
            for r in conn.execute(select(case_state).order_by(case_state.c.case_id))
        }


def expected_rows(events: list[dict]) -> dict[tuple[str, str], tuple]:
    """Every case's row as a fresh fold of all its (distinct) events gives it."""
    by_case: dict[tuple[str, str], list] = {}
    for it in items(events):
        by_case.setdefault(it.event.case_key, []).append(it.event)
    out = {}
    for key, evs in by_case.items():
        row = store.row_from_summary(
            fold_case(evs), min(e.occurred_at for e in evs), province_of(key[0])
        )
        out[key] = tuple(row[c] for c in store.STATE_COLUMNS)
    return out


def random_batches(events: list[dict], rng: random.Random) -> list[list[dict]]:
    """Shuffled events cut into overlapping batches, with duplicates and replays."""
    shuffled = events[:]
    rng.shuffle(shuffled)
    batches = []
    i = 0
    while i < len(shuffled):
        size = rng.randint(1, 40)
        batch = shuffled[max(0, i - rng.randint(0, 8)) : i + size]  # overlaps the last
        batch += rng.sample(shuffled[: i + size], k=min(3, i + size))  # duplicates
        rng.shuffle(batch)
        batches.append(batch)
        if rng.random() < 0.1 and batches:
            batches.append(rng.choice(batches))  # a redelivered batch
        i += size
    return batches


@pytest.mark.parametrize("max_events", [5, 60, 100_000])
def test_cached_folds_equal_fresh_folds(engine: Engine, max_events: int) -> None:
    """Random shuffled, overlapping, duplicated batches give every case its fresh fold."""
    rng = random.Random(max_events)
    events = many_cases(120, seed=max_events)
    cache = store.CaseCache(max_events)
    for batch in random_batches(events, rng):
        store.apply_batch(engine, items(batch), province_of, cache)
        assert cache.events <= max_events
    assert len(cache) > 0
    assert case_rows(engine) == expected_rows(events)
    assert store.verify(engine, province_of).drift == 0


def test_failed_transaction_empties_the_cache(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch failing after its events were inserted empties the cache; later folds stay exact."""
    rng = random.Random(3)
    events = many_cases(60, seed=3)
    batches = random_batches(events, rng)
    cache = store.CaseCache()
    for batch in batches[:5]:
        store.apply_batch(engine, items(batch), province_of, cache)
    assert len(cache) > 0

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(store, "replace_case_tuples", boom)
        with pytest.raises(RuntimeError):
            store.apply_batch(engine, items(events), province_of, cache)  # some are new
    assert len(cache) == 0 and cache.events == 0 and cache.events_stored is None
    for batch in batches[5:]:
        store.apply_batch(engine, items(batch), province_of, cache)
    assert case_rows(engine) == expected_rows(events)


def test_another_writer_invalidates_the_cache(engine: Engine) -> None:
    """Events stored by another writer are seen: the counter differs, the cache is emptied."""
    rng = random.Random(5)
    events = many_cases(60, seed=5)
    batches = random_batches(events, rng)
    cache = store.CaseCache()
    for i, batch in enumerate(batches):
        if i % 3 == 1:
            store.apply_batch(engine, items(batch), province_of)  # someone else
        else:
            store.apply_batch(engine, items(batch), province_of, cache)
    assert case_rows(engine) == expected_rows(events)


def test_cache_is_bounded_least_recent_first() -> None:
    """The cache drops the least recently used cases to stay within its event budget."""
    ev = items(many_cases(3, seed=1))
    one = tuple(e.event for e in ev[:2])
    cache = store.CaseCache(max_events=4)
    cache.put(("a", "1"), one)
    cache.put(("a", "2"), one)
    assert cache.get(("a", "1")) == one  # now the most recent
    cache.put(("a", "3"), one)
    assert cache.get(("a", "2")) is None and cache.get(("a", "1")) == one
    assert cache.events == 4 and len(cache) == 2
    cache.put(("a", "4"), tuple(e.event for e in ev[:5]))  # larger than the budget: not held
    assert cache.get(("a", "4")) is None and cache.events == 4
