"""Business time: instants, RFC 3339 parsing and local (Asia/Ho_Chi_Minh) days.

Vietnam has used UTC+7 without daylight saving since 1975, so a local day is a fixed
offset of UTC; no tz database is needed for the figures.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from shared.domain.events import Instant

LOCAL_TZ = timezone(timedelta(hours=7), "ICT")
US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
_LOCAL_OFFSET_US = 7 * 3600 * US_PER_SECOND
_EPOCH_DATE = date(1970, 1, 1)

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,  # RFC 3339 digits are ASCII; \Z: no trailing newline (`$` would allow one)
)


class TimestampError(ValueError):
    """A string that is not an RFC 3339 timestamp with an offset."""


def parse_rfc3339(text: str) -> Instant:
    """Parse an RFC 3339 timestamp that carries an offset (`Z` or `±hh:mm`)."""
    if not isinstance(text, str):
        raise TimestampError("not a string")
    m = _RFC3339.fullmatch(text)  # no trailing newline either
    if m is None:
        raise TimestampError("not an RFC 3339 timestamp with an offset")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    try:
        if offset in ("Z", "z"):
            tz = UTC
        else:
            sign = 1 if offset[0] == "+" else -1
            oh, om = int(offset[1:3]), int(offset[4:6])
            if oh > 23 or om > 59:
                raise TimestampError("offset out of range")
            tz = timezone(sign * timedelta(hours=oh, minutes=om))
        micro = int((frac[1:] + "000000")[:6]) if frac else 0
        dt = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError as exc:  # day 31 of February, hour 25, ...
        raise TimestampError(str(exc)) from exc
    return to_instant(dt)


def to_instant(dt: datetime) -> Instant:
    """An aware datetime as µs since the epoch."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: business time needs an offset")
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def from_instant(instant: Instant, tz: timezone = LOCAL_TZ) -> datetime:
    """An instant as an aware datetime (local business time by default)."""
    return datetime(1970, 1, 1, tzinfo=UTC).astimezone(tz) + timedelta(microseconds=instant)


def format_instant(instant: Instant, tz: timezone = LOCAL_TZ) -> str:
    """RFC 3339 text of an instant, in local business time by default."""
    return from_instant(instant, tz).isoformat()


def local_day(instant: Instant) -> date:
    """The local (UTC+7) calendar day an instant falls on."""
    return _EPOCH_DATE + timedelta(days=(instant + _LOCAL_OFFSET_US) // US_PER_DAY)


def local_midnight(day: date) -> Instant:
    """The instant `day 00:00` local time."""
    return (day - _EPOCH_DATE).days * US_PER_DAY - _LOCAL_OFFSET_US


def now_instant() -> Instant:
    """The current instant. Only adapters call this; the domain takes time as input."""
    return to_instant(datetime.now(UTC))
