"""The demo's run: services started as `tthc run all` starts them, traffic, the checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from typing import Any

from services.bootstrap import SERVICES, App
from services.demo.output import print_results
from services.demo.plan import Plan
from services.simulator.cli import build_config, run_publish
from services.simulator.generate import generate, take
from services.simulator.publish import PublishStats
from shared import pipeline
from shared.natsutil import connect
from shared.runtime import Interrupted, run_services
from shared.settings import Settings


def note(text: str) -> None:
    print(f"demo: {text}", file=sys.stderr, flush=True)


def quiet_logs() -> None:
    """Only warnings and errors from the services, so the demo's own lines stand out.

    Connections closing at the end log `nats_disconnected` warnings, and FastStream's
    access loggers print INFO lines per request: those are silenced too.
    """
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("tthc.nats").setLevel(logging.ERROR)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("faststream"):
            logging.getLogger(name).setLevel(logging.WARNING)


async def run_demo(
    plan: Plan, app: App, *, keep_running: bool, timeout: float, verbose: bool = False
) -> int:
    """Start the services, publish, wait, check, print; stop everything (also on Ctrl-C)."""
    if not verbose:
        quiet_logs()
    services = app.services(SERVICES)

    async def main() -> int:
        if not verbose:
            quiet_logs()  # FastStream creates its loggers when a broker starts
        note("started " + ", ".join(s.name for s in services))
        stats, valid_ids = await publish_traffic(plan, app)
        caught_up = await wait_caught_up(app.settings, timeout)
        missing = await asyncio.to_thread(events_missing, app.settings, valid_ids)
        await print_results(plan, app, stats, collect_counters(services), caught_up, missing)
        if keep_running:
            note("services keep running; Ctrl-C stops them")
            await asyncio.Event().wait()
        return 0 if caught_up and not missing else 1

    try:
        result = await run_services(services, main)
    except Interrupted:
        note("interrupted; stopping")
        return 130
    note("stopped " + ", ".join(s.name for s in reversed(services)))
    return int(result if result is not None else 1)


async def publish_traffic(plan: Plan, app: App) -> tuple[PublishStats, set[str]]:
    """Publish the plan's traffic; returns the stats and the ids of the valid events sent."""
    cfg = build_config(
        app.registry,
        plan.communes,
        plan.start,
        plan.end,
        plan.now,
        seed=plan.seed,
        cases_per_day=plan.cases_per_day,
        duplicates=0.01,
        reorder=0.01,
        invalid=plan.invalid,
    )
    note(
        f"publishing about {plan.events:,} events for communes {', '.join(plan.communes)} "
        f"from {plan.start} to {plan.end} (seed {plan.seed}; ~1% re-sent, ~1% out of order, "
        f"a few invalid)"
    )
    valid: set[str] = set()

    def remembered(messages: Any) -> Any:
        for msg in messages:
            if msg.is_valid and msg.payload is not None:
                valid.add(msg.payload["event_id"])
            yield msg

    def progress(stats: PublishStats) -> None:
        note(stats.line())

    messages: Any = remembered(take(generate(cfg), plan.events))
    stats = await run_publish(app.settings, messages, progress=progress)
    note(f"{stats.line()} in {stats.elapsed:.1f}s")
    return stats, valid


async def wait_caught_up(settings: Settings, timeout: float) -> bool:
    """Wait until every consumer has num_pending == 0 and num_ack_pending == 0."""
    deadline = time.monotonic() + timeout
    last_note = 0.0
    nc = await connect(settings, "tthc-demo-status", max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        while True:
            consumers = (await pipeline.collect(js))["consumers"]
            behind = [c for c in consumers if c["num_pending"] or c["num_ack_pending"]]
            if consumers and not behind:
                note("every consumer is caught up")
                return True
            if time.monotonic() >= deadline:
                detail = ", ".join(
                    f"{c['stream']}/{c['name']} pending {c['num_pending']} "
                    f"unacked {c['num_ack_pending']}"
                    for c in behind
                )
                note(f"timed out after {timeout:.0f}s waiting for the services: "
                     f"{detail or 'no consumers found'}")  # fmt: skip
                return False
            if time.monotonic() - last_note >= 1.0:
                last_note = time.monotonic()
                note("waiting: " + ", ".join(
                    f"{c['name']} {c['num_pending'] + c['num_ack_pending']:,} to go"
                    for c in consumers
                ))  # fmt: skip
            await asyncio.sleep(0.25)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


def events_missing(settings: Settings, event_ids: set[str]) -> int:
    """How many of the valid events published are not stored in the aggregator's database:
    the demo claims success only for what the figures show."""
    from services.aggregator.storage.dialect import chunks, marks
    from services.aggregator.storage.engine import make_engine

    engine = make_engine(settings.database_url)
    found = 0
    try:
        with engine.connect() as conn:
            ids = sorted(event_ids)
            for part in chunks(ids):
                sql = (
                    "SELECT count(*) FROM case_event WHERE event_id IN "
                    f"({marks(engine.dialect.name, len(part))})"
                )
                found += conn.exec_driver_sql(sql, tuple(part)).scalar_one()
    finally:
        engine.dispose()
    return len(event_ids) - found


def collect_counters(services: list[Any]) -> dict[str, float]:
    """This run's counters from the in-process services' Prometheus registries."""
    out: dict[str, float] = {}
    for service in services:
        registry = getattr(getattr(service, "metrics", None), "registry", None)
        if registry is None:
            continue
        for metric in registry.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    key = sample.name
                    if sample.labels:
                        key += "{" + ",".join(f"{k}={v}" for k, v in sample.labels.items()) + "}"
                    out[key] = sample.value
    return out

