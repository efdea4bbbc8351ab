"""`tthc appendix` (and, from cli_snapshots.py, `tthc snapshots list|show|diff|make`).

Figures source. Every command gets the composition root's context (shared/context.py):
its `settings`, its `registry` and `figures_source()`, either an async context manager
yielding an object with `async figures(request)`, or an object with `async
figures(FiguresRequest) -> FiguresReply` and an optional `close()` (plain or async)
called once the command is done. A reply with `error` set is a failure (exit status
1). Tests hand in a fake context the same way.

Output files. `--format json` (default), `csv` and `text` print to standard output
unless `--out PATH` is given. `xlsx` and `docx` are binary: without `--out` they are
written to `TTHC_DATA_DIR/reports/<kind>-<code>-<period>-<template>.<ext>` (every part
sanitised, the result checked to lie inside that directory) and the path is printed.

Bad arguments (unknown commune or province, malformed period or agency, unknown format
or template, a bad values or deployment file, ...) exit with status 2 and one line on
standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from services.reporter import cli_snapshots
from services.reporter.appendix import Presentation
from services.reporter.compose import BadAgency, appendix_from, checked_agency
from services.reporter.deployment import DeploymentError, load_deployment
from services.reporter.document import DocDate, DocumentError, DocumentOptions
from services.reporter.figsource import FiguresUnavailable, opened
from services.reporter.office import (
    OfficeValuesError,
    load_values_file,
    parse_assignments,
    values_for,
)
from services.reporter.paths import inside, safe_part
from services.reporter.render import BINARY_FORMATS, EXTENSIONS, FORMATS, render
from services.reporter.templates import DEFAULT_TEMPLATE, TemplateError, load_template
from services.reporter.units import UnknownUnit, unit_info
from shared.context import CommandContext
from shared.domain.periods import Period, PeriodError, parse_period
from shared.domain.timeutil import TimestampError, now_instant, parse_rfc3339
from shared.errors import UsageError
from shared.logging import get_logger
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
            "period: JSON (default, to stdout), CSV (UTF-8 with BOM), text, XLSX or DOCX. "
            "XLSX/DOCX without --out go to TTHC_DATA_DIR/reports/ and the path is printed."
        ),
    )
    unit_args(p, required=True)
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
    p.add_argument(
        "--agency",
        default="ubnd",
        help="whose dossiers: ubnd (default, the People's Committee), another agency's slug "
        "(cong_an, quan_su, ...) or all",
    )
    p.add_argument("--format", choices=FORMATS, default="json", help="output format (default json)")
    p.add_argument(
        "--out", default=None, help="write to this file instead of stdout / the reports directory"
    )
    p.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        help=f"form: a built-in name or a template file path (default {DEFAULT_TEMPLATE})",
    )
    document_args(p)
    p.add_argument("--now", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_appendix)
    cli_snapshots.register(subparsers)


def unit_args(parser: argparse.ArgumentParser, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--commune", metavar="CODE", help="commune code (5 digits)")
    group.add_argument("--province", metavar="CODE", help="province code (2 digits)")


def document_args(p: argparse.ArgumentParser) -> None:
    """Options that dress the document (office values, date, number, thuyết minh)."""
    p.add_argument(
        "--values",
        metavar="FILE",
        default=None,
        help="office-supplied values (default: TTHC_VALUES_FILE); docs/templates.md",
    )
    p.add_argument(
        "--value",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="one office-supplied value, e.g. tthc_dang_ap_dung=139 (repeatable)",
    )
    p.add_argument(
        "--date", default=None, help="the document's date, YYYY-MM-DD (YYYY-MM: day left blank)"
    )
    p.add_argument(
        "--report-number",
        default=None,
        help="number of the report the appendix goes with, e.g. 15/BC-UBND",
    )
    p.add_argument(
        "--report-date", default=None, help="that report's date (default: the document's date)"
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="also print the optional tables (thuyết minh) in XLSX/DOCX",
    )


# --- argument checks ----------------------------------------------------------------


def one_line(message: object) -> str:
    return " ".join(str(message).split())


def registry_of(app: CommandContext) -> UnitRegistry:
    try:
        return app.registry
    except RegistryError as exc:
        raise UsageError(one_line(exc)) from exc


def unit_of(args: argparse.Namespace, registry: UnitRegistry) -> dict[str, str]:
    kind, code = ("commune", args.commune) if args.commune else ("province", args.province)
    try:
        return unit_info(registry, kind, str(code))
    except UnknownUnit as exc:
        raise UsageError(one_line(exc)) from exc


def period_of(label: str, calendar: str) -> Period:
    try:
        return parse_period(label, calendar)
    except PeriodError as exc:
        raise UsageError(one_line(exc)) from exc


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
        raise UsageError(one_line(exc)) from exc


def presentation_of(
    args: argparse.Namespace, settings: Settings, unit: dict[str, str], period: Period
) -> Presentation:
    """Office values, document date and number, deployment file: checked, one line if not."""
    try:
        path = getattr(args, "values", None) or settings.values_file
        entries = load_values_file(path) if path else []
        overrides = parse_assignments(getattr(args, "value", None) or [])
        office = values_for(entries, unit["code"], period.label, overrides)
        when = DocDate.parse(args.date) if getattr(args, "date", None) else None
        report_date = (
            DocDate.parse(args.report_date) if getattr(args, "report_date", None) else None
        )
        deployment = load_deployment(settings.deployment_file)
    except (OfficeValuesError, DocumentError, DeploymentError) as exc:
        raise UsageError(one_line(exc)) from exc
    options = DocumentOptions(when, getattr(args, "report_number", None), report_date)
    return Presentation(office, options, deployment, bool(getattr(args, "explain", False)))


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


def warn_about_the_data(appendix) -> None:  # type: ignore[no-untyped-def]
    """Standard error says when the figures rest on no data at all, or are incomplete."""
    if not (appendix.watermark or {}).get("accepted_events"):
        print(
            "tthc appendix: warning: the aggregator's database holds no events at all "
            "(is TTHC_DATABASE_URL the right database? has the aggregator run?): "
            "every figure is 0",
            file=sys.stderr,
        )
    if not appendix.complete:
        detail = appendix.completeness.get("detail") or "accepted events are missing"
        print(f"tthc appendix: warning: the figures are incomplete: {detail}", file=sys.stderr)


def cmd_appendix(args: argparse.Namespace, app: CommandContext) -> int:
    settings = app.settings
    registry = registry_of(app)
    unit = unit_of(args, registry)
    period = period_of(args.period, args.calendar or settings.calendar)
    try:
        agency = checked_agency(args.agency)
    except BadAgency as exc:
        raise UsageError(one_line(exc)) from exc
    template = template_of(args.template)
    look = presentation_of(args, settings, unit, period)
    now = now_of(args)

    async def go():  # type: ignore[no-untyped-def]
        async with opened(app.figures_source()) as source:
            appendix, _ = await appendix_from(
                source, registry, unit, period, template, now, agency, look
            )
            return appendix

    try:
        appendix = asyncio.run(go())
    except FiguresUnavailable as exc:
        print(f"tthc: error: {one_line(exc)}", file=sys.stderr)
        return 1
    warn_about_the_data(appendix)
    data = render(appendix, args.format)
    if args.out:
        out = Path(args.out).expanduser()
        if not out.parent.is_dir():
            raise UsageError(f"--out: the folder {out.parent} does not exist; create it first")
        out.write_bytes(data)
        print(str(out), file=sys.stderr if args.format not in BINARY_FORMATS else sys.stdout)
    elif args.format in BINARY_FORMATS:
        path = default_report_path(settings, appendix.to_json(), args.format)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(str(path))
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    log.info("appendix_made", unit=unit["code"], period=period.label, format=args.format)
    return 0
