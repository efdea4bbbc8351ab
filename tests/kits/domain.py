"""Small builders for the domain tests: instants from RFC 3339 text and case events."""

from __future__ import annotations

from shared.domain.events import CaseEvent, Instant
from shared.domain.timeutil import parse_rfc3339

COMMUNE = "16096"
HOUR = 3600 * 1_000_000
MINUTE = 60 * 1_000_000
DAY = 24 * HOUR


def t(text: str) -> Instant:
    """An instant from RFC 3339 text; a bare `YYYY-MM-DDTHH:MM[:SS]` is read as local (+07:00)."""
    if text[-1] in "Zz" or text[-6] in "+-":
        return parse_rfc3339(text)
    if len(text) == 16:
        text += ":00"
    return parse_rfc3339(text + "+07:00")


def ev(
    event_id: str,
    event_type: str,
    at: str | Instant,
    *,
    case_id: str = "C1",
    commune_code: str = COMMUNE,
    channel: str | None = None,
    due_at: str | Instant | None = None,
    new_due_at: str | Instant | None = None,
    field: str | None = None,
) -> CaseEvent:
    """A case event; instants may be given as text (see `t`) or as integers."""

    def inst(value: str | Instant | None) -> Instant | None:
        return t(value) if isinstance(value, str) else value

    if event_type == "received" and channel is None:
        channel = "direct"
    return CaseEvent(
        event_id=event_id,
        event_type=event_type,
        case_id=case_id,
        commune_code=commune_code,
        occurred_at=inst(at),
        channel=channel,
        due_at=inst(due_at),
        new_due_at=inst(new_due_at),
        field=field,
    )
