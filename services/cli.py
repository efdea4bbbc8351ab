"""The `tthc` command: the composition root of the project.

Each service contributes its own subcommands from `services/<service>/cli.py`
(`register(subparsers)`), so services stay independent; this module only wires them.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from shared.errors import UsageError
from shared.logging import configure_logging
from shared.settings import SETTINGS_DOC, Settings

SERVICES = ("intake", "aggregator", "reporter")
# Modules that add subcommands; each has `register(subparsers) -> None`.
COMMAND_MODULES = (
    "services.intake.cli",
    "services.aggregator.cli",
    "services.reporter.cli",
    "services.simulator.cli",
    "services.demo",
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    run = sub.add_parser(
        "run",
        help="run services in the foreground until SIGTERM/SIGINT",
        description=(
            "Run one service or all three in this process, in the foreground. "
            "SIGTERM or SIGINT stops them cleanly: the batch in hand is committed and "
            "acknowledged, or left unacknowledged for redelivery, never half-done."
        ),
    )
    run.add_argument("which", choices=("all", *SERVICES), help="which service to run")
    run.set_defaults(func=_cmd_run)

    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part is not built yet
            raise
        module.register(sub)
    return parser


def figures_source_factory(settings: Settings):
    """The figures source of commands run outside the services (`tthc appendix`, the demo).

    The composition root may use the aggregator's in-process, read-only query module;
    the reporter service itself asks the running aggregator over NATS instead.
    """
    from services.aggregator.queries import LocalFiguresSource

    return LocalFiguresSource(settings)


def _build_service(name: str, settings: Settings):
    module = importlib.import_module(f"services.{name}.service")
    return module.build(settings)


def run_event_loop(coro):
    """Run the services' coroutine on uvloop where installed (a third faster on the NATS
    paths, docs/performance.md), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.run(coro)
    return uvloop.run(coro)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from shared.runtime import run_until_signalled

    names = SERVICES if args.which == "all" else (args.which,)
    services = [_build_service(name, settings) for name in names]
    run_event_loop(run_until_signalled(services))
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
    args.figures_source_factory = figures_source_factory
    try:
        return int(args.func(args, settings) or 0)
    except UsageError as exc:
        print(f"tthc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
