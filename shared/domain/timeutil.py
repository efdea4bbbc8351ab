"""Business time: instants, the RFC 3339 parser and local (Asia/Ho_Chi_Minh) days.

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


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Dates and offsets repeat (a desk's day, its due dates, +07:00): each is worked out
# once. Bounded, so that hostile input cannot grow them without end.
_DAYS: dict[str, int] = {}
_OFFSETS: dict[str, int] = {"Z": 0, "z": 0}
_CACHE_LIMIT = 50_000


def _days_of(date_text: str) -> int:
    """Days since 1970-01-01 of a `YYYY-MM-DD` (digits checked by the caller)."""
    year, month, day = int(date_text[0:4]), int(date_text[5:7]), int(date_text[8:10])
    if year < 1 or not 1 <= month <= 12:
        raise TimestampError("field out of range")
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day < 1 or day > (29 if month == 2 and leap else _MONTH_DAYS[month]):
        raise TimestampError("day out of range")
    # days from civil (Howard Hinnant's algorithm)
    yy = year - (month <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    if len(_DAYS) < _CACHE_LIMIT:
        _DAYS[date_text] = days
    return days


def _offset_of(offset: str) -> int:
    """Seconds east of UTC of a `±hh:mm` offset."""
    oh, om = int(offset[1:3]), int(offset[4:6])
    if oh > 23 or om > 59:
        raise TimestampError("offset out of range")
    seconds = (oh * 3600 + om * 60) * (1 if offset[0] == "+" else -1)
    if len(_OFFSETS) < 1000:
        _OFFSETS[offset] = seconds
    return seconds


def parse_rfc3339(text: str) -> Instant:
    """Parse an RFC 3339 timestamp that carries an offset (`Z` or `±hh:mm`).

    Arithmetic, no datetime objects: the hot path parses two or three timestamps per
    event. A unit test checks it against a datetime-based reference (hypothesis).
    """
    m = _RFC3339.match(text) if type(text) is str else None
    if m is None:
        raise TimestampError("not an RFC 3339 timestamp with an offset")
    days = _DAYS.get(text[:10])
    if days is None:
        days = _days_of(text[:10])
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if hour > 23 or minute > 59 or second > 59:
        raise TimestampError("field out of range")
    frac, offset = m.group(7, 8)
    off_s = _OFFSETS.get(offset)
    if off_s is None:
        off_s = _offset_of(offset)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - off_s
    return seconds * US_PER_SECOND + micro


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
