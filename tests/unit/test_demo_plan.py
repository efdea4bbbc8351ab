"""`tthc demo`'s plan (services/demo/plan.py): communes, period, rate."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

import pytest

from services.demo.plan import make_plan
from shared.domain.periods import period_containing
from shared.errors import UsageError
from shared.registry import load_registry

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def args(**overrides) -> argparse.Namespace:
    values = {"communes": None, "events": 3000, "period": None, "seed": 1}
    values.update(overrides)
    return argparse.Namespace(**values)


def plan_of(**overrides):
    return make_plan(args(**overrides), load_registry(), "decree09", NOW)


def test_default_plan_is_the_current_quarter_of_three_communes():
    """By default: 3 communes of province 38, the current Decree 09 quarter, a lead-in."""
    plan = plan_of()
    assert plan.communes == ("16000", "14758", "14797") and plan.province == "38"
    assert plan.period == period_containing(date(2026, 11, 23), "quarter", "decree09")
    assert plan.period.label == "2026-Q4"
    assert plan.start < plan.period.start and plan.end == date(2026, 11, 23)
    assert 0 < plan.invalid <= 0.05


def test_cases_per_day_scale_with_the_events_asked():
    """Asking for more events raises the arrival rate proportionally."""
    small = plan_of(events=500)
    big = plan_of(events=5000)
    assert big.cases_per_day == pytest.approx(10 * small.cases_per_day)


@pytest.mark.parametrize(
    "overrides",
    [
        {"period": "2026-Q7"},
        {"period": "2030-Q1"},
        {"communes": "16000,00004"},
        {"events": 0},
    ],
)
def test_bad_arguments_are_usage_errors(overrides):
    """A malformed or future period, communes of two provinces, no events: usage errors."""
    with pytest.raises(UsageError):
        plan_of(**overrides)
