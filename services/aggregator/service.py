"""`tthc run aggregator`: accepted events in, exact case rows out, figures served.

The service wires its parts and runs them until stopped:

- the database brought to the current schema (a migration that needs every case
  refolded is followed by a rebuild);
- the committer and the fetch loop on the durable pull consumer of TTHC_ACCEPTED
  (consumer.py), after the database has caught up with the broker's log (recovery.py);
- figures over NATS request/reply (queryserver.py);
- the live gauges, WAL checkpoints and periodic reconciliation (housekeeping.py);
- `/metrics`, `/healthz` and `/readyz` (ready once caught up and while connected to NATS).

Everything it uses is handed in by the composition root (services/bootstrap.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import Engine

from services.aggregator import housekeeping, positions, recovery
from services.aggregator.consumer import FETCH_IDLE_SECONDS, Committer, fetch_loop
from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.queryserver import QueryServer
from services.aggregator.rebuild import rebuild
from services.aggregator.storage.engine import checkpoint, migrate
from services.aggregator.storage.figworkers import FiguresWorkers
from services.aggregator.storage.meta import REBUILD_KEY, ensure_meta, read_meta
from shared.httpserver import OpsServer
from shared.logging import get_logger
from shared.natsutil import connect, ensure_streams
from shared.registry import UnitRegistry
from shared.runtime import cancel_firmly
from shared.settings import Settings
from shared.subjects import ACCEPTED_STREAM, ACCEPTED_SUBJECTS, AGGREGATOR_CONSUMER

log = get_logger("tthc.aggregator")


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


def prepare_database(engine: Engine, registry: UnitRegistry) -> None:
    """Migrate to the current schema; refold every case if a migration asked for it."""
    migrate(engine)
    ensure_meta(engine)
    with engine.connect() as conn:
        required = read_meta(conn).get(REBUILD_KEY)
    if required:
        log.warning("rebuilding_case_rows", reason="a schema migration added case columns")
        report = rebuild(engine, registry.province_of)
        log.info("case_rows_rebuilt", cases=report.cases, events=report.events)


class AggregatorService:
    """`tthc run aggregator`."""

    name = "aggregator"

    def __init__(
        self,
        settings: Settings,
        registry: UnitRegistry,
        metrics: AggregatorMetrics,
        writer: Engine,
        reader: Engine,
        figures_workers: FiguresWorkers | None = None,
    ) -> None:
        self.settings = settings
        self.units = registry
        self.metrics = metrics
        self.engine = writer  # the batches' (apply_batch), the one writer of case rows
        self.read_engine = reader  # gauges, figures queries, checkpoints
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.incarnation = ""  # of TTHC_ACCEPTED, set when reconciling
        self.committer = Committer(writer, registry.province_of, metrics, lambda: self.incarnation)
        self.queries = QueryServer(settings.nats_servers, reader, registry, figures_workers)
        self._psub: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = self.committer.stopping
        self._dirty = asyncio.Event()
        self._reconciling = asyncio.Lock()
        self._ready = False
        self.committer.on_commit = self._dirty.set
        self.ops = OpsServer(
            metrics.registry,
            settings.metrics_host,
            settings.metrics_port_for(self.name),
            is_alive=lambda: not self._stop.is_set(),
            is_ready=lambda: self._ready and metrics.service.connected(),
        )
        metrics.service.watch(lambda: self.nc)  # tthc_nats_connected, readiness

    @property
    def batches_committed(self) -> int:
        return self.committer.batches_committed

    # --- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        await asyncio.to_thread(prepare_database, self.engine, self.units)
        if settings.unit_label == "province":
            self.metrics.add_units(sorted(self.units.provinces))
        await self.ops.start()
        self.nc = await connect(settings, "tthc-aggregator")
        self.js = self.nc.jetstream()
        await ensure_streams(self.js, settings)
        await ensure_consumer(self.js, settings)
        self._psub = await self.js.pull_subscribe_bind(
            durable=AGGREGATOR_CONSUMER, stream=ACCEPTED_STREAM
        )
        self._spawn(self.committer.run(), "aggregator-commit")
        await self.reconcile()
        await self.queries.start()
        await self._refresh_gauges()
        self._spawn(
            fetch_loop(self._psub, self.committer, settings.apply_max_events), "aggregator-fetch"
        )
        self._spawn(
            housekeeping.gauge_loop(
                self._refresh_gauges, self._dirty, self._stop, settings.overdue_sweep_seconds
            ),
            "aggregator-gauges",
        )
        self._spawn(housekeeping.reconcile_loop(self.reconcile, self._stop), "aggregator-reconcile")
        if self.engine.dialect.name == "sqlite":
            self._spawn(
                housekeeping.checkpoint_loop(
                    self.read_engine, self.metrics, lambda: self.batches_committed, self._stop
                ),
                "aggregator-checkpoint",
            )
        self._ready = True
        log.info("aggregator_started", database=self.engine.url.get_backend_name())

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def reconcile(self) -> None:
        """Catch the database up with the broker's log (one reconciliation at a time)."""
        assert self.js is not None
        async with self._reconciling:
            found = await recovery.reconcile(self.js, self.engine, self.committer)
            self.incarnation = found.position.incarnation
            self.metrics.replayed_messages.inc(positions.count(found.replay))
            lost = await asyncio.to_thread(recovery.lost_count, self.engine)
            self.metrics.lost_messages.set(lost)

    async def _refresh_gauges(self) -> None:
        await housekeeping.refresh_gauges(
            self.read_engine,
            self.js if self.metrics.service.connected() else None,
            self.metrics,
            self.settings.unit_label,
        )

    async def stop(self) -> None:
        self._ready = False
        self._stop.set()
        self._dirty.set()
        by_name = {t.get_name(): t for t in self._tasks}
        fetch = by_name.get("aggregator-fetch")
        if fetch is not None:
            await asyncio.wait({fetch}, timeout=FETCH_IDLE_SECONDS + 5)
        commit = by_name.get("aggregator-commit")
        if commit is not None:
            if fetch is not None and not fetch.done():
                fetch.cancel()
            await self.committer.queue.put(None)  # it finishes what it holds, then ends
            await asyncio.wait({commit}, timeout=30)
        for task in self._tasks:
            if not task.done():
                task.cancel()
        for task in self._tasks:  # again until done: one cancel can be lost (runtime.py)
            await cancel_firmly(task)
        self._tasks = []
        await self.queries.stop()
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
        await self.ops.stop()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(checkpoint, self.engine)
