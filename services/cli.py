"""The `tthc` command: parses arguments and hands each command the composition root.

Each part contributes its own subcommands from its `cli.py` (`register(subparsers)`),
so services stay independent; this module only wires them. Every command function is
called as `func(args, app)` with `app` the `services.bootstrap.App` (settings, the unit
registry, the figures source), and returns its exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from services.bootstrap import SERVICES, App
from shared.errors import Unavailable, UsageError
from shared.logging import configure_logging
from shared.opsmetrics import package_version
from shared.runtime import StartFailed
from shared.settings import SETTINGS_DOC, Settings

# Modules that add subcommands; each has `register(subparsers) -> None`.
COMMAND_MODULES = (
    "services.intake.cli",
    "services.aggregator.cli",
    "services.ops.cli",
    "services.reporter.cli",
    "services.simulator.cli",
    "services.demo.cli",
)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2 (the contract's CLI rule)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _env_epilog() -> str:
    lines = ["configuration (environment variables):"]
    for name, default, meaning in SETTINGS_DOC:
        lines.append(f"  {name:<30} {meaning} [default: {default}]")
    return "\n".join(lines)


def build_parser() -> Parser:
    parser = Parser(
        prog="tthc",
        description=(
            "Case tracking for one-stop desks (bộ phận một cửa): takes desk software's "
            "case events from NATS JetStream, keeps exact figures per commune and period, "
            "and produces the period-end statistical appendix (phụ lục thống kê)."
        ),
        epilog=_env_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"tthc {package_version()}",
        help="print the installed version (as in tthc_build_info) and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    run = sub.add_parser(
        "run",
        help="run services in the foreground until SIGTERM/SIGINT",
        description=(
            "Run one service, or all three (each in a process of its own, supervised: a "
            "child that dies is started again), in the foreground, logging to standard "
            "error. SIGTERM or SIGINT stops them cleanly: the batch in hand is committed "
            "and acknowledged, or left unacknowledged for redelivery, never half-done."
        ),
    )
    run.add_argument("which", choices=("all", *SERVICES), help="which service to run")
    run.set_defaults(func=_cmd_run)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def run_event_loop(coro):  # type: ignore[no-untyped-def]
    """Run the services' coroutine on uvloop where installed (a third faster on the NATS
    paths, docs/performance.md), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.run(coro)
    return uvloop.run(coro)


def _cmd_run(args: argparse.Namespace, app: App) -> int:
    import structlog

    from shared.runtime import run_until_signalled, tune_gc

    if args.which == "all":
        from services.supervisor import supervise

        structlog.contextvars.bind_contextvars(service="supervisor")
        return int(asyncio.run(supervise(SERVICES)))
    structlog.contextvars.bind_contextvars(service=args.which)
    services = app.services((args.which,))
    tune_gc()
    run_event_loop(run_until_signalled(services, start_timeout=app.settings.start_timeout_seconds))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"tthc: error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        return int(args.func(args, App(settings)) or 0)
    except UsageError as exc:
        print(f"tthc: error: {exc}", file=sys.stderr)
        return 2
    except (Unavailable, StartFailed) as exc:
        print(f"tthc: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from services.ops.failures import failure_line

        line = failure_line(exc, settings)
        if line is None:
            raise
        print(f"tthc: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
