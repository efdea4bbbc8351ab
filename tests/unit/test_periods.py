"""Reporting periods: labels, the decree09 and calendar calendars, instants, period ends."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.periods import (
    CALENDARS,
    Period,
    PeriodError,
    labels_of_year,
    month_bounds,
    parse_period,
    period_containing,
    periods_ended_between,
)
from shared.domain.timeutil import parse_rfc3339

D = date


@pytest.mark.parametrize(
    ("label", "calendar", "kind", "start", "end"),
    [
        # decree09: month M = 15th of the month before .. 14th of M
        ("2024-M01", "decree09", "month", D(2023, 12, 15), D(2024, 1, 14)),
        ("2024-M02", "decree09", "month", D(2024, 1, 15), D(2024, 2, 14)),
        ("2024-M03", "decree09", "month", D(2024, 2, 15), D(2024, 3, 14)),  # leap Feb inside
        ("2023-M03", "decree09", "month", D(2023, 2, 15), D(2023, 3, 14)),
        ("2024-M12", "decree09", "month", D(2024, 11, 15), D(2024, 12, 14)),
        ("2024-Q1", "decree09", "quarter", D(2023, 12, 15), D(2024, 3, 14)),
        ("2024-Q2", "decree09", "quarter", D(2024, 3, 15), D(2024, 6, 14)),
        ("2024-Q3", "decree09", "quarter", D(2024, 6, 15), D(2024, 9, 14)),
        ("2024-Q4", "decree09", "quarter", D(2024, 9, 15), D(2024, 12, 14)),
        ("2024-H1", "decree09", "half", D(2023, 12, 15), D(2024, 6, 14)),
        ("2024-H2", "decree09", "half", D(2024, 6, 15), D(2024, 12, 14)),
        ("2024-9M", "decree09", "nine_months", D(2023, 12, 15), D(2024, 9, 14)),
        ("2024", "decree09", "year", D(2023, 12, 15), D(2024, 12, 14)),
        # calendar: natural periods
        ("2024-M01", "calendar", "month", D(2024, 1, 1), D(2024, 1, 31)),
        ("2024-M02", "calendar", "month", D(2024, 2, 1), D(2024, 2, 29)),  # leap year
        ("2023-M02", "calendar", "month", D(2023, 2, 1), D(2023, 2, 28)),
        ("2100-M02", "calendar", "month", D(2100, 2, 1), D(2100, 2, 28)),  # not leap
        ("2000-M02", "calendar", "month", D(2000, 2, 1), D(2000, 2, 29)),  # leap
        ("2024-M04", "calendar", "month", D(2024, 4, 1), D(2024, 4, 30)),
        ("2024-M12", "calendar", "month", D(2024, 12, 1), D(2024, 12, 31)),
        ("2024-Q1", "calendar", "quarter", D(2024, 1, 1), D(2024, 3, 31)),
        ("2024-Q2", "calendar", "quarter", D(2024, 4, 1), D(2024, 6, 30)),
        ("2024-Q3", "calendar", "quarter", D(2024, 7, 1), D(2024, 9, 30)),
        ("2024-Q4", "calendar", "quarter", D(2024, 10, 1), D(2024, 12, 31)),
        ("2024-H1", "calendar", "half", D(2024, 1, 1), D(2024, 6, 30)),
        ("2024-H2", "calendar", "half", D(2024, 7, 1), D(2024, 12, 31)),
        ("2024-9M", "calendar", "nine_months", D(2024, 1, 1), D(2024, 9, 30)),
        ("2024", "calendar", "year", D(2024, 1, 1), D(2024, 12, 31)),
        # ranges: the same in both calendars
        ("2024-02-28..2024-03-01", "decree09", "range", D(2024, 2, 28), D(2024, 3, 1)),
        ("2024-02-28..2024-03-01", "calendar", "range", D(2024, 2, 28), D(2024, 3, 1)),
        ("2024-12-31..2024-12-31", "calendar", "range", D(2024, 12, 31), D(2024, 12, 31)),
        ("2023-12-15..2025-01-14", "decree09", "range", D(2023, 12, 15), D(2025, 1, 14)),
    ],
)
def test_labels_name_their_local_dates(
    label: str, calendar: str, kind: str, start: date, end: date
) -> None:
    """Every kind of label, in both calendars, gives the contract's first and last local days."""
    p = parse_period(label, calendar)
    assert p == Period(label, calendar, kind, start, end)
    assert p.as_dict() == {
        "label": label,
        "calendar": calendar,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def test_decree09_is_the_default_calendar() -> None:
    """Without a calendar, Decree 09 cut-offs apply."""
    assert parse_period("2024-Q1") == parse_period("2024-Q1", "decree09")


def test_period_instants_run_from_local_midnight_to_local_midnight() -> None:
    """[S 00:00 local, (E+1) 00:00 local): 2024-Q1 decree09 is 14 Dec 17:00Z .. 14 Mar 17:00Z."""
    p = parse_period("2024-Q1")
    assert p.start_instant == parse_rfc3339("2023-12-14T17:00:00Z")
    assert p.end_instant == parse_rfc3339("2024-03-15T00:00:00+07:00")
    assert p.end_instant == parse_rfc3339("2024-03-14T17:00:00Z")
    assert parse_period("2024-Q2").start_instant == p.end_instant


def test_leap_day_2024_02_29_falls_in_decree09_m03_and_calendar_m02() -> None:
    """29 Feb 2024 is in decree09 M03 (15 Feb..14 Mar) and in calendar M02."""
    leap = D(2024, 2, 29)
    assert period_containing(leap, "month", "decree09").label == "2024-M03"
    assert period_containing(leap, "month", "calendar").label == "2024-M02"


@pytest.mark.parametrize("calendar", CALENDARS)
@pytest.mark.parametrize("year", [1900, 2023, 2024, 2025, 9998])
def test_months_tile_the_year_and_compose_every_longer_period(calendar: str, year: int) -> None:
    """12 months are contiguous; quarters, halves, 9M and the year are unions of months."""
    months = [parse_period(label, calendar) for label in labels_of_year(year, "month")]
    for a, b in itertools.pairwise(months):
        assert b.start == a.end + timedelta(days=1)
        assert b.start_instant == a.end_instant
    y = parse_period(str(year), calendar)
    assert (y.start, y.end) == (months[0].start, months[11].end)
    days = (y.end - y.start).days + 1
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    if calendar == "calendar":
        assert days == (366 if leap else 365)
    for q in range(1, 5):
        p = parse_period(f"{year}-Q{q}", calendar)
        assert (p.start, p.end) == (months[3 * q - 3].start, months[3 * q - 1].end)
    for h in (1, 2):
        p = parse_period(f"{year}-H{h}", calendar)
        assert (p.start, p.end) == (months[6 * h - 6].start, months[6 * h - 1].end)
    nine = parse_period(f"{year}-9M", calendar)
    assert (nine.start, nine.end) == (months[0].start, months[8].end)


def test_consecutive_decree09_years_meet() -> None:
    """Decree09 year Y ends 14 Dec Y and year Y+1 starts 15 Dec Y."""
    assert parse_period("2025", "decree09").start == parse_period("2024").end + timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "kind", "calendar", "label"),
    [
        (D(2024, 12, 14), "month", "decree09", "2024-M12"),
        (D(2024, 12, 15), "month", "decree09", "2025-M01"),  # next year's January
        (D(2024, 12, 31), "quarter", "decree09", "2025-Q1"),
        (D(2024, 12, 15), "year", "decree09", "2025"),
        (D(2024, 1, 14), "month", "decree09", "2024-M01"),
        (D(2024, 1, 15), "month", "decree09", "2024-M02"),
        (D(2024, 3, 14), "quarter", "decree09", "2024-Q1"),
        (D(2024, 3, 15), "quarter", "decree09", "2024-Q2"),
        (D(2024, 6, 15), "half", "decree09", "2024-H2"),
        (D(2024, 12, 31), "month", "calendar", "2024-M12"),
        (D(2025, 1, 1), "month", "calendar", "2025-M01"),
        (D(2024, 9, 30), "nine_months", "calendar", "2024-9M"),
        (D(2024, 9, 14), "nine_months", "decree09", "2024-9M"),
        (D(2023, 12, 20), "nine_months", "decree09", "2024-9M"),
    ],
)
def test_period_containing_a_day(day: date, kind: str, calendar: str, label: str) -> None:
    """The period of a kind that contains a local day, across year edges."""
    assert period_containing(day, kind, calendar).label == label


@pytest.mark.parametrize(
    ("day", "calendar"), [(D(2024, 10, 1), "calendar"), (D(2024, 9, 15), "decree09")]
)
def test_no_nine_months_period_in_the_last_quarter(day: date, calendar: str) -> None:
    """Days of Q4 are in no 9M period: PeriodError."""
    with pytest.raises(PeriodError):
        period_containing(day, "nine_months", calendar)


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=D(1901, 1, 1), max_value=D(9997, 12, 31)),
    st.sampled_from(["month", "quarter", "half", "year"]),
    st.sampled_from(CALENDARS),
)
def test_every_day_is_in_exactly_one_period_of_a_kind(day: date, kind: str, calendar: str) -> None:
    """Months, quarters, halves and years each partition the days."""
    p = period_containing(day, kind, calendar)
    assert p.start <= day <= p.end
    assert p.kind == kind
    holders = [
        q
        for year in (day.year - 1, day.year, day.year + 1)
        for q in (parse_period(label, calendar) for label in labels_of_year(year, kind))
        if q.start <= day <= q.end
    ]
    assert holders == [p]


@pytest.mark.parametrize(
    "label",
    [
        "",
        "2024-M13",
        "2024-M00",
        "2024-M1",  # one digit
        "2024-M001",
        "2024-Q0",
        "2024-Q5",
        "2024-H0",
        "2024-H3",
        "2024-9m",
        "2024-6M",
        "2024-q1",
        "2024-m01",
        "24-Q1",
        "20245",
        "2024-",
        "2024-W10",
        "2024-03",  # a bare month is not a label
        "2024-03-14",  # a single date is not a range
        "2024-03-14..",
        "..2024-03-14",
        "2024-03-14...2024-03-20",
        "2024-03-14..2024-03-13",  # end before start
        "2024-02-30..2024-03-01",  # no 30 Feb
        "2023-02-29..2023-03-01",  # no 29 Feb in 2023
        "2024-3-1..2024-3-5",
        "2024-03-14 .. 2024-03-20",
        "1899",  # year out of range
        "1899-12-01..1900-01-01",
        "9999",  # no end instant representable in the calendar calendar
        "9999-M12",
        "9998-12-01..9999-12-31",
        "٢٠٢٤-Q1",  # Arabic-Indic digits
        "２０２４-Q1",  # full-width digits
        "2024-01-01..２０２４-01-02",
        "Q1-2024",
        "2024 Q1",
    ],
)
@pytest.mark.parametrize("calendar", CALENDARS)
def test_malformed_labels_raise_period_error(label: str, calendar: str) -> None:
    """A malformed label raises PeriodError (exactly) with a message naming the label."""
    with pytest.raises(PeriodError) as info:
        parse_period(label, calendar)
    assert type(info.value) is PeriodError
    assert repr(label) in str(info.value)


@pytest.mark.parametrize("value", [None, 2024, b"2024"])
def test_non_string_labels_raise_period_error(value: object) -> None:
    """A label that is not a string is malformed, not a crash."""
    with pytest.raises(PeriodError):
        parse_period(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("calendar", ["", "Decree09", "gregorian", "lunar"])
def test_unknown_calendar_raises_period_error(calendar: str) -> None:
    """Only decree09 and calendar exist."""
    with pytest.raises(PeriodError, match="calendar"):
        parse_period("2024-Q1", calendar)


def test_surrounding_whitespace_is_tolerated() -> None:
    """' 2024-Q1 ' (e.g. from a shell variable) is read as 2024-Q1, label stripped."""
    assert parse_period(" 2024-Q1 ").label == "2024-Q1"


def test_period_error_is_a_value_error() -> None:
    """Callers may catch ValueError."""
    assert issubclass(PeriodError, ValueError)


def test_labels_of_year_and_unknown_kind() -> None:
    """Labels of each kind in order; 'range' has no labels."""
    assert labels_of_year(2024, "quarter") == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert labels_of_year(2024, "month")[0] == "2024-M01"
    assert labels_of_year(2024, "month")[-1] == "2024-M12"
    assert labels_of_year(2024, "half") == ["2024-H1", "2024-H2"]
    assert labels_of_year(2024, "nine_months") == ["2024-9M"]
    assert labels_of_year(2024, "year") == ["2024"]
    with pytest.raises(PeriodError):
        labels_of_year(2024, "range")


def test_month_bounds_january_and_december_edges() -> None:
    """Decree09 January starts in the previous year; calendar December ends on the 31st."""
    assert month_bounds(2025, 1, "decree09") == (D(2024, 12, 15), D(2025, 1, 14))
    assert month_bounds(2024, 12, "calendar") == (D(2024, 12, 1), D(2024, 12, 31))
    assert month_bounds(2024, 12, "decree09") == (D(2024, 11, 15), D(2024, 12, 14))


def labels(periods: list[Period]) -> list[str]:
    return [p.label for p in periods]


def test_periods_ended_between_decree09_year_end() -> None:
    """(after, until] around 14 Dec: M12, Q4, H2 and the year end together, month first."""
    found = periods_ended_between(
        D(2024, 12, 13), D(2024, 12, 14), ("month", "quarter", "half", "nine_months", "year")
    )
    assert labels(found) == ["2024-M12", "2024-Q4", "2024-H2", "2024"]
    assert all(p.calendar == "decree09" for p in found)


def test_periods_ended_between_excludes_after_and_includes_until() -> None:
    """A period ending on `after` is not listed; one ending on `until` is."""
    assert periods_ended_between(D(2024, 3, 14), D(2024, 4, 13), ("month",)) == []
    assert labels(periods_ended_between(D(2024, 3, 13), D(2024, 3, 14), ("month",))) == ["2024-M03"]
    assert periods_ended_between(D(2024, 3, 14), D(2024, 3, 14), ("month",)) == []


def test_periods_ended_between_across_years_in_calendar() -> None:
    """Calendar: from 15 Nov 2024 to 31 Jan 2025, months Nov, Dec, Jan; Q4, H2, year 2024."""
    found = periods_ended_between(
        D(2024, 11, 15),
        D(2025, 1, 31),
        ("month", "quarter", "half", "nine_months", "year"),
        "calendar",
    )
    assert labels(found) == [
        "2024-M11",
        "2024-M12",
        "2024-Q4",
        "2024-H2",
        "2024",
        "2025-M01",
    ]


def test_periods_ended_between_decree09_january_and_nine_months() -> None:
    """Decree09: 2025-M01 ends 14 Jan 2025; 9M ends 14 Sep."""
    assert labels(periods_ended_between(D(2025, 1, 1), D(2025, 1, 31), ("month",))) == ["2025-M01"]
    assert labels(
        periods_ended_between(D(2024, 9, 1), D(2024, 9, 30), ("nine_months", "quarter"))
    ) == ["2024-Q3", "2024-9M"]


@settings(max_examples=100, deadline=None)
@given(
    st.dates(min_value=D(1950, 1, 1), max_value=D(2100, 1, 1)),
    st.integers(min_value=0, max_value=800),
    st.sampled_from(CALENDARS),
)
def test_periods_ended_between_matches_a_day_by_day_scan(
    after: date, span: int, calendar: str
) -> None:
    """The periods listed are exactly those whose end is a day in (after, until]."""
    until = after + timedelta(days=span)
    kinds = ("month", "quarter", "half", "nine_months", "year")
    found = periods_ended_between(after, until, kinds, calendar)
    expected = set()
    for year in range(after.year - 1, until.year + 2):
        for kind in kinds:
            for label in labels_of_year(year, kind):
                p = parse_period(label, calendar)
                if after < p.end <= until:
                    expected.add(p)
    assert set(found) == expected
    assert len(found) == len(expected)
    assert [p.end for p in found] == sorted(p.end for p in found)
