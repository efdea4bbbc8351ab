"""The aggregator's commands: `tthc verify`, `tthc rebuild` and `tthc backup`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from shared.context import CommandContext
from shared.errors import UsageError
from shared.terminal import safe


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
    _register_backup(subparsers)


def _register_backup(subparsers: Any) -> None:
    backup = subparsers.add_parser(
        "backup",
        help="copy the aggregator's database to a file, safely while it runs",
        description=(
            "Write a consistent copy of the aggregator's database to OUT while the services "
            "run: SQLite with its online backup (a database file), PostgreSQL with pg_dump "
            "(custom format, for pg_restore). After a restore the aggregator replays from "
            "the broker what the copy lacks (docs/operations.md, 'Backup and restore')."
        ),
    )
    backup.add_argument("out", metavar="OUT", help="the file to write (its folder must exist)")
    backup.set_defaults(func=cmd_backup)


def cmd_backup(args: argparse.Namespace, app: CommandContext) -> int:
    from services.aggregator.storage.backup import BackupError, backup

    try:
        written = backup(app.settings.database_url, Path(args.out))
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    print(f"backed up to {written}")
    return 0


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


def cmd_verify(args: argparse.Namespace, app: CommandContext) -> int:
    from services.aggregator.storage.engine import database_missing, make_engine, schema_present
    from services.aggregator.verify import VerifyReport, verify_fast, verify_parallel

    settings = app.settings

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
            units = app.registry
            progress = _progress("verify", args.quiet, engine)
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
                f"  {safe(ex['commune_code'])}/{safe(ex['case_id'])}: {ex['problem']}"
                + (f" ({columns})" if columns else "")
            )
    if report.drift and not args.repair:
        return 1
    return 0


def _progress(command: str, quiet: bool, engine: Any = None):  # type: ignore[no-untyped-def]
    """A progress printer for long runs (standard error), or None when quiet.

    Each line says how far along the whole run is (the database's own counts of events
    and cases, when `engine` is given) and is printed only when it moved: a part of the
    work with no events (communes without data) prints nothing."""
    if quiet:
        return None
    totals: dict[str, int] = {}
    if engine is not None:
        from services.aggregator.storage.meta import counts

        try:
            c = counts(engine)
            totals = {"events": int(c.get("events_stored", 0)), "cases": int(c["cases"])}
        except Exception:  # a total is a nicety; the run itself says what is wrong
            totals = {}
    last: list[tuple[int, int]] = []

    def of(done: int, key: str) -> str:
        total = totals.get(key)
        if not total:
            return f"{done:,} {key}"
        return f"{done:,} of {total:,} {key} ({min(100, 100 * done // total)}%)"

    def progress(r: Any) -> None:
        if last and last[-1] == (r.events, r.cases):
            return
        last[:] = [(r.events, r.cases)]
        rate = r.events / r.seconds if r.seconds else 0
        print(
            f"{command}: {of(r.events, 'events')}, {of(r.cases, 'cases')}, drift {r.drift} "
            f"({rate:,.0f} events/s)",
            file=sys.stderr,
            flush=True,
        )

    return progress


def cmd_rebuild(args: argparse.Namespace, app: CommandContext) -> int:
    from services.aggregator.rebuild import rebuild
    from services.aggregator.storage.engine import database_missing, make_engine, schema_present

    settings = app.settings

    if database_missing(settings.database_url):
        print("tthc rebuild: no aggregator database yet (nothing to rebuild)", file=sys.stderr)
        return 0
    engine = make_engine(settings.database_url)
    try:
        if not schema_present(engine):
            print("tthc rebuild: no aggregator database yet (nothing to rebuild)", file=sys.stderr)
            return 0
        units = app.registry
        report = rebuild(
            engine,
            units.province_of,
            progress=_progress("rebuild", args.quiet, engine),
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
