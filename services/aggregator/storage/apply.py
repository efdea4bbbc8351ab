"""Applying a batch of accepted events exactly once, in one transaction.

One batch is one transaction: the events not stored yet are inserted (the event id is
the idempotency key, forever), every case they touch is folded again from all its
stored events (`fold_case`), its `case_state` row is replaced by the new fold, the
counters move, and the hand-off messages of the batch are added to the applied
position. A batch delivered twice, or overlapping another, finds its events stored and
changes nothing but the duplicates counter.

An event whose id is stored with *other* content is a conflict: it is kept whole in
`conflicting_event` and counted; the first stored still wins. What could not be read
or stored (`SetAside`) is kept as bytes in `set_aside`, in the same transaction.

Replacing a case's row by its re-fold is how a late or out-of-order event "retracts the
case's old contribution and adds the new one": the figures are computed from these
rows, so they always equal a recomputation from the stored events (`verify`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from services.aggregator.storage.cache import CaseCache, CaseKey
from services.aggregator.storage.dialect import CHUNK, chunks, mark, marks, upsert_sql
from services.aggregator.storage.meta import Applied, read_meta, record_applied, write_meta
from services.aggregator.storage.rows import (
    EVENT_COLUMNS,
    EVENT_INSERT_COLUMNS,
    STATE_COLUMNS,
    STATE_KEY,
    fold_row,
)
from shared.domain.case import CaseSummary
from shared.domain.events import CaseEvent
from shared.handoff import HandoffEvent, same_content

ProvinceOf = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class SetAside:
    """Something not applied, kept as bytes: `unreadable_handoff` or `refused_event`."""

    kind: str
    detail: str
    data: bytes
    accepted_seq: int | None = None
    events_seq: int | None = None


@dataclass(slots=True)
class BatchResult:
    """What one committed batch did."""

    applied: list[HandoffEvent] = field(default_factory=list)  # new events, now in the figures
    duplicates: int = 0
    conflicts: int = 0
    cases: list[CaseSummary] = field(default_factory=list)  # the re-folded cases
    commit_us: int = 0
    # seconds spent in each step (for the service's slow-batch warning)
    phases: dict[str, float] = field(default_factory=dict)


def now_us() -> int:
    return time.time_ns() // 1000


def _stored_digests(conn: Connection, ids: Sequence[str]) -> dict[str, int | None]:
    """The digest of each of these event ids already stored (None: stored before digests)."""
    found: dict[str, int | None] = {}
    m = mark(conn.dialect.name)
    for part in chunks(ids):
        listed = ", ".join([m] * len(part))
        sql = f"SELECT event_id, digest FROM case_event WHERE event_id IN ({listed})"
        found.update(conn.exec_driver_sql(sql, tuple(part)).all())
    return found


def _stored_payload(conn: Connection, event_id: str) -> bytes:
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
    for part in chunks(list(keys), CHUNK // 2):
        sql = case_events_sql(conn.dialect.name, len(part))
        params = tuple(x for key in part for x in key)
        for row in conn.exec_driver_sql(sql, params):
            out[(row[3], row[2])].append(CaseEvent(*row))
    return out


def insert_events(conn: Connection, rows: Sequence[tuple]) -> None:
    """Insert `case_event` rows given as tuples in `EVENT_INSERT_COLUMNS` order."""
    sql = (
        f"INSERT INTO case_event ({', '.join(EVENT_INSERT_COLUMNS)}) "
        f"VALUES ({marks(conn.dialect.name, len(EVENT_INSERT_COLUMNS))})"
    )
    conn.exec_driver_sql(sql, list(rows))


def replace_case_rows(
    conn: Connection, rows: Sequence[tuple], fixed: Sequence[str] = ("province_code",)
) -> None:
    """Replace the `case_state` rows of these cases (rows as `case_row` tuples).

    `fixed`: columns an existing row keeps. A case's province is written with its first
    row and kept (its index is then left alone: about 2 µs less per event on SQLite); `tthc verify
    --repair` passes none, so that a registry that moved a commune is written through."""
    if rows:
        sql = upsert_sql(conn.dialect.name, "case_state", STATE_COLUMNS, STATE_KEY, fixed=fixed)
        conn.exec_driver_sql(sql, list(rows))


def delete_case_rows(conn: Connection, keys: Sequence[CaseKey]) -> None:
    m = mark(conn.dialect.name)
    sql = f"DELETE FROM case_state WHERE commune_code = {m} AND case_id = {m}"
    if keys:
        conn.exec_driver_sql(sql, list(keys))


def _event_row(e: HandoffEvent, stamp: int) -> tuple:
    return (
        e.event_id,
        e.event_type,
        e.case_id,
        e.commune_code,
        e.occurred_at,
        e.channel,
        e.due_at,
        e.new_due_at,
        e.field,
        e.result_channel,
        e.agency,
        e.procedure_code,
        e.payload.decode(),
        e.seq,
        stamp,
        e.digest,
    )


def _keep_conflicts(conn: Connection, events: Sequence[HandoffEvent], stamp: int) -> None:
    m = marks(conn.dialect.name, 9)
    conn.exec_driver_sql(
        "INSERT INTO conflicting_event (event_id, commune_code, case_id, occurred_at, agency, "
        f"digest, payload, events_seq, stored_at) VALUES ({m})",
        [
            (e.event_id, e.commune_code, e.case_id, e.occurred_at, e.agency, e.digest,
             e.payload.decode(), e.seq, stamp)
            for e in events
        ],
    )  # fmt: skip


def keep_set_aside(conn: Connection, items: Sequence[SetAside], stamp: int) -> None:
    if items:
        m = marks(conn.dialect.name, 6)
        conn.exec_driver_sql(
            "INSERT INTO set_aside (kind, accepted_seq, events_seq, detail, data, stored_at) "
            f"VALUES ({m})",
            [(s.kind, s.accepted_seq, s.events_seq, s.detail[:300], s.data, stamp) for s in items],
        )


def apply_batch(
    engine: Engine,
    events: Sequence[HandoffEvent],
    province_of: ProvinceOf,
    cache: CaseCache | None = None,
    *,
    applied: Applied | None = None,
    set_aside: Sequence[SetAside] = (),
) -> BatchResult:
    """Store the new events of a batch and re-fold their cases, in ONE transaction.

    Events already stored (earlier batches) or repeated inside the batch are counted as
    duplicates and change nothing else. Raises on a database error, having changed
    nothing (the caller leaves the messages unacknowledged and retries). With a
    `cache`, the cases found in it are folded from its events plus the new ones rather
    than from their events read back (same inputs, so the same rows). `applied`: the
    hand-off messages this batch applies, added to the applied position.
    """
    if cache is None:
        return _apply(engine, events, province_of, None, applied, set_aside)
    try:
        return _apply(engine, events, province_of, cache, applied, set_aside)
    except BaseException:
        cache.clear()
        raise


def _apply(
    engine: Engine,
    events: Sequence[HandoffEvent],
    province_of: ProvinceOf,
    cache: CaseCache | None,
    applied: Applied | None,
    set_aside: Sequence[SetAside],
) -> BatchResult:
    result = BatchResult()
    stamp = now_us()
    clock = time.perf_counter
    started = clock()
    phases = result.phases
    keys: list[CaseKey] = []
    by_case: dict[CaseKey, list[CaseEvent]] = {}
    with engine.begin() as conn:
        before = read_meta(conn, lock=True)  # first: serialises writers on PostgreSQL
        phases["begin"] = clock() - started
        if cache is not None and cache.events_stored != before["events_stored"]:
            cache.clear()  # first batch, or events stored by someone else since
        stored = _stored_digests(conn, list(dict.fromkeys(e.event_id for e in events)))
        new, conflicts, result.duplicates = _sort_out(conn, events, stored)
        result.conflicts = len(conflicts)
        after = dict(before)
        after["batches_committed"] += 1
        after["duplicates_seen"] += result.duplicates
        after["conflicts_seen"] += len(conflicts)
        after["set_aside"] += len(set_aside)
        if conflicts:
            _keep_conflicts(conn, conflicts, stamp)
        keep_set_aside(conn, set_aside, stamp)
        if new:
            keys = sorted({(e.commune_code, e.case_id) for e in new})
            by_case = _events_of(conn, keys, new, cache)
            phases["load"] = clock() - started
            insert_events(conn, [_event_row(e, stamp) for e in new])
            phases["insert"] = clock() - started
            rows = []
            for key in keys:
                summary, row = fold_row(by_case[key], province_of(key[0]))
                result.cases.append(summary)
                rows.append(row)
            phases["fold"] = clock() - started
            replace_case_rows(conn, rows)
            phases["upsert"] = clock() - started
            after["events_stored"] += len(new)
            after["events_seq_max"] = max(after["events_seq_max"], *(e.seq for e in new))
            after["last_event_at"] = max(after["last_event_at"], *(e.occurred_at for e in new))
        if applied is not None and applied.seqs:
            record_applied(conn, applied)
        write_meta(conn, before, after)
        phases["meta"] = clock() - started
    phases["commit"] = clock() - started
    if cache is not None:  # committed: the cache now holds what the database does
        for key in keys:
            cache.put(key, tuple(by_case[key]))
        cache.events_stored = after["events_stored"]
    result.applied = new
    result.commit_us = now_us()
    return result


def _sort_out(
    conn: Connection, events: Sequence[HandoffEvent], stored: dict[str, int | None]
) -> tuple[list[HandoffEvent], list[HandoffEvent], int]:
    """(new events, conflicts, duplicates): a known id with the same content (the same
    bytes, or the same fields re-serialised) is a duplicate, with other content a
    conflict; the first of an id in the batch is new."""
    new: list[HandoffEvent] = []
    conflicts: list[HandoffEvent] = []
    duplicates = 0
    first: dict[str, HandoffEvent] = {}
    for e in events:
        eid = e.event_id
        if eid in first:  # seen earlier in this batch
            same = first[eid].digest == e.digest or same_content(first[eid].payload, e.payload)
        elif eid in stored:
            same = stored[eid] == e.digest or same_content(_stored_payload(conn, eid), e.payload)
        else:
            first[eid] = e
            new.append(e)
            continue
        if same:
            duplicates += 1
        else:
            conflicts.append(e)
    return new, conflicts, duplicates


def _events_of(
    conn: Connection, keys: list[CaseKey], new: list[HandoffEvent], cache: CaseCache | None
) -> dict[CaseKey, list[CaseEvent]]:
    """Every event of the cases the new events touch: the stored ones (from the cache,
    or read back from the database, before the new ones are inserted) plus the new."""
    by_case: dict[CaseKey, list[CaseEvent]] = {}
    missing = keys
    if cache is not None:
        missing = []
        for key in keys:
            held = cache.get(key)
            if held is None:
                missing.append(key)
            else:
                by_case[key] = list(held)
    if missing:
        by_case.update(load_case_events(conn, missing))
    for e in new:
        by_case[(e.commune_code, e.case_id)].append(e.event())
    return by_case
