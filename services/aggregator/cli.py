"""The aggregator's commands: `tthc verify`, `tthc rebuild` and `tthc status`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

import orjson

from shared.errors import UsageError
from shared.settings import Settings


def register(subparsers: Any) -> None:
    verify = subparsers.add_parser(
        "verify",
        help="recompute every case from the stored events and report any drift",
        description=(
            "Fold every case again from its stored events and compare the result with the "
            "aggregator's case rows (what the figures read). Exit status 0 when there is no "
            "drift, 1 when there is; --repair rewrites the drifting rows."
        ),
    )
    verify.add_argument("--repair", action="store_true", help="rewrite drifting rows")
    verify.add_argument(
        "--deep",
        action="store_true",
        help="decode every event again from its stored payload (slower; checks the columns too)",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument("--quiet", action="store_true", help="no progress lines on standard error")
    _workers_arg(verify)
    verify.set_defaults(func=cmd_verify)

    rebuild = subparsers.add_parser(
        "rebuild",
        help="rewrite every case row from the stored events",
        description=(
            "Replace every case row of the aggregator (what the figures read) by a fresh fold "
            "of the stored events, in one transaction. Run it with the aggregator stopped. "
            "Prints the cases and events and the speed; progress lines on standard error."
        ),
    )
    rebuild.add_argument("--json", action="store_true", help="print the report as JSON")
    rebuild.add_argument("--quiet", action="store_true", help="no progress lines on standard error")
    _workers_arg(rebuild)
    rebuild.set_defaults(func=cmd_rebuild)

    status = subparsers.add_parser(
        "status",
        help="every JetStream consumer with num_pending and num_ack_pending",
        description=(
            "Streams and every consumer on the project's streams, in pipeline order "
            "(TTHC_EVENTS, TTHC_ACCEPTED, TTHC_REJECTED), plus the aggregator's database "
            "counts. When every num_pending and num_ack_pending is 0, every published "
            "event is in the figures. Exit status 1 if NATS is unreachable."
        ),
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=cmd_status)


def _workers_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes folding cases in parallel, by ranges of communes (default: the number "
        "of CPU cores, at most 4; 1 = in this process)",
    )


def workers_of(args: argparse.Namespace) -> int:
    """The --workers value, or the default: the CPU cores, at most 4."""
    value = getattr(args, "workers", None)
    if value is None:
        return max(1, min(4, os.cpu_count() or 1))
    if value < 1:
        raise UsageError("--workers must be at least 1")
    return int(value)


# --- verify --------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from services.aggregator.db import database_missing, make_engine, schema_present
    from services.aggregator.queries import registry_for
    from services.aggregator.rebuild import verify_fast, verify_parallel
    from services.aggregator.store import VerifyReport

    if database_missing(settings.database_url):
        print("tthc verify: no aggregator database yet (nothing to verify)", file=sys.stderr)
        report = VerifyReport()
        print(orjson.dumps(report.as_dict()).decode() if args.json else "verified 0 cases")
        return 0
    engine = make_engine(settings.database_url)
    try:
        if not schema_present(engine):
            print("tthc verify: no aggregator database yet (nothing to verify)", file=sys.stderr)
            report = VerifyReport()
        else:
            units = registry_for(settings)

            progress = _progress("verify", args.quiet)
            workers = workers_of(args)
            if workers > 1:
                report = verify_parallel(
                    engine.url.render_as_string(hide_password=False),
                    units,
                    workers,
                    repair=args.repair,
                    deep=getattr(args, "deep", False),
                    progress=progress,
                )
            else:
                report = verify_fast(
                    engine,
                    units.province_of,
                    repair=args.repair,
                    deep=getattr(args, "deep", False),
                    progress=progress,
                )
    finally:
        engine.dispose()
    data = report.as_dict()
    if args.json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(
            f"verified {report.cases:,} cases from {report.events:,} events in "
            f"{report.seconds:.2f}s: drift {report.drift} "
            f"(missing rows {report.missing_rows}, stale rows {report.stale_rows})"
            + (f", repaired {report.repaired}" if args.repair else "")
        )
        for ex in report.examples:
            columns = ", ".join(ex["columns"])
            print(
                f"  {ex['commune_code']}/{ex['case_id']}: {ex['problem']}"
                + (f" ({columns})" if columns else "")
            )
    if report.drift and not args.repair:
        return 1
    return 0


def _progress(command: str, quiet: bool):  # type: ignore[no-untyped-def]
    """A progress printer for long runs (standard error), or None when quiet."""
    if quiet:
        return None

    def progress(r: Any) -> None:
        rate = r.events / r.seconds if r.seconds else 0
        print(
            f"{command}: {r.events:,} events, {r.cases:,} cases, drift {r.drift} "
            f"({rate:,.0f} events/s)",
            file=sys.stderr,
            flush=True,
        )

    return progress


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from services.aggregator.db import database_missing, make_engine, schema_present
    from services.aggregator.queries import registry_for
    from services.aggregator.rebuild import rebuild

    if database_missing(settings.database_url):
        print("tthc rebuild: no aggregator database yet (nothing to rebuild)", file=sys.stderr)
        return 0
    engine = make_engine(settings.database_url)
    try:
        if not schema_present(engine):
            print("tthc rebuild: no aggregator database yet (nothing to rebuild)", file=sys.stderr)
            return 0
        units = registry_for(settings)
        report = rebuild(
            engine,
            units.province_of,
            progress=_progress("rebuild", args.quiet),
            registry=units,
            workers=workers_of(args),
        )
    finally:
        engine.dispose()
    data = report.as_dict()
    if args.json:
        keep = ("cases", "events", "repaired", "seconds", "events_per_second")
        sys.stdout.write(orjson.dumps({k: data[k] for k in keep}).decode() + "\n")
    else:
        rate = data["events_per_second"] or 0
        print(
            f"rebuilt {report.repaired:,} case rows from {report.events:,} events in "
            f"{report.seconds:.2f}s ({rate:,} events/s)"
        )
    return 0


# --- status --------------------------------------------------------------------------


async def _quiet(_exc: Exception) -> None:
    """Connection errors are reported once, by the caller."""


async def _nats_status(settings: Settings) -> dict[str, Any]:
    import nats

    from services.aggregator import status

    nc = await nats.connect(
        settings.nats_url,
        name="tthc-status",
        connect_timeout=3,
        allow_reconnect=False,
        max_reconnect_attempts=1,  # nats-py: 0 would mean "retry the first connect forever"
        reconnect_time_wait=0.2,
        error_cb=_quiet,
    )
    try:
        return await status.collect(nc.jetstream())
    finally:
        await nc.close()


def _database_status(settings: Settings) -> dict[str, Any] | None:
    from services.aggregator.db import database_missing, make_engine, schema_present
    from services.aggregator.store import counts

    if database_missing(settings.database_url):
        return None
    engine = make_engine(settings.database_url)
    try:
        if not schema_present(engine):
            return None
        c = counts(engine)
        return {
            "backend": engine.url.get_backend_name(),
            "events_stored": c["events_stored"],
            "cases": c["cases"],
            "events_stream_seq": c["events_seq_max"],
            "duplicates_seen": c["duplicates_seen"],
            "batches_committed": c["batches_committed"],
        }
    finally:
        engine.dispose()


def collect_status(settings: Settings) -> dict[str, Any]:
    """The status object; raises OSError-like errors when NATS is unreachable."""
    info = asyncio.run(asyncio.wait_for(_nats_status(settings), timeout=15))
    consumers = info["consumers"]
    try:
        database: dict[str, Any] | None = _database_status(settings)
    except Exception as exc:  # NATS is the contract's part; the database is an extra
        database = {"error": str(exc).splitlines()[0]}
    return {
        "nats_url": settings.nats_url,
        "consumers": consumers,
        "all_caught_up": all(
            c["num_pending"] == 0 and c["num_ack_pending"] == 0 for c in consumers
        ),
        "streams": info["streams"],
        "database": database,
    }


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    try:
        data = collect_status(settings)
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        print(
            f"tthc status: error: cannot reach NATS at {settings.nats_url}: {reason}",
            file=sys.stderr,
        )
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
        return 0
    print(f"NATS {data['nats_url']}")
    print(f"{'STREAM':<15} {'MESSAGES':>10} {'LAST SEQ':>10} {'CONSUMERS':>9}")
    for s in data["streams"]:
        if s.get("exists"):
            print(
                f"{s['name']:<15} {s['messages']:>10} {s['last_seq']:>10} {s['consumer_count']:>9}"
            )
        else:
            print(f"{s['name']:<15} {'(absent)':>10}")
    print()
    print(f"{'STREAM':<15} {'CONSUMER':<20} {'PENDING':>9} {'ACK PENDING':>11} {'REDELIVERED':>11}")
    for c in data["consumers"]:
        print(
            f"{c['stream']:<15} {c['name']:<20} {c['num_pending']:>9} "
            f"{c['num_ack_pending']:>11} {c['num_redelivered']:>11}"
        )
    if not data["consumers"]:
        print("(no consumers yet)")
    db = data["database"]
    print()
    if db is None:
        print("database: none yet")
    elif "error" in db:
        print(f"database: error: {db['error']}")
    else:
        print(
            f"database ({db['backend']}): {db['events_stored']:,} events, {db['cases']:,} cases, "
            f"up to TTHC_EVENTS seq {db['events_stream_seq']}"
        )
    print("all caught up" if data["all_caught_up"] else "work pending")
    return 0
