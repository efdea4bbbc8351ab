"""Fixtures of the reliability tests (helpers in kit.py; NATS/PostgreSQL in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """TTHC_DATA_DIR of the test's services."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def fault_dir(tmp_path: Path) -> Path:
    """Where the fault launcher leaves a marker for each fault it injected."""
    path = tmp_path / "faults"
    path.mkdir()
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """On a failure, attach the tail of every service log the test wrote (the
    processes' own account of what they did is what a flaky failure needs)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    if tmp_path is None:
        return
    for log in sorted(Path(tmp_path).glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        report.sections.append((f"service log {log.name} (last 40 lines)", "\n".join(lines[-40:])))
