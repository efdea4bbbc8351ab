"""`tthc rebuild`: every `case_state` row replaced by a fresh fold of the stored events.

One transaction: readers see the old rows or the new ones, never a mix. With several
workers, processes fold ranges of communes while this one writes their rows (COPY on
PostgreSQL). A rebuild also clears a migration's `rebuild_required`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine

from services.aggregator.refold import (
    ProvinceOf,
    bump_rewritten,
    folded_rows,
    process_pool,
    split_ranges,
)
from services.aggregator.storage.dialect import Range, marks
from services.aggregator.storage.engine import make_engine
from services.aggregator.storage.meta import REBUILD_KEY
from services.aggregator.storage.rows import STATE_COLUMNS
from services.aggregator.verify import VerifyReport
from shared.registry import UnitRegistry

INSERT = 5_000  # rows per executemany when rebuilding
_COLS_SQL = ", ".join(STATE_COLUMNS)


def _fold_part(url: str, province_of: ProvinceOf, span: Range) -> tuple[list[tuple], int]:
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        rows, events = [], 0
        for expected, n in folded_rows(raw, engine.dialect.name, province_of, False, span):
            rows.append(expected)
            events += n
        return rows, events
    finally:
        raw.rollback()
        raw.close()
        engine.dispose()


def _insert_sql(dialect: str) -> str:
    return f"INSERT INTO case_state ({_COLS_SQL}) VALUES ({marks(dialect, len(STATE_COLUMNS))})"


def _write_rows(cursor: Any, dialect: str, sql: str, rows: Sequence[tuple]) -> None:
    """Insert `case_state` rows: COPY on PostgreSQL, executemany elsewhere."""
    if dialect == "postgresql":
        with cursor.copy(f"COPY case_state ({_COLS_SQL}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        cursor.executemany(sql, rows)


def rebuild(
    engine: Engine,
    province_of: ProvinceOf,
    progress: Callable[[VerifyReport], None] | None = None,
    progress_every: int = 100_000,
    registry: UnitRegistry | None = None,
    workers: int = 1,
) -> VerifyReport:
    """Replace every `case_state` row by a fresh fold of the stored events (one transaction).

    The report counts cases and events; `repaired` is the number of rows written. With
    `workers` > 1 (and the `registry`), processes fold ranges of communes while this one
    writes their rows.
    """
    if workers > 1 and registry is not None:
        return _rebuild_parallel(engine, registry, workers, progress)

    report = VerifyReport()
    started = time.perf_counter()
    dialect = engine.dialect.name
    insert_sql = _insert_sql(dialect)
    next_progress = progress_every
    raw = engine.raw_connection()
    try:
        writer = raw.cursor()
        writer.execute("DELETE FROM case_state")
        pending: list[tuple] = []
        for expected, n_events in folded_rows(raw, dialect, province_of, deep=False):
            pending.append(expected)
            report.cases += 1
            report.events += n_events
            if len(pending) >= INSERT:
                _write_rows(writer, dialect, insert_sql, pending)
                report.repaired += len(pending)
                pending.clear()
            if progress is not None and report.events >= next_progress:
                report.seconds = time.perf_counter() - started
                progress(report)
                next_progress += progress_every
        if pending:
            _write_rows(writer, dialect, insert_sql, pending)
            report.repaired += len(pending)
        bump_rewritten(writer, dialect)
        _clear_rebuild_required(writer, dialect)
        writer.close()
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    report.seconds = time.perf_counter() - started
    return report


def _rebuild_parallel(
    engine: Engine,
    registry: UnitRegistry,
    workers: int,
    progress: Callable[[VerifyReport], None] | None,
) -> VerifyReport:
    report = VerifyReport()
    started = time.perf_counter()
    dialect = engine.dialect.name
    insert_sql = _insert_sql(dialect)
    url = engine.url.render_as_string(hide_password=False)
    spans = split_ranges(list(registry.communes), workers * 8)
    raw = engine.raw_connection()
    try:
        writer = raw.cursor()
        writer.execute("DELETE FROM case_state")
        with process_pool(workers) as pool:
            futures = [pool.submit(_fold_part, url, registry.province_of, s) for s in spans]
            for future in futures:
                rows, events = future.result()
                for i in range(0, len(rows), INSERT):
                    _write_rows(writer, dialect, insert_sql, rows[i : i + INSERT])
                report.cases += len(rows)
                report.repaired += len(rows)
                report.events += events
                report.seconds = time.perf_counter() - started
                if progress is not None:
                    progress(report)
        bump_rewritten(writer, dialect)
        _clear_rebuild_required(writer, dialect)
        writer.close()
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    report.seconds = time.perf_counter() - started
    return report


def _clear_rebuild_required(cursor: Any, dialect: str) -> None:
    """A fresh fold of every case is what a migration's `rebuild_required` asked for."""
    cursor.execute(f"DELETE FROM aggregator_meta WHERE key = {marks(dialect, 1)}", (REBUILD_KEY,))
