"""Consumer lag in desk events, not messages: on TTHC_ACCEPTED one message is a hand-off
batch, so `events_pending` counts the TTHC_EVENTS sequences its headers span."""

from __future__ import annotations

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from shared import pipeline
from shared.natsserver import LocalNatsServer
from shared.natsutil import ensure_streams
from shared.settings import Settings
from shared.subjects import ACCEPTED_STREAM, AGGREGATOR_CONSUMER, EVENTS_STREAM

pytestmark = pytest.mark.nats


async def test_events_pending_counts_events_on_both_streams(
    nats_server: LocalNatsServer, settings: Settings
) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings)
        for n in range(7):  # seven desk events
            await js.publish("tthc.events.16000.received", b"{}", headers={"Nats-Msg-Id": f"e{n}"})
        await js.add_consumer(
            EVENTS_STREAM, ConsumerConfig(durable_name="tthc-intake", ack_policy=AckPolicy.EXPLICIT)
        )
        # Three hand-off batches covering TTHC_EVENTS up to 1000, 2000 and 2500.
        for top in (1000, 2000, 2500):
            await js.publish(
                "tthc.accepted.batch",
                b"batch",
                headers={"Nats-Msg-Id": f"h{top}", pipeline.SEQ_MAX_HEADER: str(top)},
            )
        await js.add_consumer(
            ACCEPTED_STREAM,
            ConsumerConfig(durable_name=AGGREGATOR_CONSUMER, ack_policy=AckPolicy.EXPLICIT),
        )
        sub = await js.pull_subscribe_bind(AGGREGATOR_CONSUMER, ACCEPTED_STREAM)

        async def lag() -> dict:
            return await pipeline.events_pending(js, await pipeline.collect(js))

        before = await lag()
        assert before[(EVENTS_STREAM, "tthc-intake")] == 7
        assert before[(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)] == 2500  # nothing applied yet
        first = (await sub.fetch(1))[0]
        await first.ack_sync()  # the batch up to 1000 is in the figures
        assert (await lag())[(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)] == 1500
        for msg in await sub.fetch(2):
            await msg.ack_sync()
        assert (await lag())[(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)] == 0
        info = await pipeline.collect(js)  # messages, for comparison: 0 as well now
        pending = {(c["stream"], c["name"]): c["num_pending"] for c in info["consumers"]}
        assert pending[(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)] == 0
    finally:
        await nc.close()
