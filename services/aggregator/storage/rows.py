"""The row codec: a folded case <-> its `case_state` row, an accepted event <-> `case_event`.

`STATE_COLUMNS` is the single list of a case row's columns, in the order of `case_row`'s
tuples; every writer (the batch apply, `rebuild`, `verify --repair`) and reader
(`summary_from_row`) goes by it. A case's waits, letters and anomalies are kept as
compact JSON in `summary`, which is NULL for a *plain* case (none of them): the figures
count plain cases by group without reading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from shared.domain.case import Anomaly, CaseSummary, Wait, fold_case
from shared.domain.events import DEFAULT_AGENCY, CaseEvent

STATE_COLUMNS: tuple[str, ...] = (
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
    "agency",
    "procedure_code",
)
STATE_KEY = ("commune_code", "case_id")

# The fold's inputs of a stored event, in `CaseEvent`'s field order.
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "event_type",
    "case_id",
    "commune_code",
    "occurred_at",
    "channel",
    "due_at",
    "new_due_at",
    "field",
    "result_channel",
    "agency",
    "procedure_code",
)
# A stored event: the fold's inputs, then where it came from and its content.
EVENT_INSERT_COLUMNS: tuple[str, ...] = (
    *EVENT_COLUMNS,
    "payload",
    "events_seq",
    "stored_at",
    "digest",
)

# What `summary_from_row` reads, in this order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "commune_code",
    "case_id",
    "received_at",
    "channel",
    "field",
    "due_at",
    "overdue_at",
    "ended_at",
    "end_kind",
    "lateness",
    "event_count",
    "last_event_at",
    "summary",
    "agency",
    "procedure_code",
)


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


def case_row(summary: CaseSummary, first_event_at: int | None, province_code: str | None) -> tuple:
    """The `case_state` row of a folded case, as a tuple in `STATE_COLUMNS` order."""
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
        summary.agency,
        summary.procedure_code,
    )


def fold_row(events: Sequence[CaseEvent], province_code: str | None) -> tuple[CaseSummary, tuple]:
    """Fold a case's events: its summary and its row."""
    summary = fold_case(events)
    return summary, case_row(summary, min(e.occurred_at for e in events), province_code)


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
        agency,
        procedure_code,
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
        agency or DEFAULT_AGENCY,
        procedure_code,
    )
