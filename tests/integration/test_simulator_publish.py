"""Publishing simulated traffic to a real nats-server: every unique message lands once."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.simulator.cli import run_publish
from services.simulator.generate import SimConfig, generate
from shared.domain.timeutil import LOCAL_TZ
from shared.natsutil import connect
from shared.subjects import EVENTS_STREAM

pytestmark = pytest.mark.nats

COMMUNES = ("16000", "14758")


def config(**overrides) -> SimConfig:
    values = {
        "communes": COMMUNES,
        "start": date(2026, 1, 5),
        "end": date(2026, 1, 31),
        "now": datetime(2026, 2, 1, tzinfo=LOCAL_TZ),
        "provinces": dict.fromkeys(COMMUNES, "38"),
        "cases_per_day": 5,
        "duplicates": 0.05,
        "reorder": 0.02,
        "invalid": 0.01,
    }
    values.update(overrides)
    return SimConfig(**values)


async def stream_messages(settings) -> int:
    nc = await connect(settings, "test")
    try:
        info = await nc.jetstream().stream_info(EVENTS_STREAM)
        return info.state.messages
    finally:
        await nc.close()


async def test_jetstream_publish_lands_each_unique_message_once(settings):
    """Re-sent events are dropped by JetStream's duplicate window; the rest are stored once."""
    messages = list(generate(config()))
    unique = {m.msg_id for m in messages}
    resent = sum(1 for m in messages if m.kind == "duplicate")
    assert resent > 0 and len(messages) > 300
    stats = await run_publish(settings, iter(messages), in_flight=100)
    assert stats.published == len(messages)
    assert stats.acked == len(messages) and stats.failed == 0
    assert stats.window_duplicates == resent
    assert await stream_messages(settings) == len(unique)
    # Publishing the same run again adds nothing: every message is inside the window.
    again = await run_publish(settings, iter(messages))
    assert again.window_duplicates == len(messages)
    assert await stream_messages(settings) == len(unique)


async def test_core_publish_with_a_steady_rate(settings):
    """Core publish (no acks) also lands in the stream; --rate paces the publishing."""
    messages = list(generate(config(duplicates=0.0, invalid=0.0)))[:200]
    stats = await run_publish(settings, iter(messages), core=True, rate=1000)
    assert stats.published == 200
    assert stats.elapsed >= 0.15  # 200 messages at 1000/s take about 0.2 s
    assert await stream_messages(settings) == 200
