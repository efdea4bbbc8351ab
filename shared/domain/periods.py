"""Reporting periods (kỳ báo cáo) and their two calendars.

Labels: `YYYY-MNN` (month), `YYYY-QN` (quarter), `YYYY-H1` / `YYYY-H2` (halves),
`YYYY-9M` (nine months), `YYYY` (year), `YYYY-MM-DD..YYYY-MM-DD` (any range, inclusive).

- `decree09` (default): the cut-off of Decree 09/2019/NĐ-CP. Month M runs from the 15th
  of the month before to the 14th of M, so month 1 of year Y starts on 15 Dec of Y-1;
  quarters, halves, nine months and the year are unions of those months.
- `calendar`: natural months, quarters, halves, nine months (1 Jan to 30 Sep), years.

A period `[S, E]` of local dates runs from `S 00:00` local to, not including,
`(E + 1 day) 00:00` local.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from shared.domain.events import Instant
from shared.domain.timeutil import local_midnight

CALENDARS = ("decree09", "calendar")
KINDS = ("month", "quarter", "half", "nine_months", "year", "range")

_LABEL = re.compile(
    r"^(?:(?P<year>\d{4})(?:-(?:M(?P<month>\d{2})|Q(?P<quarter>[1-4])|H(?P<half>[12])|(?P<nine>9M)))?"
    r"|(?P<start>\d{4}-\d{2}-\d{2})\.\.(?P<end>\d{4}-\d{2}-\d{2}))$",
    re.ASCII,  # ASCII digits only
)
_MIN_YEAR, _MAX_YEAR = 1900, 9998  # so every period's end instant is computable


class PeriodError(ValueError):
    """A malformed period label or an unknown calendar; the message says the right form."""


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period: local dates `start`..`end`, both inclusive."""

    label: str
    calendar: str
    kind: str
    start: date
    end: date

    @property
    def start_instant(self) -> Instant:
        """`start 00:00` local."""
        return local_midnight(self.start)

    @property
    def end_instant(self) -> Instant:
        """`(end + 1 day) 00:00` local: the first instant after the period."""
        return local_midnight(self.end + timedelta(days=1))

    def as_dict(self) -> dict[str, str]:
        return {
            "label": self.label,
            "calendar": self.calendar,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def month_bounds(year: int, month: int, calendar: str) -> tuple[date, date]:
    """First and last local day of month `month` of `year` in a calendar."""
    if calendar == "decree09":
        prev_year, prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
        return date(prev_year, prev_month, 15), date(year, month, 14)
    next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), next_first - timedelta(days=1)


def _months(year: int, first: int, last: int, calendar: str) -> tuple[date, date]:
    return month_bounds(year, first, calendar)[0], month_bounds(year, last, calendar)[1]


def parse_period(label: str, calendar: str = "decree09") -> Period:
    """The period a label names, in a calendar; PeriodError if malformed."""
    if calendar not in CALENDARS:
        raise PeriodError(f"unknown calendar {calendar!r}: use 'decree09' or 'calendar'")
    m = _LABEL.match(label.strip()) if isinstance(label, str) else None
    if m is None:
        raise PeriodError(
            f"malformed period {label!r}: use YYYY-MNN, YYYY-QN, YYYY-H1, YYYY-H2, YYYY-9M, "
            "YYYY or YYYY-MM-DD..YYYY-MM-DD"
        )
    label = label.strip()
    if m["start"]:
        try:
            start, end = date.fromisoformat(m["start"]), date.fromisoformat(m["end"])
        except ValueError as exc:
            raise PeriodError(f"malformed period {label!r}: {exc}") from exc
        if end < start:
            raise PeriodError(f"malformed period {label!r}: the end is before the start")
        if start.year < _MIN_YEAR or end.year > _MAX_YEAR:
            raise PeriodError(f"malformed period {label!r}: year out of range")
        return Period(label, calendar, "range", start, end)
    year = int(m["year"])
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise PeriodError(f"malformed period {label!r}: year out of range")
    if m["month"]:
        month = int(m["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"malformed period {label!r}: month must be M01 to M12")
        start, end = month_bounds(year, month, calendar)
        kind = "month"
    elif m["quarter"]:
        q = int(m["quarter"])
        start, end = _months(year, 3 * q - 2, 3 * q, calendar)
        kind = "quarter"
    elif m["half"]:
        h = int(m["half"])
        start, end = _months(year, 6 * h - 5, 6 * h, calendar)
        kind = "half"
    elif m["nine"]:
        start, end = _months(year, 1, 9, calendar)
        kind = "nine_months"
    else:
        start, end = _months(year, 1, 12, calendar)
        kind = "year"
    return Period(label, calendar, kind, start, end)


def labels_of_year(year: int, kind: str) -> list[str]:
    """Every label of one kind in a year, in order."""
    if kind == "month":
        return [f"{year}-M{m:02d}" for m in range(1, 13)]
    if kind == "quarter":
        return [f"{year}-Q{q}" for q in range(1, 5)]
    if kind == "half":
        return [f"{year}-H1", f"{year}-H2"]
    if kind == "nine_months":
        return [f"{year}-9M"]
    if kind == "year":
        return [str(year)]
    raise PeriodError(f"no labels for kind {kind!r}")


def period_containing(day: date, kind: str, calendar: str = "decree09") -> Period:
    """The period of a kind (not `range`) that contains a local day."""
    for year in (day.year, day.year + 1):
        for label in labels_of_year(year, kind):
            period = parse_period(label, calendar)
            if period.start <= day <= period.end:
                return period
    raise PeriodError(f"no {kind} period contains {day} in {calendar}")  # 9M: Q4 days


def periods_ended_between(
    after: date, until: date, kinds: tuple[str, ...], calendar: str = "decree09"
) -> list[Period]:
    """Periods of the given kinds whose last day lies in `(after, until]`, oldest first."""
    found: list[Period] = []
    for year in range(after.year, until.year + 2):
        for kind in kinds:
            for label in labels_of_year(year, kind):
                period = parse_period(label, calendar)
                if after < period.end <= until:
                    found.append(period)
    return sorted(found, key=lambda p: (p.end, KINDS.index(p.kind)))
