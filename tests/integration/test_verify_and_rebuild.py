"""Fast verify and rebuild (verify.py, rebuild.py, refold.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select, update

from services.aggregator.cli import cmd_rebuild, cmd_verify
from services.aggregator.rebuild import rebuild
from services.aggregator.storage.apply import apply_batch
from services.aggregator.storage.schema import case_state
from services.aggregator.verify import verify_fast
from services.bootstrap import App
from shared.registry import load_registry
from tests.conftest import make_settings
from tests.kits.aggregator import COMMUNE, items, many_cases, migrated, reference_verify, story

province_of = load_registry().province_of


def loaded(url: str) -> Engine:
    engine = migrated(url)
    apply_batch(engine, items(story() + many_cases(80)), province_of)
    return engine


def all_rows(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(case_state)))


def tamper(engine: Engine) -> None:
    """A changed row, a deleted row and a row with no events."""
    with engine.begin() as conn:
        conn.execute(update(case_state).where(case_state.c.case_id == "C1").values(lateness="late"))
        conn.execute(case_state.delete().where(case_state.c.case_id == "C2"))
        conn.execute(
            case_state.insert().values(
                commune_code=COMMUNE, case_id="ZZ", apology_count=0, anomaly_count=0, event_count=1
            )
        )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The story and 80 more cases, on each backend."""
    engine = loaded(database_url)
    yield engine
    engine.dispose()


def test_verify_fast_agrees_with_the_reference(engine: Engine) -> None:
    """On clean and tampered rows, verify_fast reports what the slow reference reports."""
    clean = verify_fast(engine, province_of)
    assert clean.drift == 0 and clean.cases == reference_verify(engine, province_of).cases
    assert clean.events == reference_verify(engine, province_of).events > clean.cases
    tamper(engine)
    fast, slow = verify_fast(engine, province_of), reference_verify(engine, province_of)
    assert (fast.drift, fast.missing_rows, fast.stale_rows) == (3, 1, 1)
    assert (fast.drift, fast.missing_rows, fast.stale_rows, fast.cases, fast.events) == (
        slow.drift,
        slow.missing_rows,
        slow.stale_rows,
        slow.cases,
        slow.events,
    )
    assert sorted(map(str, fast.examples)) == sorted(map(str, slow.examples))


def test_verify_fast_deep_and_repair(engine: Engine) -> None:
    """--deep decodes payloads and finds the same drift; --repair restores the exact rows."""
    before = all_rows(engine)
    tamper(engine)
    assert verify_fast(engine, province_of, deep=True).drift == 3
    repaired = verify_fast(engine, province_of, repair=True)
    assert repaired.repaired == 3
    assert verify_fast(engine, province_of).drift == 0
    assert all_rows(engine) == before


def test_a_cases_province_is_kept_by_batches_and_rewritten_by_repair(engine: Engine) -> None:
    """A case row keeps the province it was first stored with (its index is not rewritten
    by each batch); after a registry change `verify` finds the rows and `--repair`
    writes the new province."""
    moved = lambda code: "99" if code == COMMUNE else province_of(code)  # noqa: E731
    later = [p for p in story() if p["event_type"] != "received"][:1]
    apply_batch(engine, items([{**p, "event_id": p["event_id"] + "-again"} for p in later]), moved)
    with engine.connect() as conn:
        kept = conn.execute(
            select(case_state.c.province_code).where(case_state.c.commune_code == COMMUNE)
        ).scalars().all()
    assert kept and set(kept) == {province_of(COMMUNE)}
    assert verify_fast(engine, moved).drift == len(kept)
    assert verify_fast(engine, moved, repair=True).repaired == len(kept)
    assert verify_fast(engine, moved).drift == 0


def test_rebuild_rewrites_every_row_exactly(engine: Engine) -> None:
    """rebuild replaces every row by the fold of its events: the rows the batches wrote."""
    before = all_rows(engine)
    tamper(engine)
    seen = []
    report = rebuild(engine, province_of, progress=seen.append, progress_every=50)
    assert report.repaired == report.cases == len(before)
    assert seen, "progress is reported on long runs"
    assert all_rows(engine) == before
    assert verify_fast(engine, province_of).drift == 0


def test_rebuild_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`tthc rebuild --json` prints cases, events and speed; verify then finds no drift."""
    settings = make_settings(tmp_path, "nats://127.0.0.1:1")
    engine = loaded(settings.database_url)
    tamper(engine)
    engine.dispose()
    args = argparse.Namespace(json=True, quiet=True)
    assert cmd_rebuild(args, App(settings)) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out["cases"] == out["repaired"] > 80 and out["events"] > out["cases"]
    verify = argparse.Namespace(repair=False, json=True, quiet=True, deep=False)
    assert cmd_verify(verify, App(settings)) == 0


def test_rebuild_command_without_database(tmp_path: Path) -> None:
    """Before the aggregator's first start there is nothing to rebuild (and no file made)."""
    settings = make_settings(tmp_path, "nats://127.0.0.1:1")
    assert cmd_rebuild(argparse.Namespace(json=False, quiet=True), App(settings)) == 0
    assert not Path(settings.database_url.removeprefix("sqlite:///")).exists()


def test_parallel_verify_and_rebuild(engine: Engine) -> None:
    """Two processes over ranges of communes find the same drift and rebuild the same rows."""
    from services.aggregator.verify import verify_parallel

    registry = load_registry()
    url = engine.url.render_as_string(hide_password=False)
    before = all_rows(engine)
    tamper(engine)
    one, two = verify_fast(engine, province_of), verify_parallel(url, registry, 2)
    assert (two.drift, two.missing_rows, two.stale_rows, two.cases, two.events) == (
        one.drift,
        one.missing_rows,
        one.stale_rows,
        one.cases,
        one.events,
    )
    report = rebuild(engine, province_of, registry=registry, workers=2)
    assert report.repaired == report.cases == len(before)
    assert all_rows(engine) == before
    assert verify_parallel(url, registry, 2).drift == 0


def test_split_ranges_cover_every_code() -> None:
    """Commune ranges are contiguous, open at both ends, and split the registry evenly."""
    from services.aggregator.refold import split_ranges

    spans = split_ranges([f"{i:05d}" for i in range(100)], 4)
    assert spans[0][0] is None and spans[-1][1] is None
    assert all(spans[i][1] == spans[i + 1][0] for i in range(3))
    assert [s[1] for s in spans[:-1]] == ["00025", "00050", "00075"]


def test_workers_must_be_positive(tmp_path: Path) -> None:
    """--workers 0 is a usage error (exit status 2 through the command line)."""
    from services.aggregator.cli import workers_of
    from shared.errors import UsageError

    with pytest.raises(UsageError):
        workers_of(argparse.Namespace(workers=0))
    assert workers_of(argparse.Namespace(workers=3)) == 3
    assert workers_of(argparse.Namespace()) >= 1
