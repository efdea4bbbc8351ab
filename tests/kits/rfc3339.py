"""The reference RFC 3339 parser the tests hold the product's arithmetic one against.

Built on `datetime` (slow, obviously right); the product's `timeutil.parse_rfc3339`
must accept exactly the same texts and give the same instants.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from shared.domain.timeutil import _RFC3339, TimestampError, to_instant


def reference_parse_rfc3339(text: str) -> int:
    """Parse an RFC 3339 timestamp that carries an offset, with datetime objects."""
    if not isinstance(text, str):
        raise TimestampError("not a string")
    m = _RFC3339.fullmatch(text)
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
    except ValueError as exc:
        raise TimestampError(str(exc)) from exc
    return to_instant(dt)
