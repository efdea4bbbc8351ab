"""The aggregator's counters and applied position, written in each batch's transaction.

Counters (`aggregator_meta`): events stored, duplicates, conflicts, ... and
`batches_committed`, which the figures cache keys on. The applied position
(`applied_position`): the TTHC_ACCEPTED messages applied, as sequence ranges, for one
incarnation of the stream, and the ranges found lost (see services/aggregator/positions.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, func, select

from services.aggregator import positions
from services.aggregator.positions import Ranges
from services.aggregator.storage.dialect import lock_suffix, mark
from services.aggregator.storage.schema import META_KEYS, aggregator_meta, case_state

REWRITTEN_KEY = "case_rows_rewritten"  # bumped whenever rows change outside batches
REBUILD_KEY = "rebuild_required"  # set by a migration that needs every case refolded
LOST_KEY = "lost_recorded"  # bumped whenever lost ranges are written outside batches


def ensure_meta(engine: Engine) -> None:
    """Insert the counters that are absent (0).

    Aggregators started together on one database (a standby) both find them absent on
    the first start: `ON CONFLICT DO NOTHING` makes the second wait for the first's
    insert and keep its rows, instead of failing on the key."""
    with engine.begin() as conn:
        present = {r[0] for r in conn.execute(select(aggregator_meta.c.key))}
        missing = [(k,) for k in META_KEYS if k not in present]
        if missing:
            conn.exec_driver_sql(
                f"INSERT INTO aggregator_meta (key, value) VALUES ({mark(conn.dialect.name)}, 0) "
                "ON CONFLICT (key) DO NOTHING",
                missing,
            )


def read_meta(conn: Connection, lock: bool = False) -> dict[str, int]:
    """The counters (absent ones 0). `lock`: on PostgreSQL, `FOR UPDATE`, which
    serialises concurrent writers (SQLite has one writer at a time anyway)."""
    sql = f"SELECT key, value FROM aggregator_meta{lock_suffix(conn.dialect.name) if lock else ''}"
    rows = conn.exec_driver_sql(sql).all()
    return dict.fromkeys(META_KEYS, 0) | {k: int(v) for k, v in rows}


def counter_upsert_sql(dialect: str, add_one: bool) -> str:
    """One statement that adds one to a counter (`add_one`, parameter: the key) or sets it
    (parameters: key, value), creating the row if absent. One statement, so that two
    writers meeting an absent row (a standby's first start) do not both insert it."""
    m = mark(dialect)
    if add_one:
        return (
            f"INSERT INTO aggregator_meta (key, value) VALUES ({m}, 1) "
            "ON CONFLICT (key) DO UPDATE SET value = aggregator_meta.value + 1"
        )
    return (
        f"INSERT INTO aggregator_meta (key, value) VALUES ({m}, {m}) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )


def write_meta(conn: Connection, before: dict[str, int], after: dict[str, int]) -> None:
    """Write the counters that changed (driver SQL: this runs once per batch)."""
    changed = [(value, key) for key, value in after.items() if before.get(key) != value]
    if not changed:
        return
    m = mark(conn.dialect.name)
    sql = f"UPDATE aggregator_meta SET value = {m} WHERE key = {m}"
    result = conn.exec_driver_sql(sql, changed)
    if result.rowcount != len(changed):  # a counter row missing (ensure_meta not run)
        conn.exec_driver_sql(
            counter_upsert_sql(conn.dialect.name, add_one=False),
            [(key, value) for value, key in changed],
        )


def bump(conn: Connection, key: str, value: int | None = None) -> None:
    """Add one to a counter (or set it to `value`), creating it when absent."""
    if value is None:
        conn.exec_driver_sql(counter_upsert_sql(conn.dialect.name, add_one=True), (key,))
    else:
        conn.exec_driver_sql(counter_upsert_sql(conn.dialect.name, add_one=False), (key, value))


def counts(engine: Engine) -> dict[str, int]:
    """Events stored, cases and the counters (for status and the watermark)."""
    with engine.connect() as conn:
        meta = read_meta(conn)
        cases = conn.execute(select(func.count()).select_from(case_state)).scalar_one()
    return {**meta, "cases": int(cases)}


@dataclass(slots=True)
class Position:
    """How far this database has applied one stream (one incarnation of it)."""

    stream: str
    incarnation: str
    applied: Ranges = field(default_factory=list)
    lost: Ranges = field(default_factory=list)


UNCLAIMED = ""  # the incarnation of a position row inserted only to be locked


def read_position(conn: Connection, stream: str, lock: bool = False) -> Position | None:
    """The stream's position, or None. `lock` (a writer, inside its transaction): the
    row is locked until the transaction ends, and created if absent, so that two
    aggregators writing the first position at once (a standby, both starting on a fresh
    database) take turns: `FOR UPDATE` locks no row that does not exist yet, and both
    would insert one. The row inserted here has no incarnation; the caller writes its
    own into it before committing, so no reader ever sees it."""
    m = mark(conn.dialect.name)
    suffix = lock_suffix(conn.dialect.name) if lock else ""
    sql = f"SELECT incarnation, applied, lost FROM applied_position WHERE stream = {m}{suffix}"
    row = conn.exec_driver_sql(sql, (stream,)).first()
    if row is None and lock:
        # Waits for another writer's uncommitted insert of the row; then reads its row.
        conn.exec_driver_sql(
            f"INSERT INTO applied_position (stream, incarnation, applied, lost) "
            f"VALUES ({m}, {m}, '[]', '[]') ON CONFLICT (stream) DO NOTHING",
            (stream, UNCLAIMED),
        )
        row = conn.exec_driver_sql(sql, (stream,)).first()
    if row is None or row[0] == UNCLAIMED:
        return None
    return Position(stream, row[0], positions.from_json(row[1]), positions.from_json(row[2]))


def write_position(conn: Connection, position: Position) -> None:
    m = mark(conn.dialect.name)
    values = (
        position.incarnation,
        positions.to_json(position.applied),
        positions.to_json(position.lost),
        position.stream,
    )
    result = conn.exec_driver_sql(
        f"UPDATE applied_position SET incarnation = {m}, applied = {m}, lost = {m} "
        f"WHERE stream = {m}",
        values,
    )
    if result.rowcount == 0:
        conn.exec_driver_sql(
            f"INSERT INTO applied_position (incarnation, applied, lost, stream) "
            f"VALUES ({m}, {m}, {m}, {m})",
            values,
        )


@dataclass(frozen=True, slots=True)
class Applied:
    """Messages of one stream incarnation a batch applies (their stream sequences)."""

    stream: str
    incarnation: str
    seqs: tuple[int, ...]


def record_applied(conn: Connection, applied: Applied) -> None:
    """Add a batch's messages to the applied ranges (inside the batch's transaction)."""
    position = read_position(conn, applied.stream, lock=True)
    if position is None or position.incarnation != applied.incarnation:
        position = Position(applied.stream, applied.incarnation)
    position.applied = positions.add(position.applied, applied.seqs)
    write_position(conn, position)
