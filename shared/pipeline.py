"""What the pipeline holds: its streams and every consumer on them, in pipeline order.

`tthc status` and the aggregator's `tthc_consumer_pending` gauge read it. Consumers of
TTHC_EVENTS come first (intake), then TTHC_ACCEPTED (aggregator), then TTHC_REJECTED
(if anyone consumes it): when every `num_pending` and `num_ack_pending` is 0, every
published event has been taken into the figures.
"""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from shared.subjects import ACCEPTED_STREAM, EVENTS_STREAM, REJECTED_STREAM

PIPELINE_STREAMS = (EVENTS_STREAM, ACCEPTED_STREAM, REJECTED_STREAM)


async def collect(js: JetStreamContext) -> dict[str, Any]:
    """`{"streams": [...], "consumers": [...]}` of the project's streams, in pipeline order."""
    streams: list[dict[str, Any]] = []
    consumers: list[dict[str, Any]] = []
    for name in PIPELINE_STREAMS:
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            streams.append({"name": name, "exists": False})
            continue
        state = info.state
        streams.append(
            {
                "name": name,
                "exists": True,
                "messages": state.messages,
                "bytes": state.bytes,
                "first_seq": state.first_seq,
                "last_seq": state.last_seq,
                "consumer_count": state.consumer_count,
            }
        )
        offset = 0
        while True:
            page = await js.consumers_info(name, offset=offset or None)
            for ci in sorted(page, key=lambda c: c.name):
                consumers.append(
                    {
                        "stream": name,
                        "name": ci.name,
                        "num_pending": ci.num_pending or 0,
                        "num_ack_pending": ci.num_ack_pending or 0,
                        "num_redelivered": ci.num_redelivered or 0,
                        "num_waiting": ci.num_waiting or 0,
                        "delivered_stream_seq": ci.delivered.stream_seq if ci.delivered else None,
                        "ack_floor_stream_seq": ci.ack_floor.stream_seq if ci.ack_floor else None,
                    }
                )
            if len(page) < 256:
                break
            offset += len(page)
    return {"streams": streams, "consumers": consumers}
