"""Publishing simulated messages: JetStream with acks (default) or plain core NATS.

JetStream mode uses nats-py's `publish_async` with a bounded number of messages in
flight and counts the acks (`PubAck.duplicate` tells the ones JetStream's duplicate
window dropped). A message whose ack failed or never came is published again with a
synchronous JetStream publish: the `Nats-Msg-Id` header makes that safe. Core mode
publishes without acks and flushes now and then; it is faster and loses nothing on a
healthy connection, but confirms nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

import orjson
from nats.aio.client import Client
from nats.js.errors import TooManyStalledMsgsError

from services.simulator.generate import SimMessage
from shared.errors import Unavailable

MSG_ID_HEADER = "Nats-Msg-Id"


def encode(msg: SimMessage) -> bytes:
    """The bytes on the wire: the payload as JSON, or the raw bytes of a broken message."""
    if msg.raw is not None:
        return msg.raw
    return orjson.dumps(msg.payload)


@dataclass
class PublishStats:
    """What a run published. `kinds` counts messages by `SimMessage.kind`."""

    published: int = 0
    acked: int = 0
    window_duplicates: int = 0  # acks saying JetStream's duplicate window dropped it
    retried: int = 0
    failed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed
        return self.published / elapsed if elapsed > 0 else 0.0

    @property
    def invalid(self) -> int:
        return sum(n for kind, n in self.kinds.items() if kind.startswith("invalid:"))

    def line(self) -> str:
        """A one-line progress or summary text."""
        return (
            f"published {self.published:,} messages ({self.rate:,.0f}/s; "
            f"events {self.kinds.get('event', 0):,}, re-sent {self.kinds.get('duplicate', 0):,}, "
            f"invalid {self.invalid:,}); acked {self.acked:,}, "
            f"dropped by JetStream's window {self.window_duplicates:,}"
            + (f", FAILED {self.failed:,}" if self.failed else "")
        )


class _Pacer:
    """Keeps a steady publish rate (messages per second) when one is asked for."""

    def __init__(self, rate: float | None):
        self.rate = rate if rate and rate > 0 else None
        self.start = time.monotonic()

    async def wait(self, n: int) -> None:
        if self.rate is None:
            return
        ahead = self.start + n / self.rate - time.monotonic()
        if ahead > 0.001:
            await asyncio.sleep(ahead)


async def publish_messages(
    nc: Client,
    messages: Iterable[SimMessage],
    *,
    core: bool = False,
    max_in_flight: int = 1000,
    rate: float | None = None,
    progress: Callable[[PublishStats], None] | None = None,
    progress_interval: float = 1.0,
    ack_timeout: float = 10.0,
) -> PublishStats:
    """Publish every message to its subject with the `Nats-Msg-Id` header; return counts."""
    stats = PublishStats()
    pacer = _Pacer(rate)
    next_progress = time.monotonic() + progress_interval

    def tick() -> None:
        nonlocal next_progress
        if progress is not None and time.monotonic() >= next_progress:
            next_progress = time.monotonic() + progress_interval
            progress(stats)

    if core:
        for msg in messages:
            headers = {MSG_ID_HEADER: msg.msg_id} if msg.msg_id else None
            await nc.publish(msg.subject, encode(msg), headers=headers)
            stats.published += 1
            stats.kinds[msg.kind] += 1
            if stats.published % max_in_flight == 0:
                await nc.flush(timeout=ack_timeout)
                tick()
            await pacer.wait(stats.published)
        await nc.flush(timeout=ack_timeout)
        stats.finished = time.monotonic()
        return stats

    js = nc.jetstream(publish_async_max_pending=max_in_flight)
    in_flight: dict[asyncio.Future, SimMessage] = {}
    to_retry: list[SimMessage] = []

    def settle(future: asyncio.Future) -> None:
        msg = in_flight.pop(future, None)
        if msg is None:
            return
        if future.cancelled() or future.exception() is not None:
            to_retry.append(msg)
            return
        stats.acked += 1
        if future.result().duplicate:
            stats.window_duplicates += 1

    for msg in messages:
        headers = {MSG_ID_HEADER: msg.msg_id} if msg.msg_id else None
        try:  # waits for room among the in-flight publishes, but not for ever
            future = await js.publish_async(
                msg.subject, encode(msg), headers=headers, wait_stall=ack_timeout
            )
        except TooManyStalledMsgsError:
            raise Unavailable(
                f"NATS acknowledged none of {len(in_flight):,} publishes for "
                f"{ack_timeout:.0f} s: is the server up? check TTHC_NATS_URL "
                f"({stats.acked:,} of {stats.published:,} acknowledged before)"
            ) from None
        in_flight[future] = msg
        future.add_done_callback(settle)
        stats.published += 1
        stats.kinds[msg.kind] += 1
        if stats.published % 256 == 0:
            tick()
        await pacer.wait(stats.published)

    if in_flight:
        _done, not_done = await asyncio.wait(list(in_flight), timeout=ack_timeout)
        for future in not_done:
            to_retry.append(in_flight.pop(future))
            future.cancel()
    for msg in to_retry:
        if nc.is_closed:  # reconnects given up: the rest fail at once, not 1.5 s each
            stats.failed += 1
            continue
        headers = {MSG_ID_HEADER: msg.msg_id} if msg.msg_id else None
        stats.retried += 1
        for attempt in range(3):
            try:
                ack = await js.publish(msg.subject, encode(msg), headers=headers, timeout=5)
            except Exception:
                if attempt == 2:
                    stats.failed += 1
                else:
                    await asyncio.sleep(0.5 * (attempt + 1))
                continue
            stats.acked += 1
            stats.window_duplicates += int(ack.duplicate or 0)
            break
    stats.finished = time.monotonic()
    return stats


def write_jsonl(messages: Iterable[SimMessage], out: IO[bytes]) -> PublishStats:
    """Write one message a line (the payload as published; broken JSON as its raw bytes)."""
    stats = PublishStats()
    for msg in messages:
        out.write(encode(msg) + b"\n")
        stats.published += 1
        stats.kinds[msg.kind] += 1
    out.flush()
    stats.finished = time.monotonic()
    return stats
