"""The aggregator service: accepted events in, exact case rows out, figures served.

Hot path (plain nats-py): a durable pull consumer on TTHC_ACCEPTED. A fetch task pulls
hand-off messages (each carries many events) and groups them: a group goes to the
committer as soon as it is free and grows, up to TTHC_BATCH_SIZE events, only while it
is busy; the committer applies each group in one database transaction (in a thread, so
the event loop keeps fetching and answering) and acknowledges the messages only after
the commit. A failed transaction is counted, logged and retried with back-off (the
messages marked in progress meanwhile); the service never crashes on it. On SQLite a
task of its own checkpoints the WAL, never a commit.

Also: figures over NATS request/reply (FastStream subscriber on `tthc.query.figures`),
the live gauges refreshed after batches and by the overdue sweep, and the consumer lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from services.aggregator import status
from services.aggregator.db import checkpoint, make_engine, migrate
from services.aggregator.metrics import AggregatorMetrics, live_figures
from services.aggregator.queries import figures_for, registry_for
from services.aggregator.store import BatchItem, CaseCache, apply_batch, ensure_meta, now_us
from shared.domain.events import CaseEvent
from shared.domain.validation import fast_rfc3339
from shared.httpserver import OpsServer
from shared.logging import get_logger
from shared.natsutil import connect, ensure_streams
from shared.ports import FiguresReply, request_from_json
from shared.registry import UnitRegistry
from shared.settings import Settings
from shared.subjects import (
    ACCEPTED_STREAM,
    ACCEPTED_SUBJECTS,
    AGGREGATOR_CONSUMER,
    FIGURES_QUERY_SUBJECT,
)

log = get_logger("tthc.aggregator")

FETCH_IDLE_SECONDS = 1.0  # how long one fetch waits when nothing is pending
# Hand-off messages per fetch: each carries up to TTHC_BATCH_SIZE events, so a group is
# built from a few messages at a time (a fetch of TTHC_BATCH_SIZE messages after a
# backlog took hundreds of thousands of events into one transaction and one process).
FETCH_MESSAGES = 2
# While the committer is busy the fetch task keeps gathering, asking this long each time.
GATHER_POLL_SECONDS = 0.005
GAUGE_MIN_INTERVAL = 1.0  # live gauges recomputed at most this often after batches
GAUGE_DUTY = 10.0  # ... and at most every 10x the time the last refresh took
RETRY_MAX_SECONDS = 10.0


@dataclass(slots=True)
class Fetched:
    """Hand-off messages fetched together and their decoded events."""

    msgs: list[Msg]
    items: list[BatchItem]


def consumer_config(settings: Settings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=AGGREGATOR_CONSUMER,
        description="aggregator: accepted events into the figures",
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_seconds,
        max_deliver=-1,  # never give up on a hand-off message: events must not be lost
        filter_subject=ACCEPTED_SUBJECTS,
        max_ack_pending=max(1000, 4 * settings.batch_size),
    )


async def ensure_consumer(js: JetStreamContext, settings: Settings) -> None:
    """Create the durable consumer, or update its editable settings if they changed."""
    wanted = consumer_config(settings)
    try:
        info = await js.consumer_info(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)
    except NotFoundError:
        await js.add_consumer(ACCEPTED_STREAM, wanted)
        log.info("consumer_created", stream=ACCEPTED_STREAM, consumer=AGGREGATOR_CONSUMER)
        return
    have = info.config
    if (have.ack_wait, have.max_ack_pending, have.max_deliver) != (
        wanted.ack_wait,
        wanted.max_ack_pending,
        wanted.max_deliver,
    ):
        await js.add_consumer(ACCEPTED_STREAM, wanted)  # same durable: an update
        log.info("consumer_updated", stream=ACCEPTED_STREAM, consumer=AGGREGATOR_CONSUMER)


def decode_message(msg: Msg) -> list[BatchItem]:
    """The events of one hand-off message: `{"seq": [...], "ts": [...], "events": [...]}`.

    Raises ValueError when the message as a whole cannot be read. A single event that
    cannot be turned into a `CaseEvent` is skipped and counted by the caller (it passed
    intake's validation, so this means a bug, not bad input).
    """
    body = orjson.loads(msg.data)
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise ValueError("hand-off message without an events list")
    events = body["events"]
    seqs = body.get("seq") or [None] * len(events)
    stamps = body.get("ts") or [None] * len(events)
    if len(seqs) != len(events) or len(stamps) != len(events):
        raise ValueError("seq, ts and events differ in length")
    return [
        BatchItem(event_from_handoff(payload), seq, ts)
        for payload, seq, ts in zip(events, seqs, stamps, strict=True)
    ]


def event_from_handoff(p: dict[str, Any]) -> CaseEvent:
    """`event_from_payload` with the arithmetic RFC 3339 parser (same instants, tested)."""
    due_at = p.get("due_at")
    new_due_at = p.get("new_due_at")
    return CaseEvent(
        p["event_id"],
        p["event_type"],
        p["case_id"],
        p["commune_code"],
        fast_rfc3339(p["occurred_at"]),
        p.get("channel"),
        None if due_at is None else fast_rfc3339(due_at),
        None if new_due_at is None else fast_rfc3339(new_due_at),
        p.get("field"),
        p.get("result_channel"),
        p,
    )


GC_YOUNG_THRESHOLD = 50_000
READ_CACHE_MIB = 16  # SQLite page cache of each reading connection
SLOW_BATCH_SECONDS = 0.25  # a batch slower than this is logged with its steps' times
# SQLite: the WAL is checkpointed (copied into the database file and synced) by a task
# of its own at most this often, never inside a batch's commit (db.checkpoint).
CHECKPOINT_SECONDS = 1.0


class AggregatorService:
    """`tthc run aggregator`."""

    name = "aggregator"

    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.metrics = AggregatorMetrics(registry)
        self.units: UnitRegistry | None = None
        self.engine: Engine | None = None  # the writer's (apply_batch)
        self.read_engine: Engine | None = None  # gauges, figures queries, checkpoints
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self._psub: Any = None
        self._broker: Any = None
        self._ops: OpsServer | None = None
        self._queue: asyncio.Queue[Fetched | None] = asyncio.Queue(maxsize=1)
        self._tasks: list[asyncio.Task[None]] = []  # fetch, process, gauges
        self._checkpointer: asyncio.Task[None] | None = None  # SQLite only
        self._stopping = asyncio.Event()
        self._dirty = asyncio.Event()
        self._committing = False
        self._ready = False
        self.batches_committed = 0
        # Recently folded cases' events (this process is the database's one writer).
        self.case_cache = CaseCache()

    # --- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        self.units = await asyncio.to_thread(registry_for, settings)
        self.engine = make_engine(settings.database_url, background_checkpoints=True)
        # Readers get their own, smaller SQLite page caches: each connection has one,
        # and full-table reads (the gauges) would fill a 64 MiB one each.
        self.read_engine = make_engine(settings.database_url, cache_mib=READ_CACHE_MIB)
        self.case_cache.clear()
        # The cache keeps ~10^5 objects alive, which CPython's full collections walk
        # again and again at the default thresholds (700 allocations a young collection):
        # measured 149 -> 113 us of CPU per event in apply_batch at 150,000 events.
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        await asyncio.to_thread(migrate, self.engine)
        await asyncio.to_thread(ensure_meta, self.engine)
        if settings.unit_label == "province":
            self.metrics.add_units(sorted(self.units.provinces))
        self._ops = OpsServer(
            self.metrics.registry,
            settings.metrics_host,
            settings.metrics_port_for(self.name),
            is_alive=lambda: not self._stopping.is_set(),
            is_ready=lambda: self._ready,
        )
        await self._ops.start()
        self.nc = await connect(settings, "tthc-aggregator")
        self.js = self.nc.jetstream()
        await ensure_streams(self.js, settings)
        await ensure_consumer(self.js, settings)
        self._psub = await self.js.pull_subscribe_bind(
            durable=AGGREGATOR_CONSUMER, stream=ACCEPTED_STREAM
        )
        await self._start_query_server()
        await self._refresh_gauges()
        self._tasks = [
            asyncio.create_task(self._fetch_loop(), name="aggregator-fetch"),
            asyncio.create_task(self._process_loop(), name="aggregator-process"),
            asyncio.create_task(self._gauge_loop(), name="aggregator-gauges"),
        ]
        if self.engine.dialect.name == "sqlite":
            self._checkpointer = asyncio.create_task(
                self._checkpoint_loop(), name="aggregator-checkpoint"
            )
        self._ready = True
        log.info("aggregator_started", database=self.engine.url.get_backend_name())

    async def stop(self) -> None:
        self._ready = False
        self._stopping.set()
        self._dirty.set()
        fetch, process, gauges = self._tasks or (None, None, None)
        if fetch is not None:
            await asyncio.wait({fetch}, timeout=FETCH_IDLE_SECONDS + 5)
            if not fetch.done():
                fetch.cancel()
            await self._queue.put(None)  # the processor finishes what it holds, then ends
        if process is not None:
            await asyncio.wait({process}, timeout=30)
            if not process.done():
                process.cancel()
        if gauges is not None:
            gauges.cancel()
        if self._checkpointer is not None:
            self._checkpointer.cancel()
        for task in [*self._tasks, *filter(None, [self._checkpointer])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks, self._checkpointer = [], None
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await self._broker.stop()
            self._broker = None
        if self.nc is not None:
            # Not drain(): it waits its full timeout on a pull subscription. The acks are
            # already written; flush them and close.
            with contextlib.suppress(Exception):
                await self._psub.unsubscribe()
            with contextlib.suppress(Exception):
                await self.nc.flush(timeout=2)
            with contextlib.suppress(Exception):
                await self.nc.close()
            self.nc = None
        if self._ops is not None:
            await self._ops.stop()
        if self.engine is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(checkpoint, self.engine)
            self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()

    # --- the hot path -----------------------------------------------------------------

    async def _fetch(self, batch: int, timeout: float) -> list[Msg]:
        try:
            return await self._psub.fetch(batch, timeout=timeout)
        except (NatsTimeoutError, TimeoutError):
            return []

    async def _fetch_loop(self) -> None:
        """Group hand-off messages for the committer: a group goes as soon as the
        committer is free, and grows (up to TTHC_BATCH_SIZE events) only while it is
        busy. An idle pipeline adds no wait of its own; under load the commit time is the
        batching window, so groups grow exactly as much as the load needs."""
        size = self.settings.batch_size
        while not self._stopping.is_set():
            try:
                msgs = await self._fetch(FETCH_MESSAGES, FETCH_IDLE_SECONDS)
                if not msgs:
                    continue
                group = Fetched([], [])
                await self._take(group, msgs)
                while len(group.items) < size and not self._stopping.is_set():
                    if not self._committing and self._queue.empty():
                        break  # the committer waits: hand over now
                    more = await self._fetch(FETCH_MESSAGES, GATHER_POLL_SECONDS)
                    if more:
                        await self._take(group, more)
                if group.msgs:
                    await self._queue.put(group)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection trouble: nats-py reconnects by itself
                log.warning("fetch_failed", error=str(exc))
                await asyncio.sleep(0.5)

    async def _take(self, group: Fetched, msgs: list[Msg]) -> None:
        for msg in msgs:
            try:
                items = decode_message(msg)
            except Exception as exc:
                self.metrics.bad_messages.inc()
                seq = msg.metadata.sequence.stream if msg.reply else None
                log.error("handoff_message_unreadable", accepted_seq=seq, error=str(exc))
                with contextlib.suppress(Exception):
                    await msg.term()  # never redelivered: it cannot be read
                continue
            group.msgs.append(msg)
            group.items.extend(items)

    async def _process_loop(self) -> None:
        while True:
            group = await self._queue.get()
            if group is None:
                return
            self._committing = True
            try:
                await self._commit(group)
            finally:
                self._committing = False

    async def _commit(self, group: Fetched) -> None:
        assert self.engine is not None and self.units is not None
        province_of = self.units.province_of
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                result = await asyncio.to_thread(
                    apply_batch, self.engine, group.items, province_of, self.case_cache
                )
                break
            except Exception as exc:
                self.metrics.db_errors.inc()
                log.error("batch_failed", error=str(exc), events=len(group.items), retry_in=delay)
                if self._stopping.is_set():
                    for msg in group.msgs:  # redelivered at once to whoever runs next
                        with contextlib.suppress(Exception):
                            await msg.nak()
                    return
                for msg in group.msgs:
                    with contextlib.suppress(Exception):
                        await msg.in_progress()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        for msg in group.msgs:
            try:
                await msg.ack()
            except Exception as exc:  # redelivered later; the event ids make it harmless
                log.warning("ack_failed", error=str(exc))
        m = self.metrics
        took = time.perf_counter() - started
        m.batch_duration.observe(took)
        if took > SLOW_BATCH_SECONDS:
            # Cumulative seconds at the end of each step inside the transaction.
            log.warning(
                "slow_batch",
                seconds=round(took, 3),
                events=len(group.items),
                steps={k: round(v, 3) for k, v in result.phases.items()},
            )
        m.batch_size.observe(len(group.items))
        m.events_applied.inc(len(result.applied))
        m.duplicates.inc(result.duplicates)
        commit_ns = result.commit_us * 1000
        for item in result.applied:
            if item.published_ns:
                m.latency.observe(max(0.0, (commit_ns - item.published_ns) / 1e9))
        self.batches_committed += 1
        self._dirty.set()
        log.debug(
            "batch_committed",
            events=len(group.items),
            applied=len(result.applied),
            duplicates=result.duplicates,
            cases=len(result.cases),
        )

    # --- WAL checkpoints (SQLite) ------------------------------------------------------

    async def _checkpoint_loop(self) -> None:
        """Checkpoint the WAL after batches were committed, off the commit path: a commit
        in WAL mode with synchronous=NORMAL writes the WAL without syncing; this task
        syncs it, so a machine crash loses at most about CHECKPOINT_SECONDS of commits
        (a process crash loses nothing: the WAL is in the file)."""
        assert self.read_engine is not None
        done = self.batches_committed
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=CHECKPOINT_SECONDS)
            if self.batches_committed == done:
                continue
            done = self.batches_committed
            started = time.perf_counter()
            try:
                result = await asyncio.to_thread(checkpoint, self.read_engine)
            except Exception as exc:  # locked by another process: the next one catches up
                log.warning("checkpoint_failed", error=str(exc))
                continue
            self.metrics.checkpoint_duration.observe(time.perf_counter() - started)
            if result is not None:
                self.metrics.wal_pages.set(result[1] - result[2])

    # --- gauges and the overdue sweep -------------------------------------------------

    async def _refresh_gauges(self) -> None:
        assert self.read_engine is not None
        try:
            live = await asyncio.to_thread(
                live_figures, self.read_engine, self.settings.unit_label, now_us()
            )
            self.metrics.set_live(live)
            self.metrics.last_sweep.set(time.time())
        except Exception as exc:
            self.metrics.db_errors.inc()
            log.warning("gauge_refresh_failed", error=str(exc))
        if self.js is not None:
            try:
                info = await status.collect(self.js)
                for c in info["consumers"]:
                    self.metrics.consumer_pending.labels(c["stream"], c["name"]).set(
                        c["num_pending"] + c["num_ack_pending"]
                    )
            except Exception as exc:
                log.warning("consumer_lag_failed", error=str(exc))

    async def _gauge_loop(self) -> None:
        sweep = max(0.1, self.settings.overdue_sweep_seconds)
        while not self._stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), timeout=sweep)
            if self._stopping.is_set():
                return
            self._dirty.clear()
            started = time.perf_counter()
            await self._refresh_gauges()
            # The refresh reads every case row: on a large database under a backlog it
            # must not take a big share of the process (at most about a tenth).
            took = time.perf_counter() - started
            await asyncio.sleep(max(GAUGE_MIN_INTERVAL, GAUGE_DUTY * took))

    # --- figures over NATS ------------------------------------------------------------

    async def _start_query_server(self) -> None:
        from faststream.nats import NatsBroker
        from faststream.nats.annotations import NatsMessage

        broker = NatsBroker(
            self.settings.nats_url,
            name="tthc-aggregator-query",
            # Per-message access lines at DEBUG, through the stdlib logger that
            # shared.logging routes to structlog (FastStream's own goes to stdout).
            logger=logging.getLogger("faststream"),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
        )
        service = self

        async def figures_query(msg: NatsMessage) -> bytes:
            """Figures of one unit and period: a FiguresRequest in, a FiguresReply out."""
            return await service.answer(msg.body)

        broker.subscriber(
            FIGURES_QUERY_SUBJECT,
            queue="tthc-aggregator",
            title="tthc.query.figures",
            description="Figures request/reply: FiguresRequest in, FiguresReply out (JSON).",
        )(figures_query)
        await broker.start()
        self._broker = broker

    async def answer(self, body: bytes) -> bytes:
        """The JSON FiguresReply to a JSON FiguresRequest (errors in the reply's `error`)."""
        try:
            request = request_from_json(body)
        except Exception as exc:
            return FiguresReply({}, {}, {}, error=f"bad request: {exc}").to_json()
        try:
            assert self.units is not None
            reply = await asyncio.to_thread(figures_for, self.read_engine, self.units, request)
        except Exception as exc:
            log.error("figures_query_failed", error=str(exc), unit=request.unit_code)
            reply = FiguresReply({}, {}, {}, error=f"figures failed: {exc}")
        return reply.to_json()


def build(settings: Settings) -> AggregatorService:
    return AggregatorService(settings)
