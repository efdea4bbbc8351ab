"""Case anomalies of a period: counts by kind and a list naming cases, never payloads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.domain.case import ANOMALY_KINDS, AnomalyKind, CaseSummary
from shared.domain.events import Instant
from shared.domain.timeutil import format_instant

ANOMALY_LIST_LIMIT = 200
CONFLICTING_DUPLICATE = "conflicting_duplicate"
"""Found by the storage, not by a fold: an event id already stored with other content
(the first stored wins for the figures; the other is kept and listed)."""
REPORT_KINDS: tuple[str, ...] = (*ANOMALY_KINDS, CONFLICTING_DUPLICATE)

Found = tuple[Instant, str, str, str, str]
"""An anomaly found outside a fold: (occurred_at, commune_code, case_id, event_id, kind)."""


def anomaly_report(
    cases: Iterable[CaseSummary],
    start: Instant,
    end: Instant,
    limit: int = ANOMALY_LIST_LIMIT,
    extra: Iterable[Found] = (),
) -> dict[str, object]:
    """The anomalies of `[start, end)`: counts by kind (every kind, 0 included) and a list.

    An anomaly counts when its event occurred in the period. An orphan case (no
    `received` yet) counts when its events span `[first, last]` meets the period: it was
    an orphan then. The list (at most `limit` entries, oldest first) names the case and
    the event, never a payload: `{case_id, commune_code, kind, event_id, occurred_at}`.
    `extra`: anomalies the storage found (conflicting duplicates), counted when they
    occurred in the period.
    """
    counts = dict.fromkeys(REPORT_KINDS, 0)
    found: list[Found] = []
    for item in extra:
        if start <= item[0] < end:
            counts[item[4]] = counts.get(item[4], 0) + 1
            found.append(item)
    for case in cases:
        for anomaly in case.anomalies:
            t = anomaly.occurred_at
            if anomaly.kind == AnomalyKind.ORPHAN:
                last = case.last_event_at if case.last_event_at is not None else t
                inside = t < end and last >= start
            else:
                inside = start <= t < end
            if inside:
                counts[anomaly.kind] = counts.get(anomaly.kind, 0) + 1
                found.append((t, case.commune_code, case.case_id, anomaly.event_id, anomaly.kind))
    found.sort()
    listed = [
        {
            "case_id": case_id,
            "commune_code": commune_code,
            "kind": kind,
            "event_id": event_id,
            "occurred_at": format_instant(t),
        }
        for t, commune_code, case_id, event_id, kind in found[:limit]
    ]
    return {
        "counts": counts,
        "total": len(found),
        "cases": listed,
        "truncated": len(found) > limit,
    }


def sum_anomaly_reports(
    reports: Iterable[Mapping[str, object]], limit: int = ANOMALY_LIST_LIMIT
) -> dict[str, object]:
    """A province's anomalies: counts summed, lists merged (oldest first, capped)."""
    counts = dict.fromkeys(REPORT_KINDS, 0)
    total = 0
    listed: list[dict[str, str]] = []
    truncated = False
    for report in reports:
        for kind, n in dict(report.get("counts") or {}).items():  # type: ignore[call-overload]
            counts[kind] = counts.get(kind, 0) + int(n)
        total += int(report.get("total") or 0)  # type: ignore[call-overload]
        listed.extend(report.get("cases") or [])  # type: ignore[arg-type]
        truncated = truncated or bool(report.get("truncated"))
    listed.sort(key=lambda a: (a["occurred_at"], a["commune_code"], a["case_id"], a["event_id"]))
    return {
        "counts": counts,
        "total": total,
        "cases": listed[:limit],
        "truncated": truncated or len(listed) > limit,
    }
