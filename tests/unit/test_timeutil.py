"""Business time: RFC 3339 parsing and local (UTC+7) days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.timeutil import (
    LOCAL_TZ,
    US_PER_DAY,
    TimestampError,
    format_instant,
    from_instant,
    local_day,
    local_midnight,
    parse_rfc3339,
    to_instant,
)
from tests.kits.rfc3339 import reference_parse_rfc3339

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(*args: int) -> int:
    """µs since epoch of a UTC wall time."""
    return to_instant(datetime(*args, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-14T16:59:59Z", utc(2024, 3, 14, 16, 59, 59)),
        ("2024-03-14T16:59:59z", utc(2024, 3, 14, 16, 59, 59)),
        ("2024-03-14t16:59:59Z", utc(2024, 3, 14, 16, 59, 59)),
        ("2024-03-14T23:59:59+07:00", utc(2024, 3, 14, 16, 59, 59)),
        ("2024-03-14T11:29:59-05:30", utc(2024, 3, 14, 16, 59, 59)),
        ("2024-03-14T16:59:59+00:00", utc(2024, 3, 14, 16, 59, 59)),
        ("2024-03-14T16:59:59-00:00", utc(2024, 3, 14, 16, 59, 59)),
        ("2024-03-15T00:00:00+07:00", utc(2024, 3, 14, 17, 0, 0)),
        ("2024-03-14T16:59:59.5Z", utc(2024, 3, 14, 16, 59, 59) + 500_000),
        ("2024-03-14T16:59:59.000001Z", utc(2024, 3, 14, 16, 59, 59) + 1),
        ("2024-03-14T16:59:59.123456789Z", utc(2024, 3, 14, 16, 59, 59) + 123_456),
        ("2024-02-29T12:00:00+07:00", utc(2024, 2, 29, 5, 0, 0)),
        ("2024-01-01T03:00:00+07:00", utc(2023, 12, 31, 20, 0, 0)),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999999Z", -1),
    ],
)
def test_parses_offsets_z_and_fractions(text: str, expected: int) -> None:
    """Offsets, Z/z, lower-case t and fractions give the instant as µs since the epoch."""
    assert parse_rfc3339(text) == expected


def test_space_separator_is_accepted() -> None:
    """RFC 3339 allows a space for the T; it parses like the T form."""
    assert parse_rfc3339("2024-03-14 16:59:59Z") == parse_rfc3339("2024-03-14T16:59:59Z")


def test_fraction_beyond_microseconds_is_truncated_not_rounded() -> None:
    """Nanoseconds are cut to µs (…9999999 stays in the same µs), never rounded up."""
    base = utc(2024, 3, 14, 16, 59, 59)
    assert parse_rfc3339("2024-03-14T16:59:59.999999999Z") == base + 999_999


def test_same_instant_whatever_the_offset() -> None:
    """The same instant written with different offsets compares equal."""
    texts = [
        "2024-06-30T17:00:00Z",
        "2024-07-01T00:00:00+07:00",
        "2024-07-01T09:00:00+16:00",
        "2024-06-30T05:00:00-12:00",
    ]
    assert len({parse_rfc3339(x) for x in texts}) == 1


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-14T16:59:59",  # no offset
        "2024-03-14",  # date only
        "2024-W11-4T10:00:00Z",  # week date
        "2024-074T10:00:00Z",  # ordinal date
        "2024-03-14T24:00:00Z",  # 24:00
        "2024-02-30T10:00:00Z",  # 30 February
        "2023-02-29T10:00:00Z",  # not a leap year
        "2024-13-01T10:00:00Z",  # month 13
        "2024-00-10T10:00:00Z",  # month 0
        "2024-03-00T10:00:00Z",  # day 0
        "2024-03-14T10:60:00Z",  # minute 60
        "2024-03-14T10:00:60Z",  # leap second: not representable, rejected
        "2024-03-14T10:00:00+0700",  # offset without colon
        "2024-03-14T10:00:00+07",  # hour-only offset
        "2024-03-14T10:00:00+24:00",  # offset hour out of range
        "2024-03-14T10:00:00+07:60",  # offset minute out of range
        "2024-03-14T10:00Z",  # no seconds
        "2024-03-14T10:00:00.Z",  # empty fraction
        "2024-03-14T10:00:00.1234567890Z",  # 10 fraction digits
        "20240314T100000Z",  # basic format
        "24-03-14T10:00:00Z",  # two-digit year
        " 2024-03-14T10:00:00Z",  # leading space
        "2024-03-14T10:00:00Z ",  # trailing space
        "2024-03-14T10:00:00Z\n",  # trailing newline
        "2024-03-14T10:00:00Zjunk",  # trailing garbage
        "2024-03-14T10:00:00+07:00:00",
        "２０２４-03-14T10:00:00Z",  # full-width digits
        "2024-03-14T10:00:00 UTC",  # zone name
        "2024-03-14T10:00:00ICT",
        "0000-01-01T00:00:00Z",  # year 0
        "",
        "now",
    ],
)
@pytest.mark.parametrize("parse", [parse_rfc3339, reference_parse_rfc3339])
def test_rejects_invalid_forms(text: str, parse) -> None:
    """Anything but a full RFC 3339 date-time with an offset raises TimestampError
    (in the domain parser and in intake's fast parser, which shares its pattern)."""
    with pytest.raises(TimestampError):
        parse(text)


@pytest.mark.parametrize("value", [None, 1710435599, b"2024-03-14T16:59:59Z", ["x"]])
def test_rejects_non_strings(value: object) -> None:
    """A non-string (number, bytes, null) is a TimestampError, not a crash."""
    with pytest.raises(TimestampError):
        parse_rfc3339(value)  # type: ignore[arg-type]


def test_timestamp_error_is_a_value_error() -> None:
    """Callers may catch ValueError."""
    assert issubclass(TimestampError, ValueError)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-03-14T16:59:59Z", date(2024, 3, 14)),
        ("2024-03-14T16:59:59.999999Z", date(2024, 3, 14)),
        ("2024-03-14T17:00:00Z", date(2024, 3, 15)),
        ("2024-03-14T23:59:59+07:00", date(2024, 3, 14)),
        ("2024-03-15T00:00:00+07:00", date(2024, 3, 15)),
        ("2024-03-14T12:00:00-05:00", date(2024, 3, 15)),  # 17:00Z
        ("2024-12-31T17:00:00Z", date(2025, 1, 1)),
        ("2024-12-31T16:59:59Z", date(2024, 12, 31)),
        ("2024-02-28T17:00:00Z", date(2024, 2, 29)),
        ("1969-12-31T17:00:00Z", date(1970, 1, 1)),
        ("1969-12-31T16:59:59Z", date(1969, 12, 31)),
    ],
)
def test_local_day_turns_at_local_midnight(text: str, day: date) -> None:
    """A UTC stamp falls on the local (UTC+7) day; the day turns at 17:00Z."""
    assert local_day(parse_rfc3339(text)) == day


def test_local_midnight_is_17_utc_the_day_before() -> None:
    """`day 00:00` local is 17:00Z on the previous UTC day."""
    assert local_midnight(date(2024, 3, 15)) == parse_rfc3339("2024-03-14T17:00:00Z")
    assert local_midnight(date(1970, 1, 1)) == -7 * 3600 * 1_000_000


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9998, 12, 31)))
def test_local_midnight_and_local_day_agree(day: date) -> None:
    """Midnight is on its own day, one µs before is on the day before; days are 24 h."""
    m = local_midnight(day)
    assert local_day(m) == day
    assert local_day(m - 1) == day - timedelta(days=1)
    assert local_midnight(day + timedelta(days=1)) - m == US_PER_DAY


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.sampled_from(
            [
                UTC,
                LOCAL_TZ,
                timezone(timedelta(hours=-9, minutes=-30)),
                timezone(timedelta(hours=14)),
            ]
        ),
    )
)
def test_round_trip_through_text(dt: datetime) -> None:
    """format_instant then parse_rfc3339 gives the same instant; from_instant is local time."""
    instant = to_instant(dt)
    assert parse_rfc3339(format_instant(instant)) == instant
    assert parse_rfc3339(format_instant(instant, UTC)) == instant
    local = from_instant(instant)
    assert local.utcoffset() == timedelta(hours=7)
    assert local == dt
    assert local_day(instant) == local.date()


def test_to_instant_refuses_naive_datetimes() -> None:
    """Business time needs an offset: a naive datetime is an error."""
    with pytest.raises(ValueError):
        to_instant(datetime(2024, 3, 14, 10, 0))
