"""Every case folded again from the stored events, streamed: what `verify` and `rebuild` read.

The events are streamed in `(commune_code, case_id)` order as plain tuples through the
database driver (a server-side cursor on PostgreSQL, chunked fetches on SQLite), and
each case is folded into its expected `case_state` row (`rows.fold_row`). Memory stays
flat whatever the number of events. Work can be split by ranges of commune codes over
processes (`split_ranges`, `pool`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import orjson

from services.aggregator.storage.dialect import EVERYTHING, Range, commune_range, order_by
from services.aggregator.storage.meta import REWRITTEN_KEY, counter_upsert_sql
from services.aggregator.storage.rows import EVENT_COLUMNS, fold_row
from shared.domain.events import CaseEvent
from shared.domain.validation import event_from_payload

FETCH = 10_000  # rows per fetch from the driver

ProvinceOf = Callable[[str], str | None]
_EVENT_COLS = ", ".join(EVENT_COLUMNS)


def stream_rows(raw: Any, dialect: str, sql: str, name: str, params: tuple = ()) -> Iterator[tuple]:
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
    where, params = commune_range(dialect, span)
    sql = (
        f"SELECT commune_code, case_id, {cols} FROM case_event{where} "
        f"ORDER BY {order_by(dialect, 'commune_code', 'case_id')}"
    )
    commune = case = None
    events: list[CaseEvent] = []
    for row in stream_rows(raw, dialect, sql, "tthc_events", params):
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


def folded_rows(
    raw: Any, dialect: str, province_of: ProvinceOf, deep: bool, span: Range = EVERYTHING
) -> Iterator[tuple[tuple, int]]:
    """(expected row tuple, number of events) of every case, in key order."""
    provinces: dict[str, str | None] = {}
    for events in iter_case_events(raw, dialect, deep, span):
        commune = events[0].commune_code
        province = provinces.get(commune)
        if province is None and commune not in provinces:
            province = provinces[commune] = province_of(commune)
        yield fold_row(events, province)[1], len(events)


def split_ranges(codes: Sequence[str], parts: int) -> list[Range]:
    """`parts` contiguous ranges of commune codes covering every code (known or not)."""
    codes = sorted(codes)
    parts = max(1, min(parts, len(codes)))
    bounds = [codes[len(codes) * i // parts] for i in range(1, parts)]
    edges: list[str | None] = [None, *bounds, None]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def process_pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


def bump_rewritten(cursor: Any, dialect: str) -> None:
    """Count one more rewrite of case rows (figures caches key on the meta table)."""
    cursor.execute(counter_upsert_sql(dialect, add_one=True), (REWRITTEN_KEY,))
