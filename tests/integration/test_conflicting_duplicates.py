"""The same event id with other content, through intake and the aggregator: kept and
reported (an anomaly, a counter), never silently dropped; the first stored still wins."""

from __future__ import annotations

import asyncio

import nats
import orjson
import pytest

from services.bootstrap import build_aggregator, build_intake
from services.ops.status import database_status
from shared.registry import load_registry
from shared.settings import Settings
from tests.integration.test_aggregator_service import local_figures
from tests.kits.aggregator import COMMUNE, payload
from tests.kits.reliability import wait_drained

pytestmark = pytest.mark.nats


async def test_a_conflicting_duplicate_is_kept_and_reported(settings: Settings) -> None:
    """A correction re-sent under the same event id (another due date) is an anomaly."""
    units = load_registry()
    services = [build_intake(settings, units), build_aggregator(settings, units)]
    for service in services:
        await service.start()
    first = payload("dup-1", "received", "2025-02-20T09:00", "D1", due_at="2025-03-05T17:00")
    other = dict(first, due_at="2025-02-21T17:00:00+07:00")
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        subject = f"tthc.events.{COMMUNE}.received"
        await js.publish(subject, orjson.dumps(first), headers={"Nats-Msg-Id": "m1"})
        await wait_drained(settings.nats_url)
        await js.publish(subject, orjson.dumps(first), headers={"Nats-Msg-Id": "m2"})  # a retry
        await js.publish(subject, orjson.dumps(other), headers={"Nats-Msg-Id": "m3"})  # other content
        await wait_drained(settings.nats_url)
        await asyncio.sleep(0.2)
    finally:
        await nc.close()
        for service in reversed(services):
            await service.stop()
    reply = local_figures(settings)
    assert reply.figures["received_total"] == 1 and reply.figures["open_overdue_at_end"] == 1
    assert reply.anomalies["counts"]["conflicting_duplicate"] == 1
    assert [a["event_id"] for a in reply.anomalies["cases"]] == ["dup-1"]
    status = database_status(settings, None)
    assert status is not None and status["conflicts_seen"] == 1  # the retry: dropped by intake
