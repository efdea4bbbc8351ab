"""Period labels in both calendars as the appendix uses them: every kind, year edges, leap years."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from shared.domain.periods import PeriodError, parse_period, periods_ended_between
from shared.domain.timeutil import local_midnight

CASES = [
    # label, calendar, start, end
    ("2024-M01", "decree09", "2023-12-15", "2024-01-14"),
    ("2024-M02", "decree09", "2024-01-15", "2024-02-14"),
    ("2024-M03", "decree09", "2024-02-15", "2024-03-14"),  # spans 29 Feb (leap)
    ("2024-M12", "decree09", "2024-11-15", "2024-12-14"),
    ("2024-Q1", "decree09", "2023-12-15", "2024-03-14"),
    ("2024-Q2", "decree09", "2024-03-15", "2024-06-14"),
    ("2024-Q3", "decree09", "2024-06-15", "2024-09-14"),
    ("2024-Q4", "decree09", "2024-09-15", "2024-12-14"),
    ("2024-H1", "decree09", "2023-12-15", "2024-06-14"),
    ("2024-H2", "decree09", "2024-06-15", "2024-12-14"),
    ("2024-9M", "decree09", "2023-12-15", "2024-09-14"),
    ("2024", "decree09", "2023-12-15", "2024-12-14"),
    ("2024-M01", "calendar", "2024-01-01", "2024-01-31"),
    ("2024-M02", "calendar", "2024-02-01", "2024-02-29"),  # leap year
    ("2023-M02", "calendar", "2023-02-01", "2023-02-28"),
    ("2100-M02", "calendar", "2100-02-01", "2100-02-28"),  # not a leap year
    ("2000-M02", "calendar", "2000-02-01", "2000-02-29"),  # leap year
    ("2024-M12", "calendar", "2024-12-01", "2024-12-31"),
    ("2024-Q1", "calendar", "2024-01-01", "2024-03-31"),
    ("2024-Q4", "calendar", "2024-10-01", "2024-12-31"),
    ("2024-H1", "calendar", "2024-01-01", "2024-06-30"),
    ("2024-H2", "calendar", "2024-07-01", "2024-12-31"),
    ("2024-9M", "calendar", "2024-01-01", "2024-09-30"),
    ("2024", "calendar", "2024-01-01", "2024-12-31"),
    ("2024-02-28..2024-03-01", "decree09", "2024-02-28", "2024-03-01"),
    ("2023-12-31..2024-01-01", "calendar", "2023-12-31", "2024-01-01"),
]


@pytest.mark.parametrize(("label", "calendar", "start", "end"), CASES)
def test_period_bounds(label, calendar, start, end):
    """Each label names the right first and last local day in its calendar."""
    period = parse_period(label, calendar)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)
    assert period.as_dict() == {"label": label, "calendar": calendar, "start": start, "end": end}
    assert period.end_instant == local_midnight(date.fromisoformat(end) + timedelta(days=1))


def test_leap_day_counts():
    """The decree09 M03 of a leap year has 29 days of February in it (29 days long)."""
    leap, plain = parse_period("2024-M03"), parse_period("2023-M03")
    assert (leap.end - leap.start).days + 1 == 29
    assert (plain.end - plain.start).days + 1 == 28


def test_decree09_months_tile_the_year():
    """The 12 decree09 months follow each other without gap or overlap and make the year."""
    months = [parse_period(f"2024-M{m:02d}") for m in range(1, 13)]
    for a, b in itertools.pairwise(months):
        assert b.start == a.end + timedelta(days=1)
    year = parse_period("2024")
    assert (months[0].start, months[-1].end) == (year.start, year.end)


@pytest.mark.parametrize(
    "label",
    [
        "2024-M13",
        "2024-M00",
        "2024-Q5",
        "2024-H3",
        "24-Q1",
        "2024-02-30..2024-03-01",
        "2024-03-02..2024-03-01",
        "Q1",
    ],
)
def test_malformed_labels(label):
    """Malformed labels are refused with a PeriodError."""
    with pytest.raises(PeriodError):
        parse_period(label)


def test_periods_ended_between_orders_by_end():
    """Periods whose end falls in the window, oldest first (month before quarter on the same day)."""
    found = periods_ended_between(date(2024, 3, 1), date(2024, 3, 31), ("month", "quarter"))
    assert [p.label for p in found] == ["2024-M03", "2024-Q1"]
