"""The writer's case cache (storage/cache.py): folds from cached events equal folds of all
stored events, on SQLite and PostgreSQL."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Engine

from services.aggregator.storage import apply
from services.aggregator.storage.apply import apply_batch
from services.aggregator.storage.cache import CaseCache
from shared.registry import load_registry
from tests.integration.storage.test_apply import case_rows, expected_rows
from tests.kits.aggregator import items, many_cases, reference_verify

province_of = load_registry().province_of


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
    cache = CaseCache(max_events)
    for batch in random_batches(events, rng):
        apply_batch(engine, items(batch), province_of, cache)
        assert cache.events <= max_events
    assert len(cache) > 0
    assert case_rows(engine) == expected_rows(events)
    assert reference_verify(engine, province_of).drift == 0


def test_failed_transaction_empties_the_cache(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch failing after its events were inserted empties the cache; later folds stay exact."""
    rng = random.Random(3)
    events = many_cases(60, seed=3)
    batches = random_batches(events, rng)
    cache = CaseCache()
    for batch in batches[:5]:
        apply_batch(engine, items(batch), province_of, cache)
    assert len(cache) > 0

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(apply, "replace_case_rows", boom)
        with pytest.raises(RuntimeError):
            apply_batch(engine, items(events), province_of, cache)  # some are new
    assert len(cache) == 0 and cache.events == 0 and cache.events_stored is None
    for batch in batches[5:]:
        apply_batch(engine, items(batch), province_of, cache)
    assert case_rows(engine) == expected_rows(events)


def test_another_writer_invalidates_the_cache(engine: Engine) -> None:
    """Events stored by another writer are seen: the counter differs, the cache is emptied."""
    rng = random.Random(5)
    events = many_cases(60, seed=5)
    batches = random_batches(events, rng)
    cache = CaseCache()
    for i, batch in enumerate(batches):
        if i % 3 == 1:
            apply_batch(engine, items(batch), province_of)  # someone else
        else:
            apply_batch(engine, items(batch), province_of, cache)
    assert case_rows(engine) == expected_rows(events)


def test_cache_is_bounded_least_recent_first() -> None:
    """The cache drops the least recently used cases to stay within its event budget."""
    ev = items(many_cases(3, seed=1))
    one = tuple(e.event() for e in ev[:2])
    cache = CaseCache(max_events=4)
    cache.put(("a", "1"), one)
    cache.put(("a", "2"), one)
    assert cache.get(("a", "1")) == one  # now the most recent
    cache.put(("a", "3"), one)
    assert cache.get(("a", "2")) is None and cache.get(("a", "1")) == one
    assert cache.events == 4 and len(cache) == 2
    cache.put(("a", "4"), tuple(e.event() for e in ev[:5]))  # larger than the budget: not held
    assert cache.get(("a", "4")) is None and cache.events == 4
