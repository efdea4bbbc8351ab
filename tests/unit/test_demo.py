"""`tthc demo`'s plan and start-up decisions (no services started here)."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

import pytest

from services import demo
from services.cli import main
from shared.domain.periods import period_containing
from shared.errors import UsageError
from shared.settings import Settings

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def args(**overrides) -> argparse.Namespace:
    values = {"communes": None, "events": 3000, "period": None, "seed": 1}
    values.update(overrides)
    return argparse.Namespace(**values)


def settings(tmp_path) -> Settings:
    return Settings.from_env(data_dir=tmp_path, metrics_port=0, database_url="sqlite://")


def test_default_plan_is_the_current_quarter_of_three_communes(tmp_path):
    """By default: 3 communes of province 38, the current Decree 09 quarter, a lead-in."""
    plan = demo.make_plan(args(), settings(tmp_path), NOW)
    assert plan.communes == ("16000", "14758", "14797") and plan.province == "38"
    assert plan.period == period_containing(date(2026, 11, 23), "quarter", "decree09")
    assert plan.period.label == "2026-Q4"
    assert plan.start < plan.period.start and plan.end == date(2026, 11, 23)
    assert 0 < plan.invalid <= 0.05


def test_cases_per_day_scale_with_the_events_asked(tmp_path):
    """Asking for more events raises the arrival rate proportionally."""
    small = demo.make_plan(args(events=500), settings(tmp_path), NOW)
    big = demo.make_plan(args(events=5000), settings(tmp_path), NOW)
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
def test_bad_arguments_are_usage_errors(tmp_path, overrides):
    """A malformed or future period, communes of two provinces, no events: usage errors."""
    with pytest.raises(UsageError):
        demo.make_plan(args(**overrides), settings(tmp_path), NOW)


def test_no_server_and_no_binary_prints_the_install_hint(tmp_path, monkeypatch, capsys):
    """Without a reachable NATS and without a nats-server binary, the demo says what to install."""

    def missing() -> str:
        raise demo.NatsServerNotFound(demo.INSTALL_HINT)

    monkeypatch.setattr(demo, "is_reachable", lambda url, timeout=0.5: False)
    monkeypatch.setattr(demo, "find_nats_server", missing)
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TTHC_METRICS_PORT", "0")
    assert main(["demo", "--events", "10"]) == 1
    assert "apt-get install nats-server" in capsys.readouterr().err


def test_summary_lists_rejections_by_reason():
    """The summary names each rejection reason with its count."""
    from services.simulator.publish import PublishStats

    stats = PublishStats(published=10)
    stats.kinds.update({"event": 8, "invalid:bad_type": 2})
    counts = {
        "tthc_intake_accepted_total": 8,
        "tthc_intake_rejected_total{reason=bad_type}": 2,
        "tthc_intake_rejected_total{reason=invalid_json}": 0,
    }
    text = "\n".join(demo.summary_lines(stats, counts, caught_up=True))
    assert "(bad_type 2)" in text and "invalid_json" not in text
    assert "WARNING" not in text
    assert "WARNING" in "\n".join(demo.summary_lines(stats, counts, caught_up=False))
