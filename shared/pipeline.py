"""What the pipeline holds: its streams and every consumer on them, in pipeline order.

`tthc status` and the aggregator's `tthc_consumer_pending` gauge read it. Consumers of
TTHC_EVENTS come first (intake), then TTHC_ACCEPTED (aggregator), then TTHC_REJECTED
(if anyone consumes it): when every `num_pending` and `num_ack_pending` is 0, every
published event has been taken into the figures.

`events_pending` says the same in desk events: one TTHC_EVENTS message is one event,
while one TTHC_ACCEPTED message is a hand-off batch of up to TTHC_BATCH_SIZE of them.
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


# The highest TTHC_EVENTS sequence a hand-off message carries (shared/handoff.headers_of).
SEQ_MAX_HEADER = "Tthc-Events-Seq-Max"


async def events_pending(js: JetStreamContext, info: dict[str, Any]) -> dict[tuple[str, str], int]:
    """Desk events not yet through each consumer of TTHC_EVENTS and TTHC_ACCEPTED, by
    (stream, consumer), from `collect`'s answer.

    - TTHC_EVENTS: `num_pending + num_ack_pending` (one message is one desk event).
    - TTHC_ACCEPTED: 0 when nothing is pending; otherwise the span of TTHC_EVENTS
      sequences between the hand-off message at the consumer's ack floor and the
      stream's last one (their `Tthc-Events-Seq-Max` headers). An upper bound: desk
      messages rejected or dropped as duplicates inside the span count too. When the
      ack-floor message is gone (retention) the span starts at 0.
    """
    streams = {s["name"]: s for s in info["streams"] if s.get("exists")}
    seq_max: dict[int, int] = {0: 0}

    async def highest(seq: int) -> int:
        if seq not in seq_max:
            msg = await js.get_msg(ACCEPTED_STREAM, seq)
            seq_max[seq] = int((msg.headers or {}).get(SEQ_MAX_HEADER, 0) or 0)
        return seq_max[seq]

    out: dict[tuple[str, str], int] = {}
    for c in info["consumers"]:
        key = (c["stream"], c["name"])
        pending = c["num_pending"] + c["num_ack_pending"]
        if c["stream"] == EVENTS_STREAM:
            out[key] = pending
        elif c["stream"] == ACCEPTED_STREAM and ACCEPTED_STREAM in streams:
            if pending == 0:
                out[key] = 0
                continue
            last = await highest(streams[ACCEPTED_STREAM]["last_seq"])
            try:
                floor = await highest(c["ack_floor_stream_seq"] or 0)
            except NotFoundError:  # dropped by retention: count from the start
                floor = 0
            out[key] = max(0, last - floor)
    return out
