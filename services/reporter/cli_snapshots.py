"""`tthc snapshots list|show|diff|make`: the frozen period-end appendices on the command line.

Commands get the composition root's context (shared/context.py). `make` uses the same
figures source as `tthc appendix` (`app.figures_source()`) and publishes the
notifications unless `--no-notify` (best effort).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from services.reporter.figsource import FiguresUnavailable, opened
from services.reporter.renderworkers import RenderWorkers
from services.reporter.snapshots import SnapshotStore, make_period_snapshots
from shared.context import CommandContext
from shared.errors import UsageError
from shared.settings import Settings


def register(subparsers: Any) -> None:
    from services.reporter.cli import unit_args

    snap = subparsers.add_parser(
        "snapshots",
        help="frozen period-end appendices and their revisions",
        description="List, show, compare or make the frozen appendices (TTHC_DATA_DIR/snapshots).",
    )
    sub = snap.add_subparsers(dest="snapshots_command", metavar="ACTION", parser_class=type(snap))
    sub.required = True
    ls = sub.add_parser(
        "list",
        help="latest revision of each snapshot",
        description="The latest revision of each frozen snapshot, optionally of one unit or "
        "period. A malformed period label or an unknown unit is an error (exit status 2).",
    )
    unit_args(ls, required=False)
    ls.add_argument("--period", default=None, help=f"only this period ({PERIOD_HELP})")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=cmd_snapshots_list)
    show = sub.add_parser("show", help="one snapshot record (latest revision by default)")
    unit_args(show, required=True)
    show.add_argument("--period", required=True, help=f"the period ({PERIOD_HELP})")
    show.add_argument(
        "--revision", type=int, default=None, metavar="N", help="this revision (default: latest)"
    )
    show.add_argument("--json", action="store_true", help="print the record as JSON")
    show.set_defaults(func=cmd_snapshots_show)
    diff = sub.add_parser("diff", help="figures that differ between two revisions")
    unit_args(diff, required=True)
    diff.add_argument("--period", required=True, help=f"the period ({PERIOD_HELP})")
    diff.add_argument(
        "--from",
        dest="rev_from",
        type=int,
        default=None,
        metavar="N",
        help="the older revision (default: the one before --to)",
    )
    diff.add_argument(
        "--to",
        dest="rev_to",
        type=int,
        default=None,
        metavar="N",
        help="the newer revision (default: the latest)",
    )
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    diff.set_defaults(func=cmd_snapshots_diff)
    make = sub.add_parser(
        "make",
        help="freeze a period now (a new revision where figures changed)",
        description="Freeze a named period now for every unit with data (or one unit), as "
        "the reporter does after the cut-off; a new revision only where the figures "
        "changed. Notifications on NATS are best effort: an unreachable NATS is reported "
        "on standard error after a few seconds, and the snapshots stay made.",
    )
    unit_args(make, required=False)
    make.add_argument(
        "--period", required=True, help="a named period: YYYY-MNN, YYYY-QN, YYYY-H1/H2, ..."
    )
    make.add_argument(
        "--template",
        action="append",
        default=None,
        help="a form to freeze (repeatable; default: TTHC_SNAPSHOT_FORMS)",
    )
    make.add_argument("--no-notify", action="store_true", help="do not publish on NATS")
    make.add_argument("--now", default=None, help=argparse.SUPPRESS)
    make.set_defaults(func=cmd_snapshots_make)


PERIOD_HELP = "YYYY-MNN, YYYY-QN, YYYY-H1/H2, YYYY-9M, YYYY or YYYY-MM-DD..YYYY-MM-DD"


def _store(settings: Settings) -> SnapshotStore:
    return SnapshotStore.for_data_dir(Path(settings.data_dir))


def _unit_key(args: argparse.Namespace, app: CommandContext) -> tuple[str, str]:
    from services.reporter.cli import registry_of, unit_of

    unit = unit_of(args, registry_of(app))
    return unit["kind"], unit["code"]


def _print_json(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def cmd_snapshots_list(args: argparse.Namespace, app: CommandContext) -> int:
    from services.reporter.cli import period_of

    settings = app.settings
    kind = "commune" if args.commune else "province" if args.province else None
    code = args.commune or args.province
    if kind is not None:
        _unit_key(args, app)  # an unknown unit is an error, not "no snapshots"
    if args.period is not None:
        period_of(args.period, settings.calendar)  # a malformed label: exit status 2
    entries = _store(settings).list(kind, args.period, code)
    if args.json:
        _print_json(entries)
        return 0
    if not entries:
        print("no snapshots")
        return 0
    print(f"{'KIND':<9} {'CODE':<6} {'PERIOD':<24} {'REV':>4}  {'CREATED':<26} HASH")
    for e in entries:
        print(
            f"{e['unit_kind']:<9} {e['unit_code']:<6} {e['period_label']:<24} "
            f"{e['revision']:>4}  {e['created_at']:<26} {e['hash'][:19]}"
        )
    return 0


def _record(args: argparse.Namespace, app: CommandContext, revision: int | None) -> dict:
    settings = app.settings
    kind, code = _unit_key(args, app)
    record = _store(settings).record(kind, args.period, code, revision)
    if record is None:
        which = f"revision {revision}" if revision else "snapshot"
        raise UsageError(f"no {which} of {kind} {code} for period {args.period}")
    return record


def cmd_snapshots_show(args: argparse.Namespace, app: CommandContext) -> int:
    settings = app.settings
    record = _record(args, app, args.revision)
    intact = _store(settings).verify(record)
    if args.json:
        _print_json({**record, "intact": intact})
        return 0
    unit, period = record["unit"], record["period"]
    print(f"{unit['kind']} {unit['code']} {unit['name']}")
    print(f"period    {period['label']} ({period['calendar']}) {period['start']}..{period['end']}")
    print(
        f"revision  {record['revision']}  created {record['created_at']}  layout {record['layout']}"
    )
    print(f"hash      {record['hash']}  {'intact' if intact else 'FILES CHANGED'}")
    print(f"watermark {orjson.dumps(record['watermark']).decode()}")
    print(f"files     {record['path']}: {', '.join(record['files'].values())}")
    for key, value in record["figures"].items():
        print(f"  {key:<38} {value}")
    if record.get("diff"):
        print(f"changed since revision {record['previous']['revision']}:")
        for key, change in record["diff"].items():
            print(f"  {key:<38} {change['from']} -> {change['to']}")
    return 0


def cmd_snapshots_diff(args: argparse.Namespace, app: CommandContext) -> int:
    from services.reporter.snapshots import diff_figures

    new = _record(args, app, args.rev_to)
    old_rev = args.rev_from if args.rev_from is not None else int(new["revision"]) - 1
    if old_rev < 1:
        raise UsageError(f"revision {new['revision']} has no earlier revision to compare with")
    old = _record(args, app, old_rev)
    changes = diff_figures(old["figures"], new["figures"])
    if args.json:
        _print_json({"from": old["revision"], "to": new["revision"], "changes": changes})
        return 0
    print(
        f"revision {old['revision']} ({old['created_at']}) -> "
        f"{new['revision']} ({new['created_at']})"
    )
    if not changes:
        print("no figure changed")
    for key, change in changes.items():
        print(f"  {key:<38} {change['from']} -> {change['to']}")
    return 0


def cmd_snapshots_make(args: argparse.Namespace, app: CommandContext) -> int:
    from services.reporter.cli import now_of, one_line, period_of, registry_of, template_of
    from services.reporter.snapshots import snapshot_presentation

    settings = app.settings
    registry = registry_of(app)
    period = period_of(args.period, settings.calendar)
    if period.kind == "range":
        raise UsageError(
            "snapshots are made for named periods (YYYY-MNN, YYYY-QN, ...), not ranges"
        )
    only = _unit_key(args, app) if (args.commune or args.province) else None
    forms = tuple(template_of(ref) for ref in (args.template or settings.snapshot_forms))
    now = now_of(args)
    store = _store(settings)
    try:
        look = snapshot_presentation(settings)
    except ValueError as exc:
        raise UsageError(one_line(exc)) from exc

    # A whole period's run renders in TTHC_RENDER_WORKERS processes (one unit: no need).
    workers = (
        RenderWorkers(settings.render_workers, store.root, registry, forms, look)
        if settings.render_workers and only is None
        else None
    )

    def saved(record: dict, created: bool) -> None:  # one line a unit, as it is frozen
        unit = record["unit"]
        state = "new revision" if created else "unchanged"
        print(
            f"{unit['kind']:<9} {unit['code']:<6} {period.label} "
            f"r{record['revision']} {state} {record['path']}",
            flush=True,
        )

    async def go():  # type: ignore[no-untyped-def]
        async with opened(app.figures_source()) as source:
            try:
                results = await make_period_snapshots(
                    period, source, store, registry, forms, now, only, saved,
                    presentation=look, workers=workers,
                )  # fmt: skip
            finally:
                if workers is not None:
                    await asyncio.to_thread(workers.close)
        if not args.no_notify:
            from services.reporter.service import publish_notifications

            await publish_notifications(settings, [r for r, created in results if created])
        return results

    try:
        results = asyncio.run(go())
    except FiguresUnavailable as exc:
        print(f"tthc: error: {one_line(exc)}", file=sys.stderr)
        return 1
    if not results:
        print(f"no data for period {period.label}: nothing frozen")
    return 0
