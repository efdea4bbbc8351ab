"""`tthc demo`: the main job end to end (what `scripts/demo.sh` runs; docs/demo.md).

1. Settings from the environment (embedded defaults: SQLite and a NATS store in ./var).
2. If nothing listens at TTHC_NATS_URL, start a local nats-server with its store under
   TTHC_DATA_DIR/nats (the URL's port when it names this machine, a free one otherwise).
3. Start intake, aggregator and reporter in this process (a composition root: it may
   import every service).
4. Publish realistic desk traffic (services/simulator) for a few communes over the
   current period so far, with a few re-sent events, a little reordering and a handful
   of invalid messages, showing progress.
5. Wait until every project consumer has nothing pending or unacknowledged.
6. Print a summary and the appendix of one commune and of its province.
7. Stop everything cleanly, also on Ctrl-C (or keep running with --keep-running).

Idempotent: event ids derive from the seed (default 1), so a second run with the same
seed re-sends the same events, which are dropped as duplicates; the figures do not move
except for the events that became due since (a later `now` only adds events).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from services.simulator.cli import (
    build_config,
    resolve_communes,
    run_publish,
)
from services.simulator.generate import DEFAULT_SEED, WEEKDAY_WEIGHT, generate, take
from services.simulator.publish import PublishStats
from shared.domain.periods import Period, PeriodError, parse_period, period_containing
from shared.domain.timeutil import LOCAL_TZ, to_instant
from shared.errors import UsageError
from shared.natsserver import (
    INSTALL_HINT,
    LocalNatsServer,
    NatsServerNotFound,
    find_nats_server,
    free_port,
    is_reachable,
)
from shared.ports import FiguresReply, FiguresRequest
from shared.registry import load_registry
from shared.settings import Settings

SERVICE_NAMES = ("intake", "aggregator", "reporter")
EVENTS_PER_CASE = 2.2  # a little above the simulator's mean, so the target is not overshot
LEAD_IN_DAYS = 30
STOP_TIMEOUT = (
    40.0  # per service  # traffic starts this long before the period, so cases carry over
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the main job: local NATS if needed, all services, realistic traffic, appendix",
        description=(
            "Run the whole pipeline on this machine: start a local nats-server under "
            "TTHC_DATA_DIR when none is reachable at TTHC_NATS_URL, run intake, aggregator "
            "and reporter in this process, publish realistic desk traffic, wait until every "
            "event is in the figures, and print the appendix of a commune and of its "
            "province. Running it again with the same seed re-sends the same events, which "
            "are dropped as duplicates."
        ),
    )
    p.add_argument(
        "--communes",
        metavar="CODE,CODE",
        help="commune codes of one province (default: 16000,14758,14797 in province 38)",
    )
    p.add_argument(
        "--events", type=int, default=3000, metavar="N", help="about N events (default 3000)"
    )
    p.add_argument(
        "--period",
        metavar="LABEL",
        help="period of the appendix, e.g. 2026-Q4 or 2026-M11 (default: the current quarter)",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="traffic seed (default 1)")
    p.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="longest wait for the services to take every event in (default 180)",
    )
    p.add_argument(
        "--keep-running",
        action="store_true",
        help="after printing, keep the services (and a started nats-server) running until Ctrl-C",
    )
    p.add_argument("--verbose", action="store_true", help="keep the services' INFO logs")
    p.set_defaults(func=cmd_demo)


# --- arguments ------------------------------------------------------------------------


@dataclass
class Plan:
    communes: tuple[str, ...]
    province: str
    period: Period
    start: date
    end: date
    now: datetime
    cases_per_day: float
    events: int
    seed: int
    invalid: float


def weekday_weight_sum(start: date, end: date) -> float:
    total, day = 0.0, start
    while day <= end:
        total += WEEKDAY_WEIGHT[day.weekday()]
        day += timedelta(days=1)
    return total


def make_plan(args: argparse.Namespace, settings: Settings, now: datetime) -> Plan:
    registry = load_registry(str(settings.registry_file) if settings.registry_file else None)
    communes = resolve_communes(registry, args.communes, seed=args.seed)
    provinces = {registry.province_of(c) for c in communes}
    if len(provinces) != 1:
        raise UsageError("--communes must all be in one province")
    today = now.astimezone(LOCAL_TZ).date()
    try:
        period = (
            parse_period(args.period, settings.calendar)
            if args.period
            else period_containing(today, "quarter", settings.calendar)
        )
    except PeriodError as exc:
        raise UsageError(str(exc)) from None
    if period.start > today:
        raise UsageError(f"period {period.label} has not begun yet")
    if args.events < 1:
        raise UsageError("--events must be at least 1")
    start = period.start - timedelta(days=LEAD_IN_DAYS)
    end = min(period.end, today)
    weights = weekday_weight_sum(start, end) * len(communes)
    cases_per_day = max(0.05, args.events / (EVENTS_PER_CASE * max(weights, 0.3)))
    return Plan(
        communes=communes,
        province=provinces.pop() or "",
        period=period,
        start=start,
        end=end,
        now=now,
        cases_per_day=cases_per_day,
        events=args.events,
        seed=args.seed,
        invalid=min(0.05, 8 / args.events),
    )


# --- the local nats-server ----------------------------------------------------------


def _local_host(url: str) -> bool:
    return (urlparse(url).hostname or "127.0.0.1") in ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def start_local_nats(settings: Settings) -> tuple[LocalNatsServer, Settings]:
    """A nats-server under TTHC_DATA_DIR/nats, and the settings pointing at it."""
    parsed = urlparse(settings.nats_url)
    port = (parsed.port or 4222) if _local_host(settings.nats_url) else free_port()
    server = LocalNatsServer(store_dir=settings.data_dir / "nats", port=port).start()
    if server.url != settings.nats_url:
        settings = replace(settings, nats_url=server.url)
    return server, settings


# --- command --------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def note(text: str) -> None:
    print(f"demo: {text}", file=sys.stderr, flush=True)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    plan = make_plan(args, settings, now)
    if not args.verbose:
        quiet_logs()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server: LocalNatsServer | None = None
    if is_reachable(settings.nats_url):
        note(f"using the NATS server at {settings.nats_url}")
    else:
        try:
            find_nats_server()
        except NatsServerNotFound:
            print(
                f"tthc demo: no NATS server at {settings.nats_url}. {INSTALL_HINT}", file=sys.stderr
            )
            return 1
        server, settings = start_local_nats(settings)
        note(
            f"no NATS server at the configured URL; started a local nats-server at "
            f"{server.url} (JetStream store {server.store_dir})"
        )
    try:
        return asyncio.run(
            run_demo(
                plan,
                settings,
                keep_running=args.keep_running,
                timeout=args.timeout,
                verbose=args.verbose,
            )
        )
    finally:
        if server is not None:
            server.stop()
            note("stopped the local nats-server")


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


@dataclass
class RunCounts:
    published: PublishStats | None = None
    counters: dict[str, float] = field(default_factory=dict)


def build_services(settings: Settings) -> list[Any]:
    services = []
    for name in SERVICE_NAMES:
        try:
            module = importlib.import_module(f"services.{name}.service")
        except ModuleNotFoundError as exc:
            if exc.name and f"services.{name}.service".startswith(exc.name):
                note(f"the {name} service is not available in this build; running without it")
                continue
            raise
        services.append(module.build(settings))
    return services


async def run_demo(
    plan: Plan, settings: Settings, *, keep_running: bool, timeout: float, verbose: bool = False
) -> int:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    interrupted = False

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        if main is not None:
            main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
    services = build_services(settings)
    started: list[Any] = []
    try:
        for service in services:
            await service.start()
            started.append(service)
        if not verbose:
            quiet_logs()  # FastStream creates its loggers when a broker starts
        note("started " + ", ".join(s.name for s in started))
        stats = await publish_traffic(plan, settings)
        caught_up = await wait_caught_up(settings, timeout)
        counts = collect_counters(started)
        await print_results(plan, settings, stats, counts, caught_up)
        if keep_running:
            note("services keep running; Ctrl-C stops them")
            await asyncio.Event().wait()
        return 0 if caught_up else 1
    except asyncio.CancelledError:
        if interrupted:
            note("interrupted; stopping")
            return 130
        raise
    finally:
        for service in reversed(started):
            began = time.monotonic()
            try:
                await asyncio.wait_for(service.stop(), timeout=STOP_TIMEOUT)
            except Exception as exc:  # one failing stop must not keep the others running
                note(f"stopping {service.name} failed: {type(exc).__name__}")
            took = time.monotonic() - began
            if took > 5:
                note(f"stopping {service.name} took {took:.0f}s")
        if started:
            note("stopped " + ", ".join(s.name for s in reversed(started)))
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def publish_traffic(plan: Plan, settings: Settings) -> PublishStats:
    registry = load_registry(str(settings.registry_file) if settings.registry_file else None)
    cfg = build_config(
        registry,
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

    def progress(stats: PublishStats) -> None:
        note(stats.line())

    stats = await run_publish(settings, take(generate(cfg), plan.events), progress=progress)
    note(f"{stats.line()} in {stats.elapsed:.1f}s")
    return stats


async def pipeline_status(settings: Settings) -> list[dict[str, Any]]:
    """Every consumer on the project's streams (the aggregator's status logic)."""
    from services.aggregator import status
    from shared.natsutil import connect

    nc = await connect(settings, "tthc-demo-status", max_reconnect_attempts=3)
    try:
        return (await status.collect(nc.jetstream()))["consumers"]
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def wait_caught_up(settings: Settings, timeout: float) -> bool:
    """Wait until every consumer has num_pending == 0 and num_ack_pending == 0."""
    deadline = time.monotonic() + timeout
    last_note = 0.0
    consumers: list[dict[str, Any]] = []
    while True:
        consumers = await pipeline_status(settings)
        behind = [c for c in consumers if c["num_pending"] or c["num_ack_pending"]]
        if consumers and not behind:
            note("every consumer is caught up: every published event is in the figures")
            return True
        if time.monotonic() >= deadline:
            detail = (
                ", ".join(
                    f"{c['stream']}/{c['name']} pending {c['num_pending']} "
                    f"unacked {c['num_ack_pending']}"
                    for c in behind
                )
                or "no consumers found"
            )
            note(f"timed out after {timeout:.0f}s waiting for the services: {detail}")
            return False
        if time.monotonic() - last_note >= 1.0:
            last_note = time.monotonic()
            note(
                "waiting: "
                + ", ".join(
                    f"{c['name']} {c['num_pending'] + c['num_ack_pending']:,} to go"
                    for c in consumers
                )
            )
        await asyncio.sleep(0.25)


def collect_counters(services: list[Any]) -> dict[str, float]:
    """This run's counters from the in-process services' Prometheus registries."""
    out: dict[str, float] = {}
    for service in services:
        metrics = getattr(service, "metrics", None)
        registry = getattr(metrics, "registry", None)
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


# --- output ---------------------------------------------------------------------------


def summary_lines(stats: PublishStats, counts: dict[str, float], caught_up: bool) -> list[str]:
    def n(key: str) -> int:
        return int(counts.get(key, 0))

    rejected = {
        key.split("reason=", 1)[1].rstrip("}"): int(v)
        for key, v in counts.items()
        if key.startswith("tthc_intake_rejected_total{") and v
    }
    lines = [
        "TÓM TẮT / SUMMARY",
        f"  messages published          {stats.published:>8,}  "
        f"(events {stats.kinds.get('event', 0):,}, re-sent {stats.kinds.get('duplicate', 0):,}, "
        f"invalid {stats.invalid:,}; {stats.rate:,.0f}/s)",
        f"  dropped by JetStream window {stats.window_duplicates:>8,}  "
        "(same Nats-Msg-Id within the window)",
        f"  taken in by intake          {n('tthc_intake_messages_total'):>8,}",
        f"  accepted                    {n('tthc_intake_accepted_total'):>8,}",
        f"  duplicates dropped (intake) {n('tthc_intake_duplicates_total'):>8,}",
        f"  duplicates dropped (store)  {n('tthc_aggregator_duplicates_total'):>8,}  "
        "(event id seen before, forever)",
        f"  new events in the figures   {n('tthc_aggregator_events_applied_total'):>8,}",
        f"  rejected                    {sum(rejected.values()):>8,}  "
        + (
            "(" + ", ".join(f"{r} {c}" for r, c in sorted(rejected.items())) + ")"
            if rejected
            else ""
        ),
    ]
    if not caught_up:
        lines.append("  WARNING: the services had not taken every event in; figures may be partial")
    return lines


def render_text(appendix: Any) -> str:
    """The appendix as plain text: the reporter's `text` format."""
    from services.reporter.render.text import render_text as reporter_text

    return reporter_text(appendix)


async def appendix_of(
    settings: Settings, kind: str, code: str, period: Period, now: int
) -> tuple[Any, FiguresReply]:
    from services.aggregator.queries import LocalFiguresSource

    source = LocalFiguresSource(settings)
    try:
        reply = await source.figures(
            FiguresRequest(kind, code, period.start_instant, period.end_instant, now)
        )
    finally:
        source.close()
    if reply.error:
        raise RuntimeError(reply.error)
    try:
        from services.reporter.appendix import make_appendix, unit_info
        from services.reporter.templates import load_template
    except ImportError:  # pragma: no cover - the reporter's appendix code is part of the build
        return None, reply
    registry = load_registry(str(settings.registry_file) if settings.registry_file else None)
    appendix = make_appendix(
        unit_info(registry, kind, code), period, reply, load_template(), now, registry
    )
    return appendix, reply


async def print_results(
    plan: Plan,
    settings: Settings,
    stats: PublishStats,
    counts: dict[str, float],
    caught_up: bool,
) -> None:
    now = to_instant(datetime.now(UTC))
    say()
    for line in summary_lines(stats, counts, caught_up):
        say(line)
    for kind, code in (("commune", plan.communes[0]), ("province", plan.province)):
        appendix, reply = await appendix_of(settings, kind, code, plan.period, now)
        say()
        say("=" * 100)
        if appendix is None:
            say(f"{kind} {code}, {plan.period.label}: figures")
            for key, value in reply.figures.items():
                say(f"  {key:<40} {value}")
            continue
        say(render_text(appendix))
        f = appendix.figures
        say(
            f"Figures: received {f['received_total']}, resolved {f['resolved_total']} "
            f"(early {f['resolved_early']}, on time {f['resolved_on_time']}, late "
            f"{f['resolved_late']}), on-time rate {f['on_time_rate']}%, open at end "
            f"{f['open_at_end']} (overdue {f['open_overdue_at_end']}), apology letters "
            f"{f['apologies_sent']}, online rate {f['online_rate']}%"
        )
    say()
    say(
        f"Data: {settings.data_dir} (database {settings.database_url}). More: "
        f"`tthc appendix --commune {plan.communes[0]} --period {plan.period.label} "
        f"--format xlsx --out phu-luc.xlsx`, `tthc status`, `tthc rejected list`."
    )
