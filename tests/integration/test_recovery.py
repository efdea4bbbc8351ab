"""The stream is the log of record (services/aggregator/recovery.py), against a real
nats-server: a lost, restored or wrong database catches up by itself; what the broker
no longer holds is said, never hidden."""

from __future__ import annotations

import argparse
import asyncio
import shutil

import nats
import orjson
import pytest
from prometheus_client import generate_latest

from services.bootstrap import App
from services.ops.cli import cmd_status
from shared.settings import Settings
from shared.subjects import ACCEPTED_STREAM
from tests.integration.test_aggregator_service import (
    aggregator,
    local_figures,
    publish_batches,
    wait_caught_up,
)
from tests.kits.aggregator import many_cases, story

pytestmark = pytest.mark.nats


async def run_once(settings: Settings):
    """Start the aggregator, let it catch up, stop it; the figures it left."""
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
    finally:
        await service.stop()
    return local_figures(settings)


def sqlite_path(settings: Settings):
    return settings.data_dir / "tthc.sqlite3"


async def test_a_lost_database_is_replayed_from_the_log(settings: Settings) -> None:
    """An empty database (lost, or a wrong TTHC_DATABASE_URL) gets every event back."""
    await publish_batches(settings, story(), size=4)
    before = await run_once(settings)
    for suffix in ("", "-wal", "-shm"):
        sqlite_path(settings).with_name("tthc.sqlite3" + suffix).unlink(missing_ok=True)
    after = await run_once(settings)
    assert after.figures == before.figures and after.anomalies == before.anomalies
    assert after.watermark["accepted_events"] == 13
    assert after.completeness["complete"] is True


async def test_a_restored_backup_catches_up(settings: Settings) -> None:
    """Last night's database file, restored while the broker kept every event, catches up."""
    events = story() + many_cases(40)
    await publish_batches(settings, events[:20], size=5)
    await run_once(settings)
    backup = settings.data_dir / "backup.sqlite3"
    shutil.copy(sqlite_path(settings), backup)
    await publish_batches(settings, events[20:], size=5, first_seq=21)
    before = await run_once(settings)
    for suffix in ("-wal", "-shm"):
        sqlite_path(settings).with_name("tthc.sqlite3" + suffix).unlink(missing_ok=True)
    shutil.copy(backup, sqlite_path(settings))
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
        text = generate_latest(service.metrics.registry).decode()
        assert "tthc_aggregator_replayed_messages_total 0.0" not in text
    finally:
        await service.stop()
    after = local_figures(settings)
    assert after.figures == before.figures
    assert after.watermark["accepted_events"] == before.watermark["accepted_events"]


async def test_what_the_broker_no_longer_holds_is_said(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh database after retention dropped old messages: the gap is recorded, exported,
    put in every reply, and `tthc status` exits 1 naming it."""
    await publish_batches(settings, story(), size=4)  # 4 messages
    await run_once(settings)
    nc = await nats.connect(settings.nats_url)
    try:
        await nc.jetstream().purge_stream(ACCEPTED_STREAM, seq=3)  # keeps messages 3 and 4
    finally:
        await nc.close()
    for suffix in ("", "-wal", "-shm"):
        sqlite_path(settings).with_name("tthc.sqlite3" + suffix).unlink(missing_ok=True)
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
        text = generate_latest(service.metrics.registry).decode()
        assert "tthc_aggregator_lost_messages 2.0" in text
    finally:
        await service.stop()
    reply = local_figures(settings)
    assert reply.completeness["complete"] is False
    assert reply.completeness["missing_messages"] == 2
    assert "incomplete" in reply.completeness["detail"]
    assert reply.watermark["accepted_events"] == 5  # the events of messages 3 and 4
    capsys.readouterr()
    assert await asyncio.to_thread(cmd_status, argparse.Namespace(json=True), App(settings)) == 1
    captured = capsys.readouterr()
    data = orjson.loads(captured.out)
    assert data["complete"] is False and data["database"]["lost_messages"] == 2
    assert "incomplete" in captured.err
