"""The figures of a period (số liệu thống kê), a pure function of case summaries.

Flows count what happened inside `[start, end)`; stocks are taken just before `start`
(carried over) or just before `end`. `end` is the period's last instant or the moment
of asking, whichever is earlier ("at end" in appendix.md): a past period's figures are
a pure function of the events, a running period's move with the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from shared.domain.case import ANOMALY_KINDS, AnomalyKind, CaseSummary, Lateness
from shared.domain.events import CHANNELS, FIELD_CONSTRUCTION, FIELD_LAND, Instant
from shared.domain.timeutil import format_instant

COUNT_KEYS: tuple[str, ...] = (
    "carried_over",
    "received_total",
    "received_direct",
    "received_postal",
    "received_online_partial",
    "received_online_full",
    "resolved_total",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "resolved_in_time_direct",
    "resolved_in_time_postal",
    "resolved_in_time_online_partial",
    "resolved_in_time_online_full",
    "resolved_in_time_land",
    "resolved_in_time_construction",
    "returned",
    "withdrawn",
    "open_at_end",
    "open_in_time_at_end",
    "open_overdue_at_end",
    "awaiting_supplement_at_end",
    "paused_at_end",
    "became_overdue",
    "apologies_sent",
    "apologized_cases",
    "resolved_late_without_apology",
    "open_overdue_without_apology_at_end",
)
RATE_KEYS: tuple[str, ...] = ("on_time_rate", "online_rate")
FIGURE_KEYS: tuple[str, ...] = COUNT_KEYS + RATE_KEYS

Figures = dict[str, int | float | None]


def rate(numerator: int, denominator: int) -> float | None:
    """100 * numerator / denominator, rounded half up to 2 decimals; None if no denominator."""
    if denominator == 0:
        return None
    value = (Decimal(100) * numerator / Decimal(denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return float(value)


def with_rates(counts: Mapping[str, int]) -> Figures:
    """Counts completed with the two rates, recomputed from the counts."""
    figures: Figures = {key: int(counts.get(key, 0)) for key in COUNT_KEYS}
    in_time = int(figures["resolved_early"] or 0) + int(figures["resolved_on_time"] or 0)
    figures["on_time_rate"] = rate(in_time, int(figures["resolved_total"] or 0))
    online = int(figures["received_online_partial"] or 0) + int(
        figures["received_online_full"] or 0
    )
    figures["online_rate"] = rate(online, int(figures["received_total"] or 0))
    return figures


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_KEYS, 0)


def add_case(counts: dict[str, int], case: CaseSummary, start: Instant, end: Instant) -> None:
    """Add one case's contribution to the figures of `[start, end)` (end already clipped)."""
    received = case.received_at
    if received is None or received >= end:
        return  # an orphan, or not yet received: counted nowhere
    ended = case.ended_at
    if ended is not None and ended < start:
        # Ended before the period. Nothing of it can fall inside: an apology after the
        # end is an anomaly and is not kept as a letter.
        return
    if received < start:
        counts["carried_over"] += 1
    else:
        counts["received_total"] += 1
        counts[f"received_{case.channel}"] += 1

    apologies_before_end = [a for a in case.apologies if a < end]
    letters_in_period = sum(1 for a in apologies_before_end if a >= start)
    if letters_in_period:
        counts["apologies_sent"] += letters_in_period
        counts["apologized_cases"] += 1

    overdue = case.overdue_at
    if overdue is not None and start <= overdue < end:
        counts["became_overdue"] += 1

    if ended is not None and ended < end:
        kind = case.end_kind
        if kind == "resolved":
            counts["resolved_total"] += 1
            lateness = case.lateness
            counts[f"resolved_{lateness}"] += 1
            if lateness == Lateness.LATE:
                if not apologies_before_end:
                    counts["resolved_late_without_apology"] += 1
            else:
                counts[f"resolved_in_time_{case.channel}"] += 1
                if case.field == FIELD_LAND:
                    counts["resolved_in_time_land"] += 1
                elif case.field == FIELD_CONSTRUCTION:
                    counts["resolved_in_time_construction"] += 1
        else:
            counts[kind] += 1  # returned, withdrawn
        return

    # Open at the end.
    counts["open_at_end"] += 1
    if overdue is not None and overdue < end:
        counts["open_overdue_at_end"] += 1
        if not apologies_before_end:
            counts["open_overdue_without_apology_at_end"] += 1
    else:
        counts["open_in_time_at_end"] += 1
    waiting = case.waiting_at(end)
    if waiting == "supplement":
        counts["awaiting_supplement_at_end"] += 1
    elif waiting == "pause":
        counts["paused_at_end"] += 1


def add_plain(
    counts: dict[str, int],
    channel: str | None,
    end_kind: str | None,
    lateness: str | None,
    field: str | None,
    seen: int,
    carried: int,
    ended: int,
    overdue: int,
    became_overdue: int,
    overdue_ended: int,
) -> None:
    """Add a group of alike *plain* cases (no waits, no apology letters, no anomalies).

    Gives exactly what `add_case` gives each of them, from counts a database can take
    over the group: the cases of one (channel, end_kind, lateness, field) that the
    period `[start, end)` sees (`seen`: received before `end`, not ended before
    `start`), and among those: `carried` (received before `start`), `ended` (ended
    before `end`), `overdue` (overdue before `end`), `became_overdue` (overdue inside
    the period), `overdue_ended` (overdue and ended before `end`). A plain case's end
    kind and lateness are final; overdue comes no later than the end.
    """
    if not seen:
        return
    counts["carried_over"] += carried
    counts["received_total"] += seen - carried
    counts[f"received_{channel}"] += seen - carried
    counts["became_overdue"] += became_overdue
    if ended:
        if end_kind == "resolved":
            counts["resolved_total"] += ended
            counts[f"resolved_{lateness}"] += ended
            if lateness == Lateness.LATE:
                counts["resolved_late_without_apology"] += ended  # plain: no letter at all
            else:
                counts[f"resolved_in_time_{channel}"] += ended
                if field == FIELD_LAND:
                    counts["resolved_in_time_land"] += ended
                elif field == FIELD_CONSTRUCTION:
                    counts["resolved_in_time_construction"] += ended
        else:
            counts[str(end_kind)] += ended  # returned, withdrawn
    open_ = seen - ended
    open_overdue = overdue - overdue_ended
    counts["open_at_end"] += open_
    counts["open_overdue_at_end"] += open_overdue
    counts["open_overdue_without_apology_at_end"] += open_overdue
    counts["open_in_time_at_end"] += open_ - open_overdue
    # Plain cases never wait: nothing awaiting a supplement or paused.


def compute_figures(
    cases: Iterable[CaseSummary], start: Instant, end: Instant, now: Instant
) -> Figures:
    """The figures of the period `[start, end)` asked at `now`, over the given cases.

    `end` is clipped to `now` ("at end" is the period's last instant or the moment of
    asking, if earlier); a period that has not begun yet has empty flows and its stocks
    taken now.
    """
    end = min(end, now)
    start = min(start, end)
    counts = empty_counts()
    for case in cases:
        add_case(counts, case, start, end)
    return with_rates(counts)


def sum_figures(parts: Iterable[Mapping[str, int | float | None]]) -> Figures:
    """A province's figures: the sums of its communes' counts, rates recomputed."""
    counts = empty_counts()
    for part in parts:
        for key in COUNT_KEYS:
            counts[key] += int(part.get(key) or 0)
    return with_rates(counts)


ANOMALY_LIST_LIMIT = 200


def anomaly_report(
    cases: Iterable[CaseSummary], start: Instant, end: Instant, limit: int = ANOMALY_LIST_LIMIT
) -> dict[str, object]:
    """The anomalies of `[start, end)`: counts by kind (every kind, 0 included) and a list.

    An anomaly counts when its event occurred in the period. An orphan case (no
    `received` yet) counts when its events span `[first, last]` meets the period: it was
    an orphan then. The list (at most `limit` entries, oldest first) names the case and
    the event, never a payload: `{case_id, commune_code, kind, event_id, occurred_at}`.
    """
    counts = dict.fromkeys(ANOMALY_KINDS, 0)
    found: list[tuple[Instant, str, str, str, str]] = []
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
    counts = dict.fromkeys(ANOMALY_KINDS, 0)
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


def balance_holds(figures: Mapping[str, int | float | None]) -> bool:
    """carried_over + received_total = resolved_total + returned + withdrawn + open_at_end."""

    def f(key: str) -> int:
        return int(figures.get(key) or 0)

    return f("carried_over") + f("received_total") == (
        f("resolved_total") + f("returned") + f("withdrawn") + f("open_at_end")
    )


assert all(f"received_{c}" in COUNT_KEYS for c in CHANNELS)
