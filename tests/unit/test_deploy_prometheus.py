"""Prometheus alert rules and configuration: valid, and the alerts fire when they should
(`promtool test rules`), run from pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DIR = Path(__file__).parents[2] / "deploy" / "prometheus"
EXPECTED_ALERTS = {
    "TthcServiceDown",
    "TthcServiceAbsent",
    "TthcConsumerLag",
    "TthcAggregatorDatabaseErrors",
    "TthcSqliteWalNotRestarting",
    "TthcDeadLetterGrowth",
    "TthcHandoffErrors",
    "TthcOverdueWithoutApology",
    "TthcCommuneSilent",
    "TthcSnapshotFailed",
    "TthcSnapshotMissed",
    "TthcFiguresIncomplete",
    "TthcMessagesSetAside",
    "TthcBrokerDisconnected",
    "TthcOverdueSweepStalled",
    "TthcJetStreamStorageNearLimit",
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("promtool is missing in CI: scripts/setup.sh installs Debian's prometheus")
    pytest.skip("promtool not installed (Debian: apt-get install prometheus)")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=DIR, capture_output=True, text=True, timeout=120)


def alert_names() -> set[str]:
    rules = yaml.safe_load((DIR / "alerts.yml").read_text(encoding="utf-8"))
    return {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}


def test_every_planned_alert_exists() -> None:
    """The rule file has the alerts of the runbook: down, broker lost, lag, dead letters,
    overdue, sweep stalled, JetStream storage, silence, snapshots."""
    assert alert_names() == EXPECTED_ALERTS


def test_every_alert_has_a_unit_test() -> None:
    """Each alert is expected to fire in at least one promtool test case."""
    tested: set[str] = set()
    for name in ("alerts_test.yml", "alerts_long_test.yml"):
        doc = yaml.safe_load((DIR / name).read_text(encoding="utf-8"))
        for case in doc["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    tested.add(check["alertname"])
    assert tested == EXPECTED_ALERTS


def test_rules_and_config_are_valid() -> None:
    """promtool accepts the rule file and the Prometheus configuration."""
    rules = run("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = run("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_alerts_fire_as_the_unit_tests_say() -> None:
    """promtool test rules passes on both test files (minute and day time scales)."""
    result = run("test", "rules", "alerts_test.yml", "alerts_long_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 2
