"""Builders for the aggregator's tests: event payloads, hand-off events, databases, and
the slow reference verification the fast `tthc verify` is held to."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import Engine, select

from services.aggregator.storage.engine import make_engine, migrate
from services.aggregator.storage.meta import ensure_meta
from services.aggregator.storage.rows import EVENT_COLUMNS, STATE_COLUMNS, fold_row
from services.aggregator.storage.schema import case_event, case_state
from services.aggregator.storage.statements import delete_case_rows, replace_case_rows
from services.aggregator.verify import VerifyReport
from shared import handoff
from shared.domain.events import CaseEvent
from shared.domain.timeutil import parse_rfc3339
from shared.domain.validation import instants_of
from shared.handoff import HandoffEvent

COMMUNE = "00004"  # Phường Ba Đình, Hà Nội (province 01) in the 2025 registry
COMMUNE_B = "00008"  # Phường Ngọc Hà, Hà Nội
PROVINCE = "01"


def local(text: str) -> str:
    """`YYYY-MM-DDTHH:MM` local business time as RFC 3339 with +07:00."""
    return text + ":00+07:00" if len(text) == 16 else text


def us(text: str) -> int:
    """µs since the epoch of a local `YYYY-MM-DDTHH:MM` (or full RFC 3339) text."""
    return parse_rfc3339(local(text))


def payload(
    event_id: str,
    event_type: str,
    at: str,
    case_id: str = "C1",
    commune_code: str = COMMUNE,
    **extra: Any,
) -> dict[str, Any]:
    """An event payload as published (instants as local text); `received` gets defaults."""
    body: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "case_id": case_id,
        "commune_code": commune_code,
        "occurred_at": local(at),
    }
    if event_type == "received":
        body.setdefault("channel", extra.pop("channel", "direct"))
        body["due_at"] = local(extra.pop("due_at", "2025-03-10T17:00"))
    for key, value in extra.items():
        body[key] = local(value) if key in ("due_at", "new_due_at") else value
    return body


def event_of(p: dict[str, Any], seq: int, published_ns: int = 0) -> HandoffEvent:
    """A payload as intake hands it on (nulls dropped, instants parsed, bytes as sent)."""
    clean = {k: v for k, v in p.items() if v is not None}
    return handoff.from_accepted(clean, instants_of(clean), seq, published_ns, orjson.dumps(p))


def items(payloads: list[dict[str, Any]], first_seq: int = 1) -> list[HandoffEvent]:
    """Hand-off events with consecutive TTHC_EVENTS sequence numbers."""
    return [event_of(p, first_seq + i) for i, p in enumerate(payloads)]


def batch_message(payloads: list[dict[str, Any]], first_seq: int, ts_ns: int) -> bytes:
    """The body intake publishes on `tthc.accepted.batch`."""
    return handoff.encode([event_of(p, first_seq + i, ts_ns) for i, p in enumerate(payloads)])


def many_cases(n_cases: int, seed: int = 7) -> list[dict]:
    """A few events per case for n cases over two communes, with some anomalies."""
    rng = random.Random(seed)
    out: list[dict] = []
    for i in range(n_cases):
        commune = COMMUNE if i % 3 else COMMUNE_B
        day = 1 + i % 27
        case = f"HS-{i:05d}"
        out.append(
            payload(
                f"{case}-r",
                "received",
                f"2025-02-{day:02d}T08:00",
                case,
                commune,
                channel=rng.choice(["direct", "postal", "online_partial", "online_full"]),
                due_at=f"2025-03-{day:02d}T17:00",
            )
        )
        if rng.random() < 0.3:
            out.append(
                payload(
                    f"{case}-s", "supplement_requested", f"2025-02-{day:02d}T10:00", case, commune
                )
            )
            out.append(
                payload(
                    f"{case}-sr", "supplement_received", f"2025-02-{day:02d}T15:00", case, commune
                )
            )
        end = rng.random()
        if end < 0.6:
            out.append(
                payload(
                    f"{case}-x",
                    "resolved",
                    f"2025-03-{1 + (day + 3) % 27:02d}T09:00",
                    case,
                    commune,
                )
            )
        elif end < 0.7:
            out.append(payload(f"{case}-x", "withdrawn", f"2025-03-{day:02d}T09:00", case, commune))
        if rng.random() < 0.05:
            out.append(
                payload(f"{case}-dup", "received", f"2025-02-{day:02d}T09:00", case, commune)
            )
    return out


def migrated(url: str) -> Engine:
    """An engine on a database brought to the current schema, counters present."""
    engine = make_engine(url)
    migrate(engine)
    ensure_meta(engine)
    return engine


# --- the reference verification ----------------------------------------------------


def _cases(engine: Engine) -> Iterator[tuple[tuple[str, str], list[CaseEvent]]]:
    """(case key, events) of every case, from the stored columns, grouped in Python."""
    columns = [case_event.c[name] for name in EVENT_COLUMNS]
    by_case: dict[tuple[str, str], list[CaseEvent]] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(*columns)):
            event = CaseEvent(*row)
            by_case.setdefault(event.case_key, []).append(event)
    yield from sorted(by_case.items())


def reference_verify(engine: Engine, province_of: Any, repair: bool = False) -> VerifyReport:
    """Fold every case again and compare with its row: slow, plain, obviously right."""
    report = VerifyReport()
    with engine.connect() as conn:
        rows = {
            (r[0], r[1]): tuple(r)
            for r in conn.execute(select(*(case_state.c[c] for c in STATE_COLUMNS)))
        }
    fixes, seen = [], set()
    for key, events in _cases(engine):
        seen.add(key)
        expected = fold_row(events, province_of(key[0]))[1]
        stored = rows.get(key)
        report.cases += 1
        report.events += len(events)
        if stored != expected:
            columns = (
                ["(no row)"]
                if stored is None
                else [c for c, a, b in zip(STATE_COLUMNS, expected, stored, strict=True) if a != b]
            )
            if stored is None:
                report.missing_rows += 1
            report.note(key, "missing row" if stored is None else "row differs", columns, 10)
            fixes.append(expected)
    stale = sorted(set(rows) - seen)
    for key in stale:
        report.stale_rows += 1
        report.note(key, "row without events", [], 10)
    if repair and (fixes or stale):
        with engine.begin() as conn:
            delete_case_rows(conn, stale)
            replace_case_rows(conn, fixes)
        report.repaired = len(fixes) + len(stale)
    return report


def story() -> list[dict[str, Any]]:
    """A small hand-built story in commune 00004 around March 2025 (decree09 M03 = 15 Feb..14 Mar).

    - C1: received 20 Feb (direct, due 10 Mar), resolved 5 Mar: early.
    - C2: received 1 Feb (postal, due 20 Feb), still open: carried over, overdue since 20 Feb.
    - C3: received 25 Feb (online_full, due 1 Mar), resolved 3 Mar: late; an apology 2 Mar.
    - C4: received 26 Feb (online_partial, due 12 Mar), waiting for a supplement since 27 Feb.
    - C5: received 10 Feb, returned 16 Feb.
    - C6: an orphan: resolved 1 Mar, never received.
    - C7: received 1 Mar (direct, dat_dai, due 14 Mar 17:00), resolved 14 Mar 10:00: on time.
    """
    return [
        payload("e1", "received", "2025-02-20T09:00", "C1", due_at="2025-03-10T17:00"),
        payload("e2", "resolved", "2025-03-05T10:00", "C1"),
        payload(
            "e3", "received", "2025-02-01T09:00", "C2", channel="postal", due_at="2025-02-20T17:00"
        ),
        payload(
            "e4",
            "received",
            "2025-02-25T09:00",
            "C3",
            channel="online_full",
            due_at="2025-03-01T17:00",
        ),
        payload("e5", "apology_sent", "2025-03-02T09:00", "C3"),
        payload("e6", "resolved", "2025-03-03T09:00", "C3"),
        payload(
            "e7",
            "received",
            "2025-02-26T09:00",
            "C4",
            channel="online_partial",
            due_at="2025-03-12T17:00",
        ),
        payload("e8", "supplement_requested", "2025-02-27T09:00", "C4"),
        payload("e9", "received", "2025-02-10T09:00", "C5"),
        payload("e10", "returned", "2025-02-16T09:00", "C5"),
        payload("e11", "resolved", "2025-03-01T09:00", "C6"),
        payload(
            "e12", "received", "2025-03-01T09:00", "C7", field="dat_dai", due_at="2025-03-14T17:00"
        ),
        payload("e13", "resolved", "2025-03-14T10:00", "C7"),
    ]
