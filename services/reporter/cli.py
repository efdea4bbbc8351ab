"""`tthc appendix` and `tthc snapshots list|show|diff|make`.

Figures source. Every command gets the composition root's context (shared/context.py):
its `figures_source()` is either an async context manager yielding an object with
`async figures(request)`, or an object with `async figures(FiguresRequest) ->
FiguresReply` and an optional `close()` (plain or async) called once the command is
done. A reply with `error` set is a failure (exit status 1). Tests hand in a fake
context the same way.

Output files. `--format json` (default) and `csv` print to standard output unless
`--out PATH` is given. `xlsx` and `docx` are binary: without `--out` they are written
to `TTHC_DATA_DIR/reports/<kind>-<code>-<period>-<template>.<ext>` (every part
sanitised, the result checked to lie inside that directory) and the path is printed.
`--out` is the user's explicit choice and is written as given.

Bad arguments (unknown commune or province, malformed period, unknown format or
template, ...) exit with status 2 and one line on standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from services.reporter.appendix import UnknownUnit, build_appendix, unit_info
from services.reporter.figsource import FiguresUnavailable, fetch, opened
from services.reporter.paths import inside, safe_part
from services.reporter.render import BINARY_FORMATS, EXTENSIONS, FORMATS, render
from services.reporter.snapshots import SnapshotStore, make_period_snapshots
from services.reporter.templates import DEFAULT_TEMPLATE, TemplateError, load_template
from shared.context import CommandContext
from shared.domain.periods import Period, PeriodError, parse_period
from shared.domain.timeutil import TimestampError, now_instant, parse_rfc3339
from shared.errors import UsageError
from shared.logging import get_logger
from shared.ports import FiguresRequest
from shared.registry import RegistryError, UnitRegistry
from shared.settings import Settings

log = get_logger("tthc.reporter.cli")


def register(subparsers: Any) -> None:
    """Add `appendix` and `snapshots` to the `tthc` command."""
    p = subparsers.add_parser(
        "appendix",
        help="the statistical appendix (phụ lục thống kê) of a commune or province",
        description=(
            "Print or write the statistical appendix of a commune or a province for a "
            "period: JSON (default, to stdout), CSV (UTF-8 with BOM), XLSX or DOCX. "
            "XLSX/DOCX without --out go to TTHC_DATA_DIR/reports/ and the path is printed."
        ),
    )
    _unit_args(p, required=True)
    p.add_argument(
        "--period",
        required=True,
        help="YYYY-MNN, YYYY-QN, YYYY-H1/H2, YYYY-9M, YYYY or YYYY-MM-DD..YYYY-MM-DD",
    )
    p.add_argument(
        "--calendar",
        choices=("decree09", "calendar"),
        default=None,
        help="period calendar (default: TTHC_CALENDAR)",
    )
    p.add_argument("--format", choices=FORMATS, default="json", help="output format (default json)")
    p.add_argument(
        "--out", default=None, help="write to this file instead of stdout / the reports directory"
    )
    p.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        help=f"layout: a built-in name or a template file path (default {DEFAULT_TEMPLATE})",
    )
    p.add_argument("--now", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_appendix)

    snap = subparsers.add_parser(
        "snapshots",
        help="frozen period-end appendices and their revisions",
        description="List, show, compare or make the frozen appendices (TTHC_DATA_DIR/snapshots).",
    )
    sub = snap.add_subparsers(dest="snapshots_command", metavar="ACTION", parser_class=type(snap))
    sub.required = True
    ls = sub.add_parser("list", help="latest revision of each snapshot")
    _unit_args(ls, required=False)
    ls.add_argument("--period", default=None, help="only this period label")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=cmd_snapshots_list)
    show = sub.add_parser("show", help="one snapshot record (latest revision by default)")
    _unit_args(show, required=True)
    show.add_argument("--period", required=True)
    show.add_argument("--revision", type=int, default=None)
    show.add_argument("--json", action="store_true", help="print the record as JSON")
    show.set_defaults(func=cmd_snapshots_show)
    diff = sub.add_parser("diff", help="figures that differ between two revisions")
    _unit_args(diff, required=True)
    diff.add_argument("--period", required=True)
    diff.add_argument(
        "--from", dest="rev_from", type=int, default=None, help="default: the one before --to"
    )
    diff.add_argument("--to", dest="rev_to", type=int, default=None, help="default: the latest")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(func=cmd_snapshots_diff)
    make = sub.add_parser("make", help="freeze a period now (a new revision where figures changed)")
    _unit_args(make, required=False)
    make.add_argument("--period", required=True)
    make.add_argument("--template", default=DEFAULT_TEMPLATE)
    make.add_argument("--no-notify", action="store_true", help="do not publish on NATS")
    make.add_argument("--now", default=None, help=argparse.SUPPRESS)
    make.set_defaults(func=cmd_snapshots_make)


def _unit_args(parser: argparse.ArgumentParser, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--commune", metavar="CODE", help="commune code (5 digits)")
    group.add_argument("--province", metavar="CODE", help="province code (2 digits)")


# --- argument checks ----------------------------------------------------------------


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def registry_of(app: CommandContext) -> UnitRegistry:
    try:
        return app.registry
    except RegistryError as exc:
        raise UsageError(_one_line(exc)) from exc


def unit_of(args: argparse.Namespace, registry: UnitRegistry) -> dict[str, str]:
    kind, code = ("commune", args.commune) if args.commune else ("province", args.province)
    try:
        return unit_info(registry, kind, str(code))
    except UnknownUnit as exc:
        raise UsageError(_one_line(exc)) from exc


def period_of(label: str, calendar: str) -> Period:
    try:
        return parse_period(label, calendar)
    except PeriodError as exc:
        raise UsageError(_one_line(exc)) from exc


def now_of(args: argparse.Namespace) -> int:
    if getattr(args, "now", None):
        try:
            return parse_rfc3339(args.now)
        except TimestampError as exc:
            raise UsageError(f"--now: {exc}") from exc
    return now_instant()


def template_of(ref: str):  # type: ignore[no-untyped-def]
    try:
        return load_template(ref)
    except TemplateError as exc:
        raise UsageError(_one_line(exc)) from exc


def default_report_path(settings: Settings, appendix: dict[str, Any], fmt: str) -> Path:
    """TTHC_DATA_DIR/reports/<kind>-<code>-<label>-<template>.<ext>, always inside reports/."""
    unit, period = appendix["unit"], appendix["period"]
    stem = "-".join((unit["kind"], unit["code"], period["label"], appendix["template"]["name"]))
    base = inside(Path(settings.data_dir), "reports")
    path = (base / f"{safe_part(stem, 160)}.{EXTENSIONS[fmt]}").resolve()
    if path.parent != base:
        raise UsageError("refusing a report path outside TTHC_DATA_DIR/reports")
    return path


# --- appendix -------------------------------------------------------------------------


def cmd_appendix(args: argparse.Namespace, app: CommandContext) -> int:
    settings = app.settings
    registry = registry_of(app)
    unit = unit_of(args, registry)
    period = period_of(args.period, args.calendar or settings.calendar)
    template = template_of(args.template)
    now = now_of(args)
    request = FiguresRequest(
        unit["kind"],
        unit["code"],
        period.start_instant,
        period.end_instant,
        now,
        with_communes=unit["kind"] == "province",
    )

    async def go():  # type: ignore[no-untyped-def]
        async with opened(app.figures_source()) as source:
            return await fetch(source, request)

    try:
        reply = asyncio.run(go())
    except FiguresUnavailable as exc:
        print(f"tthc: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    appendix = build_appendix(unit, period, reply, template, now, registry)
    data = render(appendix, args.format)
    if args.out:
        out = Path(args.out).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        print(str(out), file=sys.stderr if args.format not in BINARY_FORMATS else sys.stdout)
    elif args.format in BINARY_FORMATS:
        path = default_report_path(settings, appendix, args.format)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(str(path))
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    log.info("appendix_made", unit=unit["code"], period=period.label, format=args.format)
    return 0


# --- snapshots ------------------------------------------------------------------------


def _store(settings: Settings) -> SnapshotStore:
    return SnapshotStore.for_data_dir(Path(settings.data_dir))


def _unit_key(args: argparse.Namespace, registry: UnitRegistry) -> tuple[str, str]:
    unit = unit_of(args, registry)
    return unit["kind"], unit["code"]


def _print_json(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def cmd_snapshots_list(args: argparse.Namespace, app: CommandContext) -> int:
    settings = app.settings
    kind = "commune" if args.commune else "province" if args.province else None
    code = args.commune or args.province
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
    kind, code = _unit_key(args, registry_of(app))
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
    settings = app.settings
    registry = registry_of(app)
    period = period_of(args.period, settings.calendar)
    if period.kind == "range":
        raise UsageError(
            "snapshots are made for named periods (YYYY-MNN, YYYY-QN, ...), not ranges"
        )
    only = _unit_key(args, registry) if (args.commune or args.province) else None
    template = template_of(args.template)
    now = now_of(args)
    store = _store(settings)

    async def go():  # type: ignore[no-untyped-def]
        async with opened(app.figures_source()) as source:
            results = await make_period_snapshots(
                period, source, store, registry, template, now, only
            )
        if not args.no_notify:
            from services.reporter.service import publish_notifications

            await publish_notifications(settings, [r for r, created in results if created])
        return results

    try:
        results = asyncio.run(go())
    except FiguresUnavailable as exc:
        print(f"tthc: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    if not results:
        print(f"no data for period {period.label}: nothing frozen")
    for record, created in results:
        unit = record["unit"]
        state = "new revision" if created else "unchanged"
        print(
            f"{unit['kind']:<9} {unit['code']:<6} {period.label} "
            f"r{record['revision']} {state} {record['path']}"
        )
    return 0
