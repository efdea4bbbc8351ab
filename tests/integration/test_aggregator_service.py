"""The aggregator service against a real nats-server: hand-off batches in, figures out."""

from __future__ import annotations

import asyncio
import time

import nats
import orjson
import pytest
from prometheus_client import generate_latest

from services.bootstrap import build_aggregator, local_figures_source
from shared import pipeline
from shared.natsutil import ensure_streams
from shared.ports import FiguresReply, FiguresRequest, request_to_json
from shared.registry import load_registry
from shared.settings import Settings
from shared.subjects import ACCEPTED_STREAM, AGGREGATOR_CONSUMER, FIGURES_QUERY_SUBJECT
from tests.kits.aggregator import COMMUNE, batch_message, story, us
from tests.kits.processes import gone

pytestmark = pytest.mark.nats

START, END, LATER = us("2025-02-15T00:00"), us("2025-03-15T00:00"), us("2025-06-01T00:00")


async def publish_batches(
    settings: Settings, events: list[dict], size: int, first_seq: int = 1
) -> None:
    """Publish hand-off messages of `size` events each, as intake does."""
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, settings)
    for i in range(0, len(events), size):
        chunk = events[i : i + size]
        first = first_seq + i
        await js.publish(
            "tthc.accepted.batch",
            batch_message(chunk, first, time.time_ns()),
            headers={
                "Nats-Msg-Id": f"test-{first}-{first + len(chunk) - 1}-{time.time_ns()}",
                "Tthc-Events-Seq-Max": str(first + len(chunk) - 1),
            },
        )
    await nc.close()


async def wait_caught_up(settings: Settings, timeout: float = 20) -> None:
    """Until the aggregator's consumer has nothing pending nor unacknowledged."""
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            info = await js.consumer_info(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"still pending: {info.num_pending} / {info.num_ack_pending}")
    finally:
        await nc.close()


def aggregator(settings: Settings):
    """The aggregator as `tthc run aggregator` builds it."""
    return build_aggregator(settings, load_registry())


def local_figures(settings: Settings) -> FiguresReply:
    source = local_figures_source(settings, load_registry())
    try:
        return source.figures_sync(FiguresRequest("commune", COMMUNE, START, END, LATER))
    finally:
        source.close()


def local_status(settings: Settings) -> dict:
    """The database part of `tthc status` (no broker view: nothing counted missing)."""
    from services.ops.status import database_status

    found = database_status(settings, None)
    assert found is not None
    return found


async def test_batches_in_figures_out(settings: Settings) -> None:
    """Published hand-off batches end up in the figures, served in process and over NATS."""
    await publish_batches(settings, story() + story()[:4], size=5)  # 4 duplicates
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
        reply = local_figures(settings)
        assert reply.figures["received_total"] == 4 and reply.figures["resolved_total"] == 3
        assert reply.watermark["accepted_events"] == 13
        nc = await nats.connect(settings.nats_url)
        try:
            request = FiguresRequest("commune", COMMUNE, START, END, LATER)
            msg = await nc.request(FIGURES_QUERY_SUBJECT, request_to_json(request), timeout=5)
            remote = FiguresReply.from_json(msg.data)
            assert remote.figures == reply.figures and remote.anomalies == reply.anomalies
            bad = await nc.request(FIGURES_QUERY_SUBJECT, b"{}", timeout=5)
            assert FiguresReply.from_json(bad.data).error.startswith("bad request")
        finally:
            await nc.close()
        text = generate_latest(service.metrics.registry).decode()
        assert "tthc_aggregator_events_applied_total 13.0" in text
        assert "tthc_aggregator_duplicates_total 4.0" in text
        assert "tthc_event_to_figure_latency_seconds_count 13.0" in text
    finally:
        await service.stop()


async def test_restart_mid_stream_loses_nothing(settings: Settings) -> None:
    """Stopping and restarting mid-stream, with redelivered overlap, counts each event once."""
    events = story()
    await publish_batches(settings, events[:7], size=3)
    first = aggregator(settings)
    await first.start()
    await wait_caught_up(settings)
    await first.stop()
    # Overlap: events 5..13 again (5..7 already in), as a redelivery after a crash would.
    await publish_batches(settings, events[4:], size=4, first_seq=5)
    second = aggregator(settings)
    await second.start()
    try:
        await wait_caught_up(settings)
        reply = local_figures(settings)
        assert reply.watermark["accepted_events"] == 13
        assert reply.figures["received_total"] == 4 and reply.figures["resolved_total"] == 3
        assert reply.watermark["events_stream_seq"] == 13
    finally:
        await second.stop()


async def test_gauges_and_consumer_lag(settings: Settings) -> None:
    """Live gauges show the unit's cases (zeros included) and the consumer lag gauge exists."""
    await publish_batches(settings, story(), size=13)
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
        await service._refresh_gauges()
        text = generate_latest(service.metrics.registry).decode()
        assert 'tthc_cases_received{channel="direct",unit="01"} 3.0' in text  # C1, C5, C7
        assert 'tthc_cases_received{channel="postal",unit="79"} 0.0' in text  # another province
        assert 'tthc_cases_open{unit="01"} 2.0' in text  # C2, C4
        assert 'tthc_cases_open_overdue{unit="01"} 1.0' in text  # C2 (C4 is waiting)
        assert 'tthc_cases_awaiting_supplement{unit="01"} 1.0' in text
        assert 'tthc_case_anomalies{kind="orphan",unit="01"} 1.0' in text
        assert 'tthc_case_anomalies{kind="second_received",unit="01"} 0.0' in text
        assert 'tthc_cases_resolved{channel="online_full",lateness="late",unit="01"} 1.0' in text
        assert (
            f'tthc_consumer_pending{{consumer="{AGGREGATOR_CONSUMER}",stream="{ACCEPTED_STREAM}"}} 0.0'
            in text
        )
    finally:
        await service.stop()


async def test_status_lists_consumers_in_pipeline_order(settings: Settings) -> None:
    """pipeline.collect lists TTHC_EVENTS consumers before TTHC_ACCEPTED's, with pending counts."""
    from nats.js.api import ConsumerConfig

    await publish_batches(settings, story(), size=13)
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    try:
        await js.add_consumer("TTHC_EVENTS", ConsumerConfig(durable_name="tthc-intake"))
        await js.add_consumer(ACCEPTED_STREAM, ConsumerConfig(durable_name=AGGREGATOR_CONSUMER))
        info = await pipeline.collect(js)
    finally:
        await nc.close()
    assert [(c["stream"], c["name"]) for c in info["consumers"]] == [
        ("TTHC_EVENTS", "tthc-intake"),
        (ACCEPTED_STREAM, AGGREGATOR_CONSUMER),
    ]
    assert info["consumers"][1]["num_pending"] == 1
    assert [s["name"] for s in info["streams"]] == ["TTHC_EVENTS", ACCEPTED_STREAM, "TTHC_REJECTED"]


async def test_unreadable_message_is_set_aside(settings: Settings) -> None:
    """A hand-off message that cannot be read is kept aside and counted; it blocks no other."""
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, settings)
    await js.publish("tthc.accepted.batch", b"not json")
    await nc.close()
    await publish_batches(settings, story(), size=13)
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
        assert local_figures(settings).watermark["accepted_events"] == 13
        text = generate_latest(service.metrics.registry).decode()
        assert "tthc_aggregator_bad_messages_total 1.0" in text
        status = local_status(settings)
        assert status["set_aside"] == 1 and status["missing_messages"] == 0
    finally:
        await service.stop()


async def test_status_json_command(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """`tthc status --json` prints consumers with pending counts, and the database counts."""
    from services.ops.status import collect_status

    await publish_batches(settings, story(), size=13)
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
        data = await asyncio.to_thread(collect_status, settings)
    finally:
        await service.stop()
    names = [(c["stream"], c["name"]) for c in data["consumers"]]
    assert (ACCEPTED_STREAM, AGGREGATOR_CONSUMER) in names
    for c in data["consumers"]:
        assert {"stream", "name", "num_pending", "num_ack_pending"} <= set(c)
    assert data["all_caught_up"] is True
    assert data["database"]["events_stored"] == 13 and data["database"]["cases"] == 7
    orjson.dumps(data)  # JSON-serialisable as printed


async def test_start_migrates_a_fresh_database(settings: Settings) -> None:
    """Starting the service runs `alembic upgrade head` on an empty database."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from services.aggregator.storage.engine import alembic_config, make_engine

    service = aggregator(settings)
    await service.start()
    await service.stop()
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_wal_checkpointed_by_its_own_task(settings: Settings) -> None:
    """SQLite: the service's commits leave the WAL alone (no automatic checkpoint in
    the commit); its checkpoint task copies the WAL into the database file afterwards."""
    from services.aggregator.storage.engine import checkpoint, make_engine

    service = aggregator(settings)
    await service.start()
    try:
        assert service.engine is not None
        with service.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        await publish_batches(settings, story(), size=3)
        await wait_caught_up(settings)
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline:
            text = generate_latest(service.metrics.registry).decode()
            if "tthc_aggregator_checkpoint_duration_seconds_count 0.0" not in text:
                break
            await asyncio.sleep(0.2)
        assert "tthc_aggregator_checkpoint_duration_seconds_count 0.0" not in text
        assert "tthc_aggregator_wal_pages 0.0" in text  # everything copied, no reader
    finally:
        await service.stop()
    # Other engines (the command line, readers) keep SQLite's automatic checkpoints.
    other = make_engine(settings.database_url)
    try:
        with other.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        busy, frames, done = checkpoint(other)
        assert busy == 0 and frames == done
        with pytest.raises(ValueError):
            checkpoint(other, "NONSENSE")
    finally:
        other.dispose()


async def test_figures_workers_answer_over_nats(settings: Settings) -> None:
    """With TTHC_FIGURES_WORKERS, a province request starts the workers; once they run,
    the same requests over NATS get the same figures from them (docs/operations.md)."""
    from dataclasses import replace

    await publish_batches(settings, story(), size=5)
    service = aggregator(replace(settings, figures_workers=2))
    assert service.queries.workers is not None
    await service.start()
    try:
        await wait_caught_up(settings)
        nc = await nats.connect(settings.nats_url)
        try:
            asks = [
                FiguresRequest("province", "01", START, END, LATER, with_communes=True),
                FiguresRequest("commune", COMMUNE, START, END, LATER),
            ]

            async def ask_all() -> list[FiguresReply]:
                out = []
                for request in asks:
                    msg = await nc.request(
                        FIGURES_QUERY_SUBJECT, request_to_json(request), timeout=10
                    )
                    out.append(FiguresReply.from_json(msg.data))
                return out

            in_thread = await ask_all()  # the first province request starts the workers
            deadline = time.monotonic() + 60
            while len(service.queries.workers.pids()) < 2:
                assert time.monotonic() < deadline, "the figures workers did not start"
                await asyncio.sleep(0.05)
            pids = service.queries.workers.pids()
            from_workers = await ask_all()
            assert [r.figures for r in from_workers] == [r.figures for r in in_thread]
            assert from_workers[0].communes == in_thread[0].communes
            assert in_thread[1].figures["received_total"] == 4  # story(): four cases
        finally:
            await nc.close()
    finally:
        await service.stop()
    assert gone(pids, 10), "a figures worker outlived the aggregator"
