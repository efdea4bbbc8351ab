"""Recompute every case from the stored events, fast: `tthc verify` and `tthc rebuild`.

The events are streamed in `(commune_code, case_id)` order as plain tuples through the
database driver (a server-side cursor on PostgreSQL, chunked fetches on SQLite), each
case folded with `fold_case` and its expected `case_state` row compared with the stored
one, streamed in the same order and merged (memory stays flat). No ORM rows, no dicts
per row: tuples in `STATE_COLUMNS` order are compared as they are.

- `verify_fast(...)` gives the same `VerifyReport` as `store.verify` (drift, missing and
  stale rows, examples, `--repair` in transactions of a few hundred cases).
- `rebuild(...)` replaces the whole `case_state` table with a fresh fold of every case, in
  one transaction (readers see the old rows or the new ones, never a mix).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import orjson
from sqlalchemy import Engine

from services.aggregator.store import (
    ROW_TUPLE_COLUMNS,
    ProvinceOf,
    VerifyReport,
    replace_case_rows,
    row_tuple,
)
from shared.domain.case import fold_case
from shared.domain.events import CaseEvent
from shared.domain.validation import event_from_payload
from shared.registry import UnitRegistry

FETCH = 10_000  # rows per fetch from the driver
INSERT = 5_000  # rows per executemany when rebuilding

_EVENT_COLS = (
    "event_id, event_type, case_id, commune_code, occurred_at, channel, due_at, new_due_at, "
    "field, result_channel"
)


def _order(dialect: str, *columns: str) -> str:
    """ORDER BY in code-point order (as Python compares strings) on both backends."""
    if dialect == "postgresql":
        return ", ".join(f'{c} COLLATE "C"' for c in columns)
    return ", ".join(columns)  # SQLite's BINARY collation is code-point order for UTF-8


Range = tuple[str | None, str | None]  # commune codes [lo, hi): None = unbounded
EVERYTHING: Range = (None, None)


def _where(dialect: str, span: Range) -> tuple[str, tuple[str, ...]]:
    """` WHERE commune_code >= lo AND commune_code < hi` (as far as bounded), with params."""
    mark = "?" if dialect == "sqlite" else "%s"
    col = 'commune_code COLLATE "C"' if dialect == "postgresql" else "commune_code"
    terms, params = [], []
    if span[0] is not None:
        terms.append(f"{col} >= {mark}")
        params.append(span[0])
    if span[1] is not None:
        terms.append(f"{col} < {mark}")
        params.append(span[1])
    return (" WHERE " + " AND ".join(terms) if terms else ""), tuple(params)


def _stream(raw: Any, dialect: str, sql: str, name: str, params: tuple = ()) -> Iterator[tuple]:
    """Rows of `sql` as plain tuples, fetched in chunks (server-side on PostgreSQL)."""
    cur = raw.cursor(name=name) if dialect == "postgresql" else raw.cursor()
    if dialect == "postgresql":
        cur.itersize = FETCH
    try:
        cur.execute(sql, params)
        while True:
            rows = cur.fetchmany(FETCH)
            if not rows:
                return
            yield from rows
    finally:
        cur.close()


def iter_case_events(
    raw: Any, dialect: str, deep: bool = False, span: Range = EVERYTHING
) -> Iterator[list[CaseEvent]]:
    """The events of every case (of the communes in `span`), one list per case, in
    (commune_code, case_id) order."""
    cols = "payload" if deep else _EVENT_COLS
    where, params = _where(dialect, span)
    sql = (
        f"SELECT commune_code, case_id, {cols} FROM case_event{where} "
        f"ORDER BY {_order(dialect, 'commune_code', 'case_id')}"
    )
    commune = case = None
    events: list[CaseEvent] = []
    for row in _stream(raw, dialect, sql, "tthc_events", params):
        if row[1] != case or row[0] != commune:
            if events:
                yield events
            commune, case, events = row[0], row[1], []
        if deep:
            events.append(event_from_payload(orjson.loads(row[2])))
        else:
            events.append(CaseEvent(*row[2:]))
    if events:
        yield events


_COLS_SQL = ", ".join(ROW_TUPLE_COLUMNS)


def _folded(
    raw: Any, dialect: str, province_of: ProvinceOf, deep: bool, span: Range = EVERYTHING
) -> Iterator[tuple[tuple, int]]:
    """(expected row tuple, number of events) of every case, in key order."""
    provinces: dict[str, str | None] = {}
    for events in iter_case_events(raw, dialect, deep, span):
        summary = fold_case(events)
        commune = summary.commune_code
        province = provinces.get(commune)
        if province is None and commune not in provinces:
            province = provinces[commune] = province_of(commune)
        first = min(e.occurred_at for e in events)
        yield row_tuple(summary, first, province), len(events)


REWRITTEN_KEY = "case_rows_rewritten"  # bumped whenever rows change outside batches


def bump_rewritten(cursor: Any, dialect: str) -> None:
    """Count one more rewrite of case rows (figures caches key on the meta table)."""
    mark = "?" if dialect == "sqlite" else "%s"
    cursor.execute(
        f"UPDATE aggregator_meta SET value = value + 1 WHERE key = {mark}", (REWRITTEN_KEY,)
    )
    if cursor.rowcount == 0:
        cursor.execute(
            f"INSERT INTO aggregator_meta (key, value) VALUES ({mark}, 1)", (REWRITTEN_KEY,)
        )


def verify_fast(
    engine: Engine,
    province_of: ProvinceOf,
    repair: bool = False,
    deep: bool = False,
    progress: Callable[[VerifyReport], None] | None = None,
    progress_every: int = 100_000,
    max_examples: int = 10,
    span: Range = EVERYTHING,
) -> VerifyReport:
    """Fold every case again and compare with its stored row (as `store.verify`, faster).

    `span` limits it to the communes in `[lo, hi)` (the parallel verify's share).
    """
    report = VerifyReport()
    started = time.perf_counter()
    dialect = engine.dialect.name
    fixes: list[dict[str, Any]] = []
    stale: list[tuple[str, str]] = []
    next_progress = progress_every

    def flush() -> None:
        if repair and (fixes or stale):
            from sqlalchemy import delete, tuple_

            from services.aggregator.models import case_state

            with engine.begin() as wconn:
                for i in range(0, len(stale), 200):
                    wconn.execute(
                        delete(case_state).where(
                            tuple_(case_state.c.commune_code, case_state.c.case_id).in_(
                                stale[i : i + 200]
                            )
                        )
                    )
                if fixes:
                    replace_case_rows(wconn, fixes)
                bump_rewritten(wconn.connection.cursor(), dialect)
            report.repaired += len(fixes) + len(stale)
        fixes.clear()
        stale.clear()

    def stale_row(row: tuple) -> None:
        report.stale_rows += 1
        key = (row[0], row[1])
        report.note(key, "row without events", [], max_examples)
        stale.append(key)

    where, params = _where(dialect, span)
    rows_sql = (
        f"SELECT {_COLS_SQL} FROM case_state{where} "
        f"ORDER BY {_order(dialect, 'commune_code', 'case_id')}"
    )
    raw_events = engine.raw_connection()
    raw_rows = engine.raw_connection()
    try:
        rows = _stream(raw_rows, dialect, rows_sql, "tthc_rows", params)
        row = next(rows, None)
        for expected, n_events in _folded(raw_events, dialect, province_of, deep, span):
            key = (expected[0], expected[1])
            while row is not None and (row[0], row[1]) < key:
                stale_row(row)
                row = next(rows, None)
            stored = None
            if row is not None and row[0] == key[0] and row[1] == key[1]:
                stored, row = row, next(rows, None)
            report.cases += 1
            report.events += n_events
            if stored != expected:
                columns = (
                    ["(no row)"]
                    if stored is None
                    else [
                        c
                        for c, a, b in zip(ROW_TUPLE_COLUMNS, expected, stored, strict=True)
                        if a != b
                    ]
                )
                if columns:  # (equal values of other types are no drift)
                    if stored is None:
                        report.missing_rows += 1
                    report.note(
                        key,
                        "missing row" if stored is None else "row differs",
                        columns,
                        max_examples,
                    )
                    fixes.append(dict(zip(ROW_TUPLE_COLUMNS, expected, strict=True)))
                    if len(fixes) + len(stale) >= 400:
                        flush()
            if progress is not None and report.events >= next_progress:
                report.seconds = time.perf_counter() - started
                progress(report)
                next_progress += progress_every
        while row is not None:
            stale_row(row)
            row = next(rows, None)
        rows.close()
    finally:
        raw_events.rollback()
        raw_rows.rollback()
        raw_events.close()
        raw_rows.close()
    flush()
    report.seconds = time.perf_counter() - started
    return report


# --- in parallel: communes split into ranges, one process folds each --------------------


def split_ranges(codes: Sequence[str], parts: int) -> list[Range]:
    """`parts` contiguous ranges of commune codes covering every code (known or not)."""
    codes = sorted(codes)
    parts = max(1, min(parts, len(codes)))
    bounds = [codes[len(codes) * i // parts] for i in range(1, parts)]
    edges: list[str | None] = [None, *bounds, None]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def _verify_part(
    url: str, province_of: ProvinceOf, deep: bool, repair: bool, span: Range
) -> VerifyReport:
    from services.aggregator.db import make_engine

    engine = make_engine(url)
    try:
        return verify_fast(engine, province_of, repair=repair, deep=deep, span=span)
    finally:
        engine.dispose()


def _fold_part(url: str, province_of: ProvinceOf, span: Range) -> tuple[list[tuple], int]:
    from services.aggregator.db import make_engine

    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        rows, events = [], 0
        for expected, n in _folded(raw, engine.dialect.name, province_of, False, span):
            rows.append(expected)
            events += n
        return rows, events
    finally:
        raw.rollback()
        raw.close()
        engine.dispose()


def _pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


def verify_parallel(
    url: str,
    registry: UnitRegistry,
    workers: int,
    repair: bool = False,
    deep: bool = False,
    progress: Callable[[VerifyReport], None] | None = None,
    max_examples: int = 10,
) -> VerifyReport:
    """`verify_fast` split over `workers` processes by commune ranges; reports merged."""
    started = time.perf_counter()
    spans = split_ranges(list(registry.communes), workers * 4)
    total = VerifyReport()
    with _pool(workers) as pool:
        futures = [
            pool.submit(_verify_part, url, registry.province_of, deep, repair, span)
            for span in spans
        ]
        for future in futures:  # in range order: examples come out in key order
            part = future.result()
            total.cases += part.cases
            total.events += part.events
            total.drift += part.drift
            total.missing_rows += part.missing_rows
            total.stale_rows += part.stale_rows
            total.repaired += part.repaired
            total.examples.extend(part.examples[: max_examples - len(total.examples)])
            total.seconds = time.perf_counter() - started
            if progress is not None:
                progress(total)
    total.seconds = time.perf_counter() - started
    return total


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
    marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * len(ROW_TUPLE_COLUMNS))
    insert_sql = f"INSERT INTO case_state ({_COLS_SQL}) VALUES ({marks})"
    next_progress = progress_every
    raw = engine.raw_connection()
    try:
        writer = raw.cursor()
        writer.execute("DELETE FROM case_state")
        pending: list[tuple] = []
        for expected, n_events in _folded(raw, dialect, province_of, deep=False):
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
    marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * len(ROW_TUPLE_COLUMNS))
    insert_sql = f"INSERT INTO case_state ({_COLS_SQL}) VALUES ({marks})"
    url = engine.url.render_as_string(hide_password=False)
    spans = split_ranges(list(registry.communes), workers * 8)
    raw = engine.raw_connection()
    try:
        writer = raw.cursor()
        writer.execute("DELETE FROM case_state")
        with _pool(workers) as pool:
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
        writer.close()
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
    report.seconds = time.perf_counter() - started
    return report
