"""The aggregator's storage: batches applied exactly once, case rows, verification.

One batch is one transaction: the events not stored yet are inserted (the event id is
the idempotency key, forever), every case they touch is folded again from all its
stored events (`fold_case`), its `case_state` row is replaced by the new fold, and the
counters of `aggregator_meta` move. A batch delivered twice, or overlapping another,
finds its events stored and changes nothing but the duplicates counter.

Replacing a case's row by its re-fold is how a late or out-of-order event "retracts the
case's old contribution and adds the new one": the figures are computed from these rows,
so they always equal a recomputation from the stored events (`verify` checks it).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, insert, select, tuple_

from services.aggregator.models import META_KEYS, aggregator_meta, case_event, case_state
from shared.domain.case import Anomaly, CaseSummary, Wait, fold_case
from shared.domain.events import CaseEvent
from shared.domain.validation import event_from_payload

# Rows per IN (...) list: well under SQLite's variable limit with two columns a key.
CHUNK = 400

ProvinceOf = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One accepted event with where it came from (TTHC_EVENTS seq, publish time in ns)."""

    event: CaseEvent
    seq: int | None = None
    published_ns: int | None = None


@dataclass(slots=True)
class BatchResult:
    """What one committed batch did."""

    applied: list[BatchItem] = field(default_factory=list)  # new events, now in the figures
    duplicates: int = 0
    cases: list[CaseSummary] = field(default_factory=list)  # the re-folded cases
    commit_us: int = 0
    # seconds spent in each step (for the service's slow-batch warning)
    phases: dict[str, float] = field(default_factory=dict)


def now_us() -> int:
    return time.time_ns() // 1000


# --- case rows <-> summaries ------------------------------------------------------------


def summary_json(summary: CaseSummary) -> str | None:
    """Waits, apologies and anomalies as compact JSON (None when all are empty)."""
    if not (summary.waits or summary.apologies or summary.anomalies):
        return None
    return orjson.dumps(
        {
            "w": [[w.kind, w.start, w.end] for w in summary.waits],
            "a": list(summary.apologies),
            "x": [[a.kind, a.event_id, a.occurred_at] for a in summary.anomalies],
        }
    ).decode()


def current_wait(summary: CaseSummary) -> str | None:
    """The kind of wait the case is in after its last event (None if none, or ended)."""
    if summary.ended_at is None and summary.waits and summary.waits[-1].end is None:
        return summary.waits[-1].kind
    return None


STATE_COLUMNS: tuple[str, ...] = tuple(c.name for c in case_state.columns)


def row_tuple(summary: CaseSummary, first_event_at: int | None, province_code: str | None) -> tuple:
    """The `case_state` row of a folded case, as a tuple in `ROW_TUPLE_COLUMNS` order
    (the hot path and the rebuild write tuples: no dict per row)."""
    return (
        summary.commune_code,
        summary.case_id,
        province_code,
        summary.received_at,
        summary.ended_at,
        summary.overdue_at,
        summary.due_at,
        first_event_at,
        summary.last_event_at,
        summary.channel,
        summary.field,
        summary.end_kind,
        summary.lateness,
        current_wait(summary),
        len(summary.apologies),
        len(summary.anomalies),
        summary.event_count,
        summary_json(summary),
    )


ROW_TUPLE_COLUMNS = (
    "commune_code",
    "case_id",
    "province_code",
    "received_at",
    "ended_at",
    "overdue_at",
    "due_at",
    "first_event_at",
    "last_event_at",
    "channel",
    "field",
    "end_kind",
    "lateness",
    "waiting",
    "apology_count",
    "anomaly_count",
    "event_count",
    "summary",
)
assert set(ROW_TUPLE_COLUMNS) == set(STATE_COLUMNS), "case_state changed: update row_tuple"


def row_from_summary(
    summary: CaseSummary, first_event_at: int | None, province_code: str | None
) -> dict[str, Any]:
    """The `case_state` row of a folded case, as a dict (`row_tuple` by column name)."""
    return dict(
        zip(ROW_TUPLE_COLUMNS, row_tuple(summary, first_event_at, province_code), strict=True)
    )


# What `summary_from_row` reads, in this order (select these columns).
SUMMARY_COLUMNS = [
    case_state.c.commune_code,
    case_state.c.case_id,
    case_state.c.received_at,
    case_state.c.channel,
    case_state.c.field,
    case_state.c.due_at,
    case_state.c.overdue_at,
    case_state.c.ended_at,
    case_state.c.end_kind,
    case_state.c.lateness,
    case_state.c.event_count,
    case_state.c.last_event_at,
    case_state.c.summary,
]

# The fold's inputs of a stored event, in `CaseEvent`'s field order.
EVENT_COLUMNS = [
    case_event.c.event_id,
    case_event.c.event_type,
    case_event.c.case_id,
    case_event.c.commune_code,
    case_event.c.occurred_at,
    case_event.c.channel,
    case_event.c.due_at,
    case_event.c.new_due_at,
    case_event.c.field,
    case_event.c.result_channel,
]


def summary_from_row(row: Sequence[Any]) -> CaseSummary:
    """Rebuild a `CaseSummary` from a `case_state` row selected as `SUMMARY_COLUMNS`."""
    (
        commune_code,
        case_id,
        received_at,
        channel,
        field_,
        due_at,
        overdue_at,
        ended_at,
        end_kind,
        lateness,
        event_count,
        last_event_at,
        raw,
    ) = row
    if raw:
        data = orjson.loads(raw)
        waits = tuple(Wait(k, s, e) for k, s, e in data["w"])
        apologies = tuple(data["a"])
        anomalies = tuple(Anomaly(k, i, t) for k, i, t in data["x"])
    else:
        waits, apologies, anomalies = (), (), ()
    return CaseSummary(
        commune_code,
        case_id,
        received_at,
        channel,
        field_,
        due_at,
        overdue_at,
        ended_at,
        end_kind,
        lateness,
        waits,
        apologies,
        anomalies,
        event_count,
        last_event_at,
    )


def decode_stored(payload: str | bytes) -> CaseEvent:
    """A stored event (its payload as published) back into a `CaseEvent`."""
    return event_from_payload(orjson.loads(payload))


# --- meta ------------------------------------------------------------------------------


def ensure_meta(engine: Engine) -> None:
    """Insert the counters that are absent (0)."""
    with engine.begin() as conn:
        present = {r[0] for r in conn.execute(select(aggregator_meta.c.key))}
        missing = [{"key": k, "value": 0} for k in META_KEYS if k not in present]
        if missing:
            conn.execute(insert(aggregator_meta), missing)


def read_meta(conn: Connection, lock: bool = False) -> dict[str, int]:
    """The counters (absent ones 0). `lock`: on PostgreSQL, `FOR UPDATE`, which
    serialises concurrent writers (SQLite has one writer at a time anyway)."""
    suffix = " FOR UPDATE" if lock and conn.dialect.name == "postgresql" else ""
    rows = conn.exec_driver_sql(f"SELECT key, value FROM aggregator_meta{suffix}").all()
    return dict.fromkeys(META_KEYS, 0) | {k: int(v) for k, v in rows}


def _write_meta(conn: Connection, before: dict[str, int], after: dict[str, int]) -> None:
    """Write the counters that changed (driver SQL: this runs once per batch)."""
    changed = [(value, key) for key, value in after.items() if before.get(key) != value]
    if not changed:
        return
    mark = _mark(conn)
    result = conn.exec_driver_sql(
        f"UPDATE aggregator_meta SET value = {mark} WHERE key = {mark}", changed
    )
    if result.rowcount != len(changed):  # a counter row missing (ensure_meta not run)
        present = {r[0] for r in conn.execute(select(aggregator_meta.c.key))}
        for value, key in changed:
            if key not in present:
                conn.execute(insert(aggregator_meta).values(key=key, value=value))


# --- applying a batch ------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# The hot path speaks SQL to the driver (`exec_driver_sql`): SQLAlchemy compiles a
# `VALUES` list or a multi-row statement anew for every batch, which cost more than the
# database work itself (measured with py-spy). The statements are plain, portable SQL;
# only the placeholder differs (`?` for sqlite3, `%s` for psycopg).

EVENT_INSERT_COLUMNS = (
    "event_id",
    "commune_code",
    "case_id",
    "event_type",
    "occurred_at",
    "channel",
    "due_at",
    "new_due_at",
    "field",
    "result_channel",
    "payload",
    "events_seq",
    "stored_at",
)
_EVENT_SELECT = ", ".join(f"e.{c.name}" for c in EVENT_COLUMNS)


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _marks(conn: Connection, n: int) -> str:
    return ", ".join([_mark(conn)] * n)


def _stored_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in _chunks(ids):
        sql = f"SELECT event_id FROM case_event WHERE event_id IN ({_marks(conn, len(part))})"
        found.update(r[0] for r in conn.exec_driver_sql(sql, tuple(part)))
    return found


def case_events_sql(mark: str, n: int) -> str:
    """Events (`EVENT_COLUMNS`) of n cases given as 2n parameters (commune, case)."""
    pairs = ", ".join([f"({mark}, {mark})"] * n)
    return (
        f"WITH k(c, i) AS (VALUES {pairs}) SELECT {_EVENT_SELECT} FROM k "
        "JOIN case_event e ON e.commune_code = k.c AND e.case_id = k.i"
    )


def load_case_events(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[CaseEvent]]:
    """Every stored event of the given cases (the fold's inputs, from their columns).

    The keys are joined as a `VALUES` list: SQLite plans `(a, b) IN ((?, ?), ...)` as a
    scan of the whole table (measured: 150 ms per 200 keys at 100,000 events, growing
    with the table), the join probes the `(commune_code, case_id)` index (2-6 ms).
    """
    out: dict[tuple[str, str], list[CaseEvent]] = {k: [] for k in keys}
    for part in _chunks(list(keys), CHUNK // 2):
        sql = case_events_sql(_mark(conn), len(part))
        params = tuple(x for key in part for x in key)
        for row in conn.exec_driver_sql(sql, params):
            out[(row[3], row[2])].append(CaseEvent(*row))
    return out


def insert_events(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert `case_event` rows given as tuples in `EVENT_INSERT_COLUMNS` order."""
    sql = (
        f"INSERT INTO case_event ({', '.join(EVENT_INSERT_COLUMNS)}) "
        f"VALUES ({_marks(conn, len(EVENT_INSERT_COLUMNS))})"
    )
    conn.exec_driver_sql(sql, list(rows))


def _upsert_sql(conn: Connection) -> str | None:
    """One statement replacing the `case_state` row of the same case, or None."""
    columns = ", ".join(ROW_TUPLE_COLUMNS)
    marks = _marks(conn, len(ROW_TUPLE_COLUMNS))
    if conn.dialect.name == "sqlite":
        return f"INSERT OR REPLACE INTO case_state ({columns}) VALUES ({marks})"
    if conn.dialect.name == "postgresql":
        updates = ", ".join(
            f"{c} = EXCLUDED.{c}" for c in ROW_TUPLE_COLUMNS if c not in ("commune_code", "case_id")
        )
        return (
            f"INSERT INTO case_state ({columns}) VALUES ({marks}) "
            f"ON CONFLICT (commune_code, case_id) DO UPDATE SET {updates}"
        )
    return None


def replace_case_tuples(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """`replace_case_rows` for rows given as `row_tuple`s (the hot path)."""
    if not rows:
        return
    sql = _upsert_sql(conn)
    if sql is None:
        replace_case_rows(conn, [dict(zip(ROW_TUPLE_COLUMNS, row, strict=True)) for row in rows])
        return
    conn.exec_driver_sql(sql, list(rows))


def replace_case_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the `case_state` rows of these cases (an upsert; delete then insert elsewhere)."""
    if not rows:
        return
    sql = _upsert_sql(conn)
    if sql is not None:
        conn.exec_driver_sql(sql, [tuple(r[c] for c in ROW_TUPLE_COLUMNS) for r in rows])
        return
    for part in _chunks(list(rows), CHUNK // 2):
        keys = [(r["commune_code"], r["case_id"]) for r in part]
        conn.execute(
            delete(case_state).where(
                tuple_(case_state.c.commune_code, case_state.c.case_id).in_(keys)
            )
        )
        conn.execute(insert(case_state), list(part))


CaseKey = tuple[str, str]

# Stored events the case cache holds at most (about 0.76 KB each with their strings and
# tuples, measured with tracemalloc: ~76 MB when full).
CACHE_MAX_EVENTS = 100_000


class CaseCache:
    """Recently folded cases' stored events (case key -> tuple of `CaseEvent`), LRU.

    `apply_batch` folds a case from these instead of reading its events back when the
    case is here. It is exact only if nobody else stored events since this cache's last
    update, so it remembers the `events_stored` counter its last commit left
    (`events_stored`) and `apply_batch` empties it when the counter read (under the
    counters' lock) differs: another writer, a restore, anything. It is updated only
    after a successful commit and emptied when a transaction fails. Bounded by the
    number of events held (`max_events`), least recently folded cases dropped first.
    """

    def __init__(self, max_events: int = CACHE_MAX_EVENTS) -> None:
        self.max_events = max_events
        self._cases: OrderedDict[CaseKey, tuple[CaseEvent, ...]] = OrderedDict()
        self.events = 0  # events held
        self.events_stored: int | None = None  # the counter after our last commit

    def __len__(self) -> int:
        return len(self._cases)

    def clear(self) -> None:
        self._cases.clear()
        self.events = 0
        self.events_stored = None

    def get(self, key: CaseKey) -> tuple[CaseEvent, ...] | None:
        events = self._cases.get(key)
        if events is not None:
            self._cases.move_to_end(key)
        return events

    def put(self, key: CaseKey, events: tuple[CaseEvent, ...]) -> None:
        old = self._cases.pop(key, None)
        if old is not None:
            self.events -= len(old)
        if len(events) > self.max_events:
            return
        self._cases[key] = events
        self.events += len(events)
        while self.events > self.max_events:
            _, dropped = self._cases.popitem(last=False)
            self.events -= len(dropped)


def _bare(e: CaseEvent) -> CaseEvent:
    """The event as `load_case_events` reads it back (its columns, no payload)."""
    return CaseEvent(
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
    )


def apply_batch(
    engine: Engine,
    items: Iterable[BatchItem],
    province_of: ProvinceOf,
    cache: CaseCache | None = None,
) -> BatchResult:
    """Store the new events of a batch and re-fold their cases, in ONE transaction.

    Events already stored (earlier batches) or repeated inside the batch are counted as
    duplicates and change nothing else. Raises on a database error, having changed
    nothing (the caller leaves the messages unacknowledged and retries). With a
    `cache`, the cases found in it are folded from its events plus the new ones rather
    than from their events read back (same inputs, so the same rows).
    """
    if cache is None:
        return _apply_batch(engine, items, province_of, None)
    try:
        return _apply_batch(engine, items, province_of, cache)
    except BaseException:
        cache.clear()
        raise


def _apply_batch(
    engine: Engine,
    items: Iterable[BatchItem],
    province_of: ProvinceOf,
    cache: CaseCache | None,
) -> BatchResult:
    unique: dict[str, BatchItem] = {}
    repeats = 0
    for item in items:
        if item.event.event_id in unique:
            repeats += 1
        else:
            unique[item.event.event_id] = item
    result = BatchResult()
    stamp = now_us()
    clock = time.perf_counter
    started = clock()
    phases = result.phases
    with engine.begin() as conn:
        before = read_meta(conn, lock=True)  # first: serialises writers on PostgreSQL
        phases["begin"] = clock() - started
        if cache is not None and cache.events_stored != before["events_stored"]:
            cache.clear()  # first batch, or events stored by someone else since
        stored = _stored_ids(conn, list(unique))
        new = [item for eid, item in unique.items() if eid not in stored]
        result.duplicates = repeats + len(stored)
        after = dict(before)
        after["duplicates_seen"] += result.duplicates
        after["batches_committed"] += 1
        if new:
            dumps = orjson.dumps
            insert_events(
                conn,
                [
                    (
                        e.event_id,
                        e.commune_code,
                        e.case_id,
                        e.event_type,
                        e.occurred_at,
                        e.channel,
                        e.due_at,
                        e.new_due_at,
                        e.field,
                        e.result_channel,
                        dumps(e.payload).decode(),
                        it.seq,
                        stamp,
                    )
                    for it in new
                    for e in (it.event,)
                ],
            )
            keys = sorted({it.event.case_key for it in new})
            cached: dict[CaseKey, list[CaseEvent]] = {}
            if cache is not None:
                for key in keys:
                    held = cache.get(key)
                    if held is not None:
                        cached[key] = list(held)
                for it in new:
                    held_events = cached.get(it.event.case_key)
                    if held_events is not None:
                        held_events.append(_bare(it.event))
            phases["insert"] = clock() - started
            by_case = load_case_events(conn, [k for k in keys if k not in cached])
            by_case.update(cached)
            phases["load"] = clock() - started
            rows = []
            for key in keys:
                events = by_case[key]
                summary = fold_case(events)
                result.cases.append(summary)
                first = min(e.occurred_at for e in events)
                rows.append(row_tuple(summary, first, province_of(key[0])))
            phases["fold"] = clock() - started
            replace_case_tuples(conn, rows)
            phases["upsert"] = clock() - started
            after["events_stored"] += len(new)
            seqs = [it.seq for it in new if it.seq is not None]
            if seqs:
                after["events_seq_max"] = max(after["events_seq_max"], *seqs)
            after["last_event_at"] = max(
                after["last_event_at"], *(it.event.occurred_at for it in new)
            )
        _write_meta(conn, before, after)
        phases["meta"] = clock() - started
    phases["commit"] = clock() - started
    if cache is not None:  # committed: the cache now holds what the database does
        if new:
            for key in keys:
                cache.put(key, tuple(by_case[key]))
        cache.events_stored = after["events_stored"]
    result.applied = new
    result.commit_us = now_us()
    return result


# --- verification ----------------------------------------------------------------------


@dataclass(slots=True)
class VerifyReport:
    """What `verify` found: cases whose stored row differs from a fold of their events."""

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


def _ordered(conn: Connection, *columns: Any) -> list[Any]:
    """ORDER BY terms in code-point order, as Python compares strings (merge joins)."""
    if conn.dialect.name == "postgresql":
        return [c.collate("C") for c in columns]
    return list(columns)  # SQLite's BINARY collation is code-point order for UTF-8


def _iter_cases(
    conn: Connection, deep: bool, page: int = 5000
) -> Iterator[tuple[tuple[str, str], list[CaseEvent]]]:
    """(case key, events) of every case, in (commune_code, case_id) order, streamed.

    Events are built from their stored columns, or with `deep` decoded again from their
    payloads (slower: JSON and RFC 3339 parsing), which also checks the columns.
    """
    columns = [case_event.c.payload] if deep else EVENT_COLUMNS
    stmt = select(case_event.c.commune_code, case_event.c.case_id, *columns).order_by(
        *_ordered(conn, case_event.c.commune_code, case_event.c.case_id)
    )
    result = conn.execution_options(stream_results=True, yield_per=page).execute(stmt)
    current: tuple[str, str] | None = None
    events: list[CaseEvent] = []
    for row in result:
        key = (row[0], row[1])
        if key != current:
            if current is not None:
                yield current, events
            current, events = key, []
        events.append(decode_stored(row[2]) if deep else CaseEvent(*row[2:]))
    if current is not None:
        yield current, events


def _iter_rows(conn: Connection, page: int = 5000) -> Iterator[dict[str, Any]]:
    stmt = select(case_state).order_by(
        *_ordered(conn, case_state.c.commune_code, case_state.c.case_id)
    )
    result = conn.execution_options(stream_results=True, yield_per=page).execute(stmt)
    for row in result:
        yield dict(zip(STATE_COLUMNS, row, strict=True))


def _diff(expected: dict[str, Any], stored: dict[str, Any] | None) -> list[str]:
    if stored is None:
        return ["(no row)"]
    if expected == stored:
        return []
    return [c for c in STATE_COLUMNS if expected.get(c) != stored.get(c)]


def verify(
    engine: Engine,
    province_of: ProvinceOf,
    repair: bool = False,
    deep: bool = False,
    progress: Callable[[VerifyReport], None] | None = None,
    progress_every: int = 100_000,
    max_examples: int = 10,
) -> VerifyReport:
    """Fold every case again from its stored events and compare with its `case_state` row.

    Events and rows are both streamed in (commune_code, case_id) order and merged, so
    memory stays flat however many events are stored. With `repair`, drifting rows are
    rewritten and stale ones deleted, in transactions of a few hundred cases.
    """
    report = VerifyReport()
    started = time.perf_counter()
    fixes: list[dict[str, Any]] = []
    stale: list[tuple[str, str]] = []
    next_progress = progress_every

    def flush() -> None:
        if repair and (fixes or stale):
            with engine.begin() as wconn:
                if stale:
                    for part in _chunks(stale, CHUNK // 2):
                        wconn.execute(
                            delete(case_state).where(
                                tuple_(case_state.c.commune_code, case_state.c.case_id).in_(
                                    list(part)
                                )
                            )
                        )
                if fixes:
                    replace_case_rows(wconn, fixes)
            report.repaired += len(fixes) + len(stale)
        fixes.clear()
        stale.clear()

    with engine.connect() as econn, engine.connect() as sconn:
        rows = _iter_rows(sconn)
        row = next(rows, None)
        for key, events in _iter_cases(econn, deep):
            # Rows before this case have no events: stale.
            while row is not None and (row["commune_code"], row["case_id"]) < key:
                report.stale_rows += 1
                stale_key = (row["commune_code"], row["case_id"])
                report.note(stale_key, "row without events", [], max_examples)
                stale.append(stale_key)
                row = next(rows, None)
            stored = None
            if row is not None and (row["commune_code"], row["case_id"]) == key:
                stored, row = row, next(rows, None)
            summary = fold_case(events)
            expected = row_from_summary(
                summary, min(e.occurred_at for e in events), province_of(key[0])
            )
            report.cases += 1
            report.events += len(events)
            columns = _diff(expected, stored)
            if columns:
                if stored is None:
                    report.missing_rows += 1
                report.note(
                    key, "missing row" if stored is None else "row differs", columns, max_examples
                )
                fixes.append(expected)
            if len(fixes) + len(stale) >= CHUNK:
                flush()
            if progress is not None and report.events >= next_progress:
                report.seconds = time.perf_counter() - started
                progress(report)
                next_progress += progress_every
        while row is not None:
            report.stale_rows += 1
            stale_key = (row["commune_code"], row["case_id"])
            report.note(stale_key, "row without events", [], max_examples)
            stale.append(stale_key)
            row = next(rows, None)
    flush()
    report.seconds = time.perf_counter() - started
    return report


def counts(engine: Engine) -> dict[str, int]:
    """Events stored, cases and the meta counters (for status and the watermark)."""
    from sqlalchemy import func

    with engine.connect() as conn:
        meta = read_meta(conn)
        cases = conn.execute(select(func.count()).select_from(case_state)).scalar_one()
    return {**meta, "cases": int(cases)}
