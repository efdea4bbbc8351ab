"""The aggregator's background loops, off the commit path.

- `gauge_loop`: the live gauges (`storage.live`) after batches (at most about once a
  second, and at most a tenth of the process) and by the overdue sweep, and the
  consumer lag of every consumer of the pipeline (dropped while the broker is away).
- `checkpoint_loop` (SQLite): copies the WAL into the database file and syncs it, so a
  commit (WAL, synchronous=NORMAL, not synced) survives a machine crash about a second
  later; a process crash loses nothing.
- `reconcile_loop`: compares the database's applied position with the broker's log now
  and then, replaying what the database lacks (recovery.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import Engine

from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.storage.engine import checkpoint_keeping_wal_short, describe_error
from services.aggregator.storage.live import live_figures
from shared import pipeline
from shared.logging import get_logger

log = get_logger("tthc.aggregator")

GAUGE_MIN_INTERVAL = 1.0  # live gauges recomputed at most this often after batches
GAUGE_DUTY = 10.0  # ... and at most every 10x the time the last refresh took
CHECKPOINT_SECONDS = 1.0
RECONCILE_SECONDS = 30.0


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def refresh_gauges(
    engine: Engine, js: JetStreamContext | None, metrics: AggregatorMetrics, unit_label: str
) -> None:
    try:
        live = await asyncio.to_thread(live_figures, engine, unit_label, time.time_ns() // 1000)
        metrics.set_live(live)
        metrics.last_sweep.set(time.time())
    except Exception as exc:
        metrics.db_errors.inc()
        log.warning("gauge_refresh_failed", error=describe_error(exc))
    await refresh_consumer_lag(js, metrics)


async def refresh_consumer_lag(js: JetStreamContext | None, metrics: AggregatorMetrics) -> None:
    """`tthc_consumer_pending` from the broker; with the broker gone (`js` None: not
    connected) or not answering, the series are dropped rather than left at a stale
    value, so a dashboard shows no data and `tthc_nats_connected` says why."""
    if js is None:
        metrics.consumer_pending.clear()
        metrics.consumer_pending_events.clear()
        return
    try:
        info = await pipeline.collect(js)
    except Exception as exc:
        metrics.consumer_pending.clear()
        metrics.consumer_pending_events.clear()
        log.warning("consumer_lag_failed", error=str(exc) or type(exc).__name__)
        return
    pending = {
        (c["stream"], c["name"]): c["num_pending"] + c["num_ack_pending"] for c in info["consumers"]
    }
    _set_all(metrics.consumer_pending, pending)
    try:
        events = await pipeline.events_pending(js, info)
    except Exception as exc:
        metrics.consumer_pending_events.clear()
        _warn_once("consumer_events_lag_failed", str(exc) or type(exc).__name__)
        return
    _set_all(metrics.consumer_pending_events, events)


_warned: set[tuple[str, str]] = set()


def _warn_once(event: str, error: str) -> None:
    """A failure that repeats every refresh is logged once (per kind of error)."""
    if (event, error) not in _warned:
        _warned.add((event, error))
        log.warning(event, error=error)


def _set_all(gauge: Any, values: dict[tuple[str, str], int]) -> None:
    """Set each (stream, consumer) series; drop those of consumers no longer there."""
    for (stream, consumer), value in values.items():
        gauge.labels(stream, consumer).set(value)
    for labels in _labelsets(gauge) - set(values):
        gauge.remove(*labels)


def _labelsets(gauge: Any) -> set[tuple[str, ...]]:
    return {
        tuple(s.labels[name] for name in ("stream", "consumer"))
        for family in gauge.collect()
        for s in family.samples
    }


async def gauge_loop(
    refresh: Callable[[], Awaitable[None]],
    dirty: asyncio.Event,
    stop: asyncio.Event,
    sweep_seconds: float,
) -> None:
    sweep = max(0.1, sweep_seconds)
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(dirty.wait(), timeout=sweep)
        if stop.is_set():
            return
        dirty.clear()
        started = time.perf_counter()
        await refresh()
        # The refresh reads every case row: on a large database under a backlog it
        # must not take a big share of the process (at most about a tenth).
        took = time.perf_counter() - started
        await _wait(stop, max(GAUGE_MIN_INTERVAL, GAUGE_DUTY * took))


async def checkpoint_loop(
    engine: Engine, metrics: AggregatorMetrics, committed: Callable[[], int], stop: asyncio.Event
) -> None:
    done = committed()
    while not stop.is_set():
        await _wait(stop, CHECKPOINT_SECONDS)
        if committed() == done:
            continue
        done = committed()
        started = time.perf_counter()
        try:
            result = await asyncio.to_thread(checkpoint_keeping_wal_short, engine)
        except Exception as exc:  # locked by another process: the next one catches up
            log.warning("checkpoint_failed", error=describe_error(exc))
            continue
        metrics.checkpoint_duration.observe(time.perf_counter() - started)
        if result is not None:
            (busy, frames, copied), restarted = result
            metrics.wal_pages.set(frames - copied)
            if restarted:
                metrics.wal_restarts.labels("done" if not busy else "busy").inc()


async def reconcile_loop(reconcile: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        await _wait(stop, RECONCILE_SECONDS)
        if stop.is_set():
            return
        try:
            await reconcile()
        except Exception as exc:  # the broker away: the next round catches up
            log.warning("reconcile_failed", error=type(exc).__name__)
