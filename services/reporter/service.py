"""The reporter service: freezes each period's appendix after its cut-off, on schedule.

A period of a kind in TTHC_SNAPSHOT_KINDS (calendar TTHC_CALENDAR) is due once its last
instant plus TTHC_SNAPSHOT_GRACE_HOURS has passed. The schedule's progress is kept in
`TTHC_DATA_DIR/snapshots/schedule.json` (`done_through`: the last period end day whose
snapshots are all made). On start, every period that became due while the service was
down is made (catch-up), oldest first; with no progress file yet, the look-back is
bounded by `CATCH_UP_DAYS`, and periods in which no unit has any data (before the first
event) make nothing. If the aggregator does not answer, progress is not advanced and
the run is retried after `RETRY_SECONDS`.

Figures come over NATS request/reply from the aggregator (`tthc.query.figures`). Each
snapshot made is announced on `tthc.snapshots.<unit code>.<period label>` with JSON
`{unit, period, revision, hash, path}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from services.reporter.figsource import NatsFiguresSource
from services.reporter.metrics import ReporterMetrics
from services.reporter.notify import publish_notifications, snapshot_notification
from services.reporter.renderworkers import RenderWorkers
from services.reporter.snapshots import (
    SnapshotStore,
    make_period_snapshots,
    snapshot_presentation,
)
from services.reporter.templates import DEFAULT_TEMPLATE, load_template
from shared.domain.events import Instant
from shared.domain.periods import KINDS, Period, periods_ended_between
from shared.domain.timeutil import US_PER_SECOND, local_day, now_instant
from shared.httpserver import OpsServer
from shared.logging import get_logger
from shared.natsutil import connect
from shared.ports import FiguresSource
from shared.registry import UnitRegistry
from shared.runtime import cancel_firmly
from shared.settings import Settings

log = get_logger("tthc.reporter")
__all__ = [
    "ReporterMetrics",
    "ReporterService",
    "due_at",
    "due_until",
    "publish_notifications",
    "snapshot_notification",
]

CATCH_UP_DAYS = 400
RETRY_SECONDS = 60.0
MAX_SLEEP_SECONDS = 3600.0
SCHEDULE_FILE = "schedule.json"


def due_until(now: Instant, grace_hours: float) -> date:
    """The last period end day whose cut-off plus grace has passed at `now`."""
    grace = int(grace_hours * 3600 * US_PER_SECOND)
    return local_day(now - grace) - timedelta(days=1)


def due_at(period: Period, grace_hours: float) -> Instant:
    """When a period's snapshots become due: its last instant plus the grace time."""
    return period.end_instant + int(grace_hours * 3600 * US_PER_SECOND)


class ReporterService:
    """Scheduled snapshots; `run_due()` is one pass (tests call it with an injected clock)."""

    name = "reporter"

    def __init__(
        self,
        settings: Settings,
        registry: UnitRegistry,
        clock: Callable[[], Instant] = now_instant,
        source: FiguresSource | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = ReporterMetrics()
        self.store = SnapshotStore.for_data_dir(Path(settings.data_dir))
        self.registry = registry
        self.forms = tuple(load_template(name) for name in settings.snapshot_forms) or (
            load_template(DEFAULT_TEMPLATE),
        )
        self.dress = snapshot_presentation(settings)
        # Processes rendering the period-end snapshots (TTHC_RENDER_WORKERS): made by
        # start(), their processes started on the first run with data, stopped by stop().
        self.render_workers: RenderWorkers | None = None
        self.kinds = tuple(k for k in settings.snapshot_kinds if k in KINDS and k != "range")
        self._source = source
        self._nc: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._ready = False
        self.ops = OpsServer(
            self.metrics.registry,
            settings.metrics_host,
            settings.metrics_port_for("reporter"),
            is_alive=lambda: self._task is None or not self._task.done(),
            is_ready=self._is_ready,
        )
        self.metrics.service.watch(lambda: self._nc)  # tthc_nats_connected

    def _is_ready(self) -> bool:
        """Started, and connected to NATS (unless given a figures source of its own)."""
        return self._ready and (self._nc is None or self.metrics.service.connected())

    # --- schedule state -----------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.store.root / SCHEDULE_FILE

    def load_state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            return {}
        return dict(orjson.loads(self.state_path.read_bytes()))

    def save_state(self, state: dict[str, Any]) -> None:
        self.store.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))
        tmp.replace(self.state_path)

    def due_periods(self, now: Instant) -> list[Period]:
        """Periods whose snapshots are due and not yet made, oldest first."""
        state = self.load_state()
        until = due_until(now, self.settings.snapshot_grace_hours)
        if state.get("done_through") and state.get("calendar") == self.settings.calendar:
            after = date.fromisoformat(state["done_through"])
        else:
            after = local_day(now) - timedelta(days=CATCH_UP_DAYS)
        if until <= after:
            return []
        return periods_ended_between(after, until, self.kinds, self.settings.calendar)

    def next_due(self, now: Instant) -> Instant | None:
        """When the next period becomes due (after those already due)."""
        today = local_day(now)
        upcoming = periods_ended_between(
            today - timedelta(days=2),
            today + timedelta(days=400),
            self.kinds,
            self.settings.calendar,
        )
        times = [due_at(p, self.settings.snapshot_grace_hours) for p in upcoming]
        later = [t for t in times if t > now]
        return min(later) if later else None

    # --- one pass ---------------------------------------------------------------------

    async def run_due(self) -> list[dict[str, Any]]:
        """Make every due snapshot; returns the records made. Raises on a failed period."""
        if self._source is None:
            raise RuntimeError("no figures source: start() the service or pass one")
        now = self.clock()
        made: list[dict[str, Any]] = []
        periods = self.due_periods(now)
        by_end: dict[date, list[Period]] = {}
        for period in periods:
            by_end.setdefault(period.end, []).append(period)
        for end, group in sorted(by_end.items()):
            for period in group:
                started = time.perf_counter()
                try:
                    results = await make_period_snapshots(
                        period,
                        self._source,
                        self.store,
                        self.registry,
                        self.forms,
                        now,
                        presentation=self.dress,
                        workers=self.render_workers,
                    )
                except Exception:
                    self.metrics.failures.labels(period.kind).inc()
                    log.exception("snapshot_failed", period=period.label, kind=period.kind)
                    raise
                self.metrics.duration.observe(time.perf_counter() - started)
                new = [record for record, created in results if created]
                self.metrics.snapshots.labels(period.kind).inc(len(new))
                self.metrics.last_success.labels(period.kind).set(time.time())
                for record in new:
                    await self._notify(record)
                made.extend(new)
                log.info("snapshots_made", period=period.label, units=len(results), new=len(new))
            self.save_state(
                {
                    "calendar": self.settings.calendar,
                    "kinds": list(self.kinds),
                    "done_through": end.isoformat(),
                }
            )
        return made

    async def _notify(self, record: dict[str, Any]) -> None:
        if self._nc is None:
            return
        subject, body = snapshot_notification(record)
        try:
            await self._nc.publish(subject, body)
        except Exception as exc:  # a lost notification must not undo a frozen snapshot
            log.warning("snapshot_notify_failed", unit=record["unit"]["code"], error=str(exc))

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._source is None:
            self._nc = await connect(self.settings, "tthc-reporter")
            self._source = NatsFiguresSource(self._nc, self.settings.query_timeout_seconds)
        if self.settings.render_workers and self.render_workers is None:
            self.render_workers = RenderWorkers(
                self.settings.render_workers, self.store.root, self.registry, self.forms,
                self.dress,
            )  # fmt: skip
        await self.ops.start()
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name="reporter-schedule")
        self._ready = True

    async def _loop(self) -> None:
        while not self._stop.is_set():
            delay = MAX_SLEEP_SECONDS
            try:
                await self.run_due()
                now = self.clock()
                nxt = self.next_due(now)
                if nxt is not None:
                    delay = min(MAX_SLEEP_SECONDS, max(1.0, (nxt - now) / US_PER_SECOND))
            except Exception as exc:  # the aggregator away, a disk error: keep running, retry
                log.warning("snapshot_run_retry", error=type(exc).__name__, retry_in=RETRY_SECONDS)
                delay = RETRY_SECONDS
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_any(), timeout=delay)

    async def _wait_any(self) -> None:
        stop = asyncio.create_task(self._stop.wait())
        wake = asyncio.create_task(self._wake.wait())
        try:
            await asyncio.wait({stop, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            wake.cancel()

    def wake(self) -> None:
        """Run the schedule now (tests; a changed clock)."""
        self._wake.set()

    async def stop(self) -> None:
        self._ready = False
        self._stop.set()
        if self._task is not None:
            await cancel_firmly(self._task)  # again until done: one cancel can be lost
            self._task = None
        if self.render_workers is not None:
            await asyncio.to_thread(self.render_workers.close)
            self.render_workers = None
        await self.ops.stop()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
            self._nc = None
