"""`tthc verify`: every case folded again from its stored events, compared with its row.

Events and rows are both streamed in `(commune_code, case_id)` order and merged, so
memory stays flat however many events are stored; tuples in `STATE_COLUMNS` order are
compared as they are. With `repair`, drifting rows are rewritten and stale ones deleted,
in transactions of a few hundred cases. The tests hold it against a slow, obviously
right reference (tests/aggregator_kit.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from services.aggregator.refold import (
    ProvinceOf,
    folded_rows,
    process_pool,
    split_ranges,
    stream_rows,
)
from services.aggregator.storage.apply import delete_case_rows, replace_case_rows
from services.aggregator.storage.dialect import EVERYTHING, Range, commune_range, order_by
from services.aggregator.storage.engine import make_engine
from services.aggregator.storage.meta import REWRITTEN_KEY, bump
from services.aggregator.storage.rows import STATE_COLUMNS
from shared.registry import UnitRegistry

REPAIR_CHUNK = 400  # cases per repair transaction
_COLS_SQL = ", ".join(STATE_COLUMNS)


@dataclass(slots=True)
class VerifyReport:
    """What a verification found: cases whose stored row differs from a fold of their events."""

    cases: int = 0
    events: int = 0
    drift: int = 0
    missing_rows: int = 0  # cases with events but no row
    stale_rows: int = 0  # rows with no events
    examples: list[dict[str, Any]] = field(default_factory=list)
    repaired: int = 0
    seconds: float = 0.0

    def note(self, key: tuple[str, str], what: str, columns: list[str], max_examples: int) -> None:
        """Count one drifting case, keeping the first `max_examples` as examples."""
        self.drift += 1
        if len(self.examples) < max_examples:
            self.examples.append(
                {"commune_code": key[0], "case_id": key[1], "problem": what, "columns": columns}
            )

    def add(self, part: VerifyReport, max_examples: int) -> None:
        """Merge a part's report (a range of communes) into this one."""
        self.cases += part.cases
        self.events += part.events
        self.drift += part.drift
        self.missing_rows += part.missing_rows
        self.stale_rows += part.stale_rows
        self.repaired += part.repaired
        self.examples.extend(part.examples[: max_examples - len(self.examples)])

    def as_dict(self) -> dict[str, Any]:
        rate = self.events / self.seconds if self.seconds > 0 else None
        return {
            "cases": self.cases,
            "events": self.events,
            "drift": self.drift,
            "missing_rows": self.missing_rows,
            "stale_rows": self.stale_rows,
            "repaired": self.repaired,
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(rate) if rate else None,
        }


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
    fixes: list[tuple] = []
    stale: list[tuple[str, str]] = []
    next_progress = progress_every

    def flush() -> None:
        if repair and (fixes or stale):
            with engine.begin() as wconn:
                delete_case_rows(wconn, stale)
                replace_case_rows(wconn, fixes, fixed=())
                bump(wconn, REWRITTEN_KEY)
            report.repaired += len(fixes) + len(stale)
        fixes.clear()
        stale.clear()

    def stale_row(row: tuple) -> None:
        report.stale_rows += 1
        key = (row[0], row[1])
        report.note(key, "row without events", [], max_examples)
        stale.append(key)

    where, params = commune_range(dialect, span)
    rows_sql = (
        f"SELECT {_COLS_SQL} FROM case_state{where} "
        f"ORDER BY {order_by(dialect, 'commune_code', 'case_id')}"
    )
    raw_events = engine.raw_connection()
    raw_rows = engine.raw_connection()
    try:
        rows = stream_rows(raw_rows, dialect, rows_sql, "tthc_rows", params)
        row = next(rows, None)
        for expected, n_events in folded_rows(raw_events, dialect, province_of, deep, span):
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
                        for c, a, b in zip(STATE_COLUMNS, expected, stored, strict=True)
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
                    fixes.append(expected)
                    if len(fixes) + len(stale) >= REPAIR_CHUNK:
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


def _verify_part(
    url: str, province_of: ProvinceOf, deep: bool, repair: bool, span: Range
) -> VerifyReport:
    engine = make_engine(url)
    try:
        return verify_fast(engine, province_of, repair=repair, deep=deep, span=span)
    finally:
        engine.dispose()


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
    with process_pool(workers) as pool:
        futures = [
            pool.submit(_verify_part, url, registry.province_of, deep, repair, span)
            for span in spans
        ]
        for future in futures:  # in range order: examples come out in key order
            total.add(future.result(), max_examples)
            total.seconds = time.perf_counter() - started
            if progress is not None:
                progress(total)
    total.seconds = time.perf_counter() - started
    return total
