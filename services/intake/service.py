"""The intake service: TTHC_EVENTS in, validated, deduplicated, handed on; nothing lost.

Design (measured, see docs/intake.md): a durable *push* consumer whose deliver subject
is read by a plain nats-py core subscription with a callback that only appends the
message to an in-memory buffer. A batch task takes up to TTHC_BATCH_SIZE messages (or
what arrived within TTHC_BATCH_WAIT_MS of the first), validates them, publishes the
accepted ones as one `tthc.accepted.batch` message (split under 900 KiB) and each
rejected one to `tthc.rejected.<reason>.<commune>`, awaits every JetStream publish ack, and only
then acknowledges the source messages (explicit acks). A failed publish leaves the
batch unacknowledged and is retried with back-off; the batch is never half-acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError, NotFoundError

from services.intake.feed import RejectionFeed
from services.intake.handler import (
    HANDOFF_SUBJECT,
    Incoming,
    RecentIds,
    handoff_messages,
    plan_batch,
    rejected_message,
)
from services.intake.metrics import IntakeMetrics
from shared.domain.timeutil import now_instant
from shared.domain.validation import CommuneLookup
from shared.httpserver import OpsServer
from shared.logging import get_logger
from shared.natsutil import connect, ensure_streams
from shared.settings import Settings
from shared.subjects import EVENTS_STREAM, INTAKE_CONSUMER

log = get_logger("tthc.intake")

DELIVER_SUBJECT = "_TTHC.deliver.intake"
# Intakes started together share the consumer's messages as a queue group: each message
# goes to one of them; if one stops, the others get everything (a standby).
DELIVER_GROUP = "tthc-intake"
RECENT_IDS = 100_000
PUBLISH_TIMEOUT = 10.0


def consumer_config(settings: Settings, start_seq: int | None = None) -> ConsumerConfig:
    """The durable push consumer of intake on TTHC_EVENTS (a queue group: see DELIVER_GROUP)."""
    return ConsumerConfig(
        durable_name=INTAKE_CONSUMER,
        description="tthc intake: validates desk events",
        deliver_subject=DELIVER_SUBJECT,
        deliver_group=DELIVER_GROUP,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start_seq else DeliverPolicy.ALL,
        opt_start_seq=start_seq,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_seconds,
        max_ack_pending=max(4 * settings.batch_size, 4000),
        filter_subject="tthc.events.>",
    )


async def ensure_consumer(js: JetStreamContext, settings: Settings) -> str:
    """Create the durable consumer, or update it: 'created', 'updated' or 'recreated'.

    Tried again (up to three times) when the consumer changed under it, which another
    intake starting at the same moment does: see `_ensure_consumer_once`."""
    for _ in range(2):
        try:
            return await _ensure_consumer_once(js, settings)
        except (NotFoundError, BadRequestError):
            await asyncio.sleep(0.2)
    return await _ensure_consumer_once(js, settings)  # the third try's error is raised


async def _ensure_consumer_once(js: JetStreamContext, settings: Settings) -> str:
    """One try of `ensure_consumer`.

    A consumer from an earlier version, without the queue group, cannot be changed in
    place: it is replaced by one that starts where it had acknowledged up to (whatever
    it had delivered but not acknowledged is delivered again). Two intakes starting
    together (a standby) may both replace it: the second's delete finds nothing, or
    removes the first's new consumer, and both add the same one; messages acknowledged
    in between come again, which intake's de-duplication absorbs."""
    try:
        info = await js.consumer_info(EVENTS_STREAM, INTAKE_CONSUMER)
    except NotFoundError:
        await js.add_consumer(EVENTS_STREAM, consumer_config(settings))
        return "created"
    if info.config.deliver_group != DELIVER_GROUP:
        start = (info.ack_floor.stream_seq if info.ack_floor else 0) + 1
        with contextlib.suppress(NotFoundError):  # another intake deleted it first
            await js.delete_consumer(EVENTS_STREAM, INTAKE_CONSUMER)
        await js.add_consumer(EVENTS_STREAM, consumer_config(settings, start))
        log.warning("intake_consumer_recreated", reason="queue group added", start_seq=start)
        return "recreated"
    # The durable create API updates an existing consumer's editable settings.
    config = consumer_config(settings)
    config.deliver_policy = info.config.deliver_policy
    config.opt_start_seq = info.config.opt_start_seq
    await js.add_consumer(EVENTS_STREAM, config)
    return "updated"


def _ack_meta(reply: str) -> tuple[int, int] | None:
    """(stream sequence, stored timestamp ns) from a JetStream ack subject, v1 or v2."""
    if not reply.startswith("$JS.ACK."):
        return None
    tokens = reply.split(".")
    if len(tokens) == 9:
        base = 2
    elif len(tokens) >= 11:
        base = 4
    else:
        return None
    try:
        return int(tokens[base + 3]), int(tokens[base + 5])
    except ValueError:
        return None


class IntakeService:
    """Consumes TTHC_EVENTS in batches; see the module docstring."""

    name = "intake"

    def __init__(
        self, settings: Settings, registry: CommuneLookup, metrics: IntakeMetrics
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.metrics = metrics
        self.recent = RecentIds(RECENT_IDS)
        self.feed = RejectionFeed()  # desks' own rejections (tthc.rejections.<commune>)
        metrics.service.watch(lambda: self._nc)  # tthc_nats_connected
        self.ops = OpsServer(
            self.metrics.registry,
            settings.metrics_host,
            settings.metrics_port_for("intake"),
            is_alive=self._alive,
            is_ready=self._ready,
        )
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._buffer: list[Msg] = []
        self._first_at = 0.0
        self._nonempty = asyncio.Event()
        self._full = asyncio.Event()
        self._stopping = False
        self._max_skew_us = int(settings.max_clock_skew_seconds * 1_000_000)
        self._batch_wait = settings.batch_wait_ms / 1000.0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.ops.start()
        self._nc = await connect(self.settings, "tthc-intake")
        self._js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT)
        created = await ensure_streams(self._js, self.settings)
        how = await ensure_consumer(self._js, self.settings)
        log.info(
            "intake_consumer_ready", consumer=INTAKE_CONSUMER, how=how, streams_created=created
        )
        pending = max(8 * self.settings.batch_size, 16_000)
        self._sub = await self._nc.subscribe(
            DELIVER_SUBJECT,
            queue=DELIVER_GROUP,
            cb=self._on_msg,
            pending_msgs_limit=pending,
            pending_bytes_limit=512 * 1024 * 1024,
        )
        await self.feed.start(self._nc, self._js)
        self._task = asyncio.create_task(self._run(), name="intake-batches")

    async def stop(self) -> None:
        """Stop taking messages, finish the batch in hand, close. Buffered ones stay unacked."""
        self._stopping = True
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        await self.feed.stop()
        self._nonempty.set()
        self._full.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=PUBLISH_TIMEOUT * 2)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            except Exception:
                log.exception("intake_task_failed")
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.flush(timeout=5)
            with contextlib.suppress(Exception):
                await self._nc.close()
        await self.ops.stop()

    def _alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def _ready(self) -> bool:
        return self._alive() and self._nc is not None and self._nc.is_connected

    # -- hot path ----------------------------------------------------------------------

    async def _on_msg(self, msg: Msg) -> None:
        buffer = self._buffer
        buffer.append(msg)
        if len(buffer) == 1:
            self._first_at = time.monotonic()
            self._nonempty.set()
        if len(buffer) >= self.settings.batch_size:
            self._full.set()

    async def _run(self) -> None:
        size = self.settings.batch_size
        while not self._stopping:
            await self._nonempty.wait()
            while len(self._buffer) < size and not self._stopping:
                remaining = self._first_at + self._batch_wait - time.monotonic()
                if remaining <= 0:
                    break
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), remaining)
            if self._stopping:
                break
            batch = self._buffer[:size]
            del self._buffer[:size]
            if self._buffer:
                self._first_at = time.monotonic()
            else:
                self._nonempty.clear()
            if batch:
                await self._handle_until_done(batch)

    async def _handle_until_done(self, batch: list[Msg]) -> None:
        delay = 0.2
        while True:
            try:
                await self.handle_batch(batch)
                return
            except Exception as exc:
                self.metrics.handoff_errors.inc()
                log.warning(
                    "intake_batch_failed", error=repr(exc)[:200], size=len(batch), retry_in=delay
                )
                if self._stopping:
                    return  # left unacknowledged: redelivered after the ack wait
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def handle_batch(self, batch: list[Msg]) -> None:
        """Validate, publish (awaiting every ack), then acknowledge the batch."""
        started = time.perf_counter()
        assert self._js is not None and self._nc is not None
        incoming: list[Incoming] = []
        for msg in batch:
            meta = _ack_meta(msg.reply or "")
            if meta is None:
                continue  # not a JetStream delivery (nothing to ack): ignore
            incoming.append(Incoming(msg.subject, msg.data, msg.headers, meta[0], meta[1], msg))
        plan = plan_batch(
            incoming,
            registry=self.registry,
            recent=self.recent,
            max_skew_us=self._max_skew_us,
            max_payload_bytes=self.settings.max_payload_bytes,
        )
        js = self._js
        publishes = [
            js.publish(HANDOFF_SUBJECT, body, headers=headers)
            for body, headers in handoff_messages(plan.accepted)
        ]
        if plan.rejected:
            now = now_instant()
            for item in plan.rejected:
                subject, body, headers = rejected_message(item, now, self._nc.max_payload)
                publishes.append(js.publish(subject, body, headers=headers))
        if publishes:
            await asyncio.gather(*publishes)
        publish = self._nc.publish
        for item in incoming:
            await publish(item.token.reply, b"")
        self.recent.add_all(plan.accepted)
        m = self.metrics
        m.messages.inc(len(incoming))
        m.accepted.inc(len(plan.accepted))
        if plan.duplicates:
            m.duplicates.inc(plan.duplicates)
        for item in plan.rejected:
            m.rejected.labels(reason=item.reason).inc()
            log.info(
                "event_rejected",
                reason=item.reason,
                seq=item.message.seq,
                subject=item.message.subject[:100],
            )
        m.batch_size.observe(len(incoming))
        m.batch_duration.observe(time.perf_counter() - started)
