"""`tthc simulate`: realistic desk traffic for chosen communes (docs/simulator.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from services.simulator.generate import DEFAULT_SEED, SimConfig, generate, take
from services.simulator.publish import PublishStats, publish_messages, write_jsonl
from shared.context import CommandContext
from shared.domain.timeutil import LOCAL_TZ
from shared.errors import UsageError
from shared.registry import UnitRegistry
from shared.settings import Settings

# Three communes of Thanh Hóa (province 38): a rural commune and two wards.
DEFAULT_COMMUNES = ("16000", "14758", "14797")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="publish realistic desk traffic for chosen communes",
        description=(
            "Generate realistic one-stop desk traffic (receipts in office hours, channel "
            "and field mixes, supplements, pauses, early/on-time/late results, apology "
            "letters, returns, withdrawals) and publish it to TTHC_EVENTS with "
            "Nats-Msg-Id headers, or write it as JSON lines. Deterministic for a seed. "
            "Never produces events after now (except --invalid future_timestamp ones)."
        ),
    )
    add_unit_arguments(p)
    p.add_argument(
        "--from",
        dest="date_from",
        metavar="DATE",
        help="first day (YYYY-MM-DD); default: 90 days before --to",
    )
    p.add_argument(
        "--to", dest="date_to", metavar="DATE", help="last day (YYYY-MM-DD); default: today"
    )
    p.add_argument("--events", type=int, metavar="N", help="stop after N messages")
    p.add_argument(
        "--cases-per-day",
        type=float,
        default=8.0,
        metavar="X",
        help="dossiers received per commune on an ordinary weekday (default 8)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"random seed (default {DEFAULT_SEED}); same seed, same event ids",
    )
    p.add_argument(
        "--duplicates",
        type=float,
        default=0.0,
        metavar="P",
        help="share of events sent twice (e.g. 0.01)",
    )
    p.add_argument(
        "--reorder",
        type=float,
        default=0.0,
        metavar="P",
        help="share of events published out of order (e.g. 0.01)",
    )
    p.add_argument(
        "--invalid",
        type=float,
        default=0.0,
        metavar="P",
        help="share of extra invalid messages, to show rejection (default 0)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write JSON lines to FILE instead of publishing ('-': standard output)",
    )
    p.add_argument(
        "--rate",
        type=float,
        metavar="EPS",
        help="steady publish rate, messages per second (default: as fast as acks allow)",
    )
    p.add_argument(
        "--core", action="store_true", help="plain core NATS publish (no JetStream acks)"
    )
    p.add_argument(
        "--in-flight",
        type=int,
        default=1000,
        metavar="N",
        help="most unacknowledged JetStream publishes at once (default 1000)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_simulate)


def add_unit_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--communes",
        metavar="CODE,CODE",
        help=f"commune codes (default: {','.join(DEFAULT_COMMUNES)}, in province 38)",
    )
    group.add_argument("--province", metavar="CODE", help="every commune of a province")
    group.add_argument(
        "--random",
        type=int,
        metavar="N",
        help="N communes picked at random (by --seed) from the registry",
    )


def resolve_communes(
    registry: UnitRegistry,
    communes: str | None = None,
    province: str | None = None,
    random_n: int | None = None,
    seed: int = DEFAULT_SEED,
) -> tuple[str, ...]:
    """The communes asked for, checked against the registry (UsageError otherwise)."""
    if province is not None:
        found = registry.communes_of(province)
        if not found:
            raise UsageError(f"unknown province {province!r}")
        return found
    if random_n is not None:
        if not 1 <= random_n <= len(registry.communes):
            raise UsageError(f"--random needs 1 to {len(registry.communes)} communes")
        return tuple(sorted(random.Random(seed).sample(sorted(registry.communes), random_n)))
    if communes is None:
        codes = [c for c in DEFAULT_COMMUNES if c in registry]
        return tuple(codes or sorted(registry.communes)[:3])
    codes = [c.strip() for c in communes.split(",") if c.strip()]
    if not codes:
        raise UsageError("--communes needs at least one commune code")
    for code in codes:
        if code not in registry:
            raise UsageError(f"unknown commune {code!r}")
    return tuple(dict.fromkeys(codes))


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be a date YYYY-MM-DD, not {text!r}") from None


def check_share(value: float, option: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{option} must be between 0 and 1")
    return value


def vn_holidays(start: date, end: date) -> frozenset[date]:
    """Vietnamese public holidays of the years concerned (the `holidays` package)."""
    try:
        import holidays
    except ImportError:  # pragma: no cover - a dependency; weekends still skipped
        return frozenset()
    return frozenset(holidays.country_holidays("VN", years=range(start.year, end.year + 1)))


def build_config(
    registry: UnitRegistry,
    communes: tuple[str, ...],
    start: date,
    end: date,
    now: datetime,
    **options: object,
) -> SimConfig:
    provinces = {c: registry.province_of(c) or "00" for c in communes}
    return SimConfig(
        communes=communes,
        start=start,
        end=end,
        now=now,
        holidays=vn_holidays(start, end),
        provinces=provinces,
        **options,  # type: ignore[arg-type]
    )


def stderr_progress(stats: PublishStats) -> None:
    print(f"simulate: {stats.line()}", file=sys.stderr, flush=True)


def cmd_simulate(args: argparse.Namespace, app: CommandContext) -> int:
    settings, registry = app.settings, app.registry
    communes = resolve_communes(registry, args.communes, args.province, args.random, args.seed)
    now = datetime.now(UTC)
    today = now.astimezone(LOCAL_TZ).date()
    end = parse_day(args.date_to, "--to") if args.date_to else today
    start = parse_day(args.date_from, "--from") if args.date_from else end - timedelta(days=90)
    if end < start:
        raise UsageError("--to is before --from")
    if args.events is not None and args.events < 0:
        raise UsageError("--events must not be negative")
    if args.cases_per_day < 0:
        raise UsageError("--cases-per-day must not be negative")
    if args.in_flight < 1:
        raise UsageError("--in-flight must be at least 1")
    cfg = build_config(
        registry,
        communes,
        start,
        end,
        now,
        seed=args.seed,
        cases_per_day=args.cases_per_day,
        duplicates=check_share(args.duplicates, "--duplicates"),
        reorder=check_share(args.reorder, "--reorder"),
        invalid=check_share(args.invalid, "--invalid"),
    )
    messages = take(generate(cfg), args.events)
    if args.out:
        if args.out == "-":
            stats = write_jsonl(messages, sys.stdout.buffer)
        else:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            with open(args.out, "wb") as fh:
                stats = write_jsonl(messages, fh)
        print(f"simulate: wrote {stats.published:,} messages", file=sys.stderr)
        return 0
    progress = None if args.quiet else stderr_progress
    stats = asyncio.run(
        run_publish(
            settings,
            messages,
            core=args.core,
            in_flight=args.in_flight,
            rate=args.rate,
            progress=progress,
        )
    )
    print(f"simulate: done: {stats.line()} in {stats.elapsed:.1f}s", file=sys.stderr)
    return 1 if stats.failed else 0


async def run_publish(
    settings: Settings,
    messages,
    *,
    core: bool = False,
    in_flight: int = 1000,
    rate: float | None = None,
    progress=None,
) -> PublishStats:
    """Connect, create the project's streams when absent, publish, close."""
    from shared.natsutil import connect, ensure_streams

    nc = await connect(settings, "tthc-simulate", max_reconnect_attempts=10)
    try:
        await ensure_streams(nc.jetstream(), settings)
        return await publish_messages(
            nc, messages, core=core, max_in_flight=in_flight, rate=rate, progress=progress
        )
    finally:
        # Every ack was awaited (or the core publishes flushed): close, not drain (draining
        # the async-publish reply subscription waits out nats-py's 30 s drain timeout).
        with contextlib.suppress(Exception):
            await nc.close()
