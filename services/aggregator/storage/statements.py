"""The statements a batch runs on the event and case tables, per dialect.

Reads: which event ids are stored (with their digests), a stored payload, every stored
event of some cases. Writes: event rows inserted, case rows replaced or deleted. SQLite
gets executemany of tuples and `IN`/`VALUES` lists (well under its parameter limit);
PostgreSQL gets arrays (one statement, one plan) and `COPY` (`pgcopy.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from services.aggregator.storage.cache import CaseKey
from services.aggregator.storage.dialect import CHUNK, chunks, mark, marks, upsert_sql
from services.aggregator.storage.pgcopy import copy_rows, upsert_by_copy
from services.aggregator.storage.rows import (
    EVENT_COLUMNS,
    EVENT_INSERT_COLUMNS,
    STATE_COLUMNS,
    STATE_KEY,
)
from shared.domain.events import CaseEvent


def stored_digests(conn: Connection, ids: Sequence[str]) -> dict[str, int | None]:
    """The digest of each of these event ids already stored (None: stored before digests).

    PostgreSQL gets the ids as one array (`= ANY(%s)`): one statement, one plan. With an
    `IN` list of 400 parameters psycopg prepares the statement after five runs, and the
    generic plan PostgreSQL keeps for it, made while the table was still small, scanned
    the whole table (measured: 3.4 s per 5,000-event batch at 100,000 stored events)."""
    if not ids:
        return {}
    if conn.dialect.name == "postgresql":
        sql = "SELECT event_id, digest FROM case_event WHERE event_id = ANY(%s)"
        return dict(conn.exec_driver_sql(sql, (list(ids),)).all())
    found: dict[str, int | None] = {}
    m = mark(conn.dialect.name)
    for part in chunks(ids):
        listed = ", ".join([m] * len(part))
        sql = f"SELECT event_id, digest FROM case_event WHERE event_id IN ({listed})"
        found.update(conn.exec_driver_sql(sql, tuple(part)).all())
    return found


def stored_payload(conn: Connection, event_id: str) -> bytes:
    m = mark(conn.dialect.name)
    raw = conn.exec_driver_sql(
        f"SELECT payload FROM case_event WHERE event_id = {m}", (event_id,)
    ).scalar_one()
    return raw.encode() if isinstance(raw, str) else bytes(raw)


def case_events_sql(dialect: str, n: int) -> str:
    """Events (`EVENT_COLUMNS`) of n cases given as 2n parameters (commune, case).

    The keys are joined as a `VALUES` list: SQLite plans `(a, b) IN ((?, ?), ...)` as a
    scan of the whole table (measured: 150 ms per 200 keys at 100,000 events, growing
    with the table), the join probes the `(commune_code, case_id)` index (2-6 ms).
    """
    m = mark(dialect)
    pairs = ", ".join([f"({m}, {m})"] * n)
    select = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
    return (
        f"WITH k(c, i) AS (VALUES {pairs}) SELECT {select} FROM k "
        "JOIN case_event e ON e.commune_code = k.c AND e.case_id = k.i"
    )


def load_case_events(conn: Connection, keys: Sequence[CaseKey]) -> dict[CaseKey, list[CaseEvent]]:
    """Every stored event of the given cases (the fold's inputs, from their columns)."""
    out: dict[CaseKey, list[CaseEvent]] = {k: [] for k in keys}
    if not keys:
        return out
    if conn.dialect.name == "postgresql":  # the keys as two arrays: one statement, one plan
        select = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
        sql = (
            f"SELECT {select} FROM unnest(%s::varchar[], %s::varchar[]) AS k(c, i) "
            "JOIN case_event e ON e.commune_code = k.c AND e.case_id = k.i"
        )
        params = ([k[0] for k in keys], [k[1] for k in keys])
        for row in conn.exec_driver_sql(sql, params):
            out[(row[3], row[2])].append(CaseEvent(*row))
        return out
    for part in chunks(list(keys), CHUNK // 2):
        sql = case_events_sql(conn.dialect.name, len(part))
        params = tuple(x for key in part for x in key)
        for row in conn.exec_driver_sql(sql, params):
            out[(row[3], row[2])].append(CaseEvent(*row))
    return out


def insert_events(conn: Connection, rows: Sequence[tuple]) -> None:
    """Insert `case_event` rows given as tuples in `EVENT_INSERT_COLUMNS` order."""
    names = ", ".join(EVENT_INSERT_COLUMNS)
    if conn.dialect.name == "postgresql":  # COPY: a third of executemany's time
        copy_rows(conn, f"COPY case_event ({names}) FROM STDIN", rows)
        return
    values = marks(conn.dialect.name, len(EVENT_INSERT_COLUMNS))
    conn.exec_driver_sql(f"INSERT INTO case_event ({names}) VALUES ({values})", list(rows))


def replace_case_rows(
    conn: Connection, rows: Sequence[tuple], fixed: Sequence[str] = ("province_code",)
) -> None:
    """Replace the `case_state` rows of these cases (rows as `case_row` tuples).

    `fixed`: columns an existing row keeps. A case's province is written with its first
    row and kept (its index is then left alone: about 2 µs less per event on SQLite);
    `tthc verify --repair` passes none, so that a registry that moved a commune is
    written through."""
    if not rows:
        return
    dialect = conn.dialect.name
    sql = upsert_sql(dialect, "case_state", STATE_COLUMNS, STATE_KEY, fixed=fixed)
    if dialect == "postgresql":
        upsert_by_copy(conn, rows, sql)
        return
    conn.exec_driver_sql(sql, list(rows))


def delete_case_rows(conn: Connection, keys: Sequence[CaseKey]) -> None:
    m = mark(conn.dialect.name)
    sql = f"DELETE FROM case_state WHERE commune_code = {m} AND case_id = {m}"
    if keys:
        conn.exec_driver_sql(sql, list(keys))
