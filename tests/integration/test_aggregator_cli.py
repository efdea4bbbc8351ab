"""`tthc verify` (services/aggregator/cli.py) and `tthc status` (services/ops/cli.py) as
commands: exit statuses and output."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import pytest
from sqlalchemy import update

from services.aggregator.cli import cmd_verify
from services.aggregator.storage.apply import apply_batch
from services.aggregator.storage.schema import case_state
from services.bootstrap import App
from services.ops.cli import cmd_status
from shared.natsserver import free_port
from shared.registry import load_registry
from tests.conftest import make_settings
from tests.kits.aggregator import items, migrated, story


def verify_args(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(
        **({"repair": False, "json": True, "quiet": True, "deep": False} | kw)
    )


@pytest.fixture
def loaded(tmp_path: Path):
    """Settings whose SQLite database holds the hand-built story (no NATS needed)."""
    settings = make_settings(tmp_path, "nats://127.0.0.1:1")
    engine = migrated(settings.database_url)
    apply_batch(engine, items(story()), load_registry().province_of)
    yield App(settings), engine
    engine.dispose()


def test_verify_clean_exits_0(loaded, capsys: pytest.CaptureFixture[str]) -> None:
    """verify on untouched rows prints zero drift and exits 0, also with --deep."""
    settings, _ = loaded
    assert cmd_verify(verify_args(), settings) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert (report["drift"], report["cases"], report["events"]) == (0, 7, 13)
    assert cmd_verify(verify_args(deep=True), settings) == 0


def test_verify_drift_exits_1_and_repair_fixes(loaded, capsys: pytest.CaptureFixture[str]) -> None:
    """Injected drift makes verify exit 1 naming the case; --repair fixes it for good."""
    settings, engine = loaded
    with engine.begin() as conn:
        conn.execute(update(case_state).where(case_state.c.case_id == "C3").values(overdue_at=None))
    assert cmd_verify(verify_args(json=False), settings) == 1
    out = capsys.readouterr().out
    assert "drift 1" in out and "00004/C3: row differs (overdue_at)" in out
    assert cmd_verify(verify_args(repair=True), settings) == 0
    assert cmd_verify(verify_args(), settings) == 0


def test_verify_without_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """verify before the aggregator ever ran reports nothing to verify and exits 0."""
    settings = make_settings(tmp_path, "nats://127.0.0.1:1")
    assert cmd_verify(verify_args(), App(settings)) == 0


def test_status_unreachable_nats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status with no NATS listening exits 1 with one line on standard error."""
    settings = make_settings(tmp_path, f"nats://127.0.0.1:{free_port()}")
    assert cmd_status(argparse.Namespace(json=True), App(settings)) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tthc status: error: cannot reach NATS") and "\n" not in err


@pytest.mark.nats
def test_status_command_via_tthc(settings, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`tthc status --json` through the composition root prints the streams and consumers."""
    from services.cli import main

    monkeypatch.setenv("TTHC_NATS_URL", settings.nats_url)
    monkeypatch.setenv("TTHC_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TTHC_METRICS_PORT", "0")
    assert main(["status", "--json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    assert data["consumers"] == [] and data["database"] is None
    assert main(["status"]) == 0
    assert "all caught up" in capsys.readouterr().out


def test_readers_do_not_create_the_database(tmp_path: Path) -> None:
    """verify, status's database part and the local figures source leave no SQLite file behind."""
    from services.aggregator.storage.reader import LocalFiguresSource
    from services.ops.status import database_status
    from shared.ports import FiguresRequest

    settings = make_settings(tmp_path, "nats://127.0.0.1:1")
    assert cmd_verify(verify_args(), App(settings)) == 0
    assert database_status(settings, None) is None
    source = LocalFiguresSource(settings.database_url, load_registry())
    reply = source.figures_sync(FiguresRequest("commune", "00004", 0, 10, 10))
    assert reply.figures["received_total"] == 0 and reply.watermark["accepted_events"] == 0
    assert not (tmp_path / "data" / "tthc.sqlite3").exists()
