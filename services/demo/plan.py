"""What the demo publishes: communes of one province, the period, the arrival rate."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.simulator.cli import resolve_communes
from services.simulator.generate import WEEKDAY_WEIGHT
from shared.domain.periods import Period, PeriodError, parse_period, period_containing
from shared.domain.timeutil import LOCAL_TZ
from shared.errors import UsageError
from shared.registry import UnitRegistry

EVENTS_PER_CASE = 2.2  # a little above the simulator's mean, so the target is not overshot
LEAD_IN_DAYS = 30  # traffic starts this long before the period, so cases carry over


@dataclass
class Plan:
    communes: tuple[str, ...]
    province: str
    period: Period
    start: date
    end: date
    now: datetime
    cases_per_day: float
    events: int
    seed: int
    invalid: float


def weekday_weight_sum(start: date, end: date) -> float:
    total, day = 0.0, start
    while day <= end:
        total += WEEKDAY_WEIGHT[day.weekday()]
        day += timedelta(days=1)
    return total


def make_plan(
    args: argparse.Namespace, registry: UnitRegistry, calendar: str, now: datetime
) -> Plan:
    communes = resolve_communes(registry, args.communes, seed=args.seed)
    provinces = {registry.province_of(c) for c in communes}
    if len(provinces) != 1:
        raise UsageError("--communes must all be in one province")
    today = now.astimezone(LOCAL_TZ).date()
    try:
        period = (
            parse_period(args.period, calendar)
            if args.period
            else period_containing(today, "quarter", calendar)
        )
    except PeriodError as exc:
        raise UsageError(str(exc)) from None
    if period.start > today:
        raise UsageError(f"period {period.label} has not begun yet")
    if args.events < 1:
        raise UsageError("--events must be at least 1")
    start = period.start - timedelta(days=LEAD_IN_DAYS)
    end = min(period.end, today)
    weights = weekday_weight_sum(start, end) * len(communes)
    cases_per_day = max(0.05, args.events / (EVENTS_PER_CASE * max(weights, 0.3)))
    return Plan(
        communes=communes,
        province=provinces.pop() or "",
        period=period,
        start=start,
        end=end,
        now=now,
        cases_per_day=cases_per_day,
        events=args.events,
        seed=args.seed,
        invalid=min(0.05, 8 / args.events),
    )
