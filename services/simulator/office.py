"""The desk's calendar: working days, office hours, appointments (pure, holidays given).

Dossiers are received in office hours: 07:30-11:30 and 13:30-17:00 Monday to Friday,
with a morning peak; some on Saturday mornings; none at night, on Sundays or on public
holidays. The appointment (ngày hẹn trả) is 17:00 of the last working day.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from services.simulator.profile import CHANNEL_MIX, DUE_TIME, FIELD_MIX, OFFICE
from shared.domain.timeutil import LOCAL_TZ


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


@lru_cache(maxsize=65536)
def add_working_days(day: date, n: int, holidays: frozenset[date]) -> date:
    """The `n`-th working day after `day` (n = 0: `day` itself, or the next working day)."""
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            n -= 1
    return day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def office_time_after(
    t: datetime, rng: random.Random, holidays: frozenset[date], spread_days: int = 0
) -> datetime:
    """A random office-hours instant after `t`: on `t`'s working day if time remains,
    `spread_days` working days later at most, never before `t`."""
    day = t.date()
    offset = rng.randint(0, spread_days) if spread_days > 0 else 0
    target = add_working_days(day, offset, holidays) if offset else day
    for _ in range(400):
        if is_working_day(target, holidays):
            # seconds after midnight at which the work may happen
            lo = t.hour * 3600 + t.minute * 60 + t.second + 300 if target == day else 0
            slots = [(max(a * 60, lo), b * 60) for a, b in OFFICE if max(a * 60, lo) < b * 60]
            if slots:
                total = sum(b - a for a, b in slots)
                pick = rng.randrange(total)
                for a, b in slots:
                    if pick < b - a:
                        return _midnight(target) + timedelta(seconds=a + pick)
                    pick -= b - a
        target += timedelta(days=1)
    raise RuntimeError("no office time found")  # pragma: no cover - 400 days of holidays


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:  # normal approximation, fine for counts this large
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def cumulative(weights: dict[str, float]) -> tuple[list[str], list[float]]:
    keys, cum, total = list(weights), [], 0.0
    for key in keys:
        total += weights[key]
        cum.append(total)
    return keys, cum


FIELD_TABLE = cumulative({k: v[0] for k, v in FIELD_MIX.items()})
CHANNEL_TABLE = cumulative(CHANNEL_MIX)


def pick(rng: random.Random, table: tuple[list[str], list[float]]) -> str:
    return rng.choices(table[0], cum_weights=table[1])[0]


def local_text(t: datetime) -> str:
    if t.tzinfo is not LOCAL_TZ or t.microsecond:
        t = t.astimezone(LOCAL_TZ).replace(microsecond=0)
    return t.isoformat()


def appointment(day: date, days: int, received: datetime, holidays: frozenset[date]) -> datetime:
    """The appointment: 17:00 of the `days`-th working day; same-day work received late in
    the afternoon is promised for the next working morning."""
    if days == 0 and received.time() >= time(16, 0):
        return datetime.combine(add_working_days(day, 1, holidays), time(10, 0), LOCAL_TZ)
    return datetime.combine(add_working_days(day, days, holidays), DUE_TIME, LOCAL_TZ)
