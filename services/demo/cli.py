"""`tthc demo`: its arguments, and a local nats-server when none is reachable."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from services.bootstrap import App
from services.demo.plan import make_plan
from services.demo.run import note, run_demo
from services.simulator.generate import DEFAULT_SEED
from shared.natsserver import (
    INSTALL_HINT,
    LocalNatsServer,
    NatsServerNotFound,
    find_nats_server,
    free_port,
    is_reachable,
)
from shared.settings import Settings, redact_url


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the main job: local NATS if needed, all services, realistic traffic, appendix",
        description=(
            "Run the whole pipeline on this machine: start a local nats-server under "
            "TTHC_DATA_DIR when none is reachable at TTHC_NATS_URL, run intake, aggregator "
            "and reporter, publish realistic desk traffic, wait until every event is in "
            "the figures, check that it is, and print the appendix of a commune and of its "
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


def cmd_demo(args: argparse.Namespace, app: App) -> int:
    settings = app.settings
    plan = make_plan(args, app.registry, settings.calendar, datetime.now(UTC))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server: LocalNatsServer | None = None
    if is_reachable(settings.nats_url):
        note(f"using the NATS server at {redact_url(settings.nats_url)}")
    else:
        try:
            find_nats_server()
        except NatsServerNotFound:
            print(
                f"tthc demo: no NATS server at {redact_url(settings.nats_url)}. {INSTALL_HINT}",
                file=sys.stderr,
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
                App(settings, app.registry),
                keep_running=args.keep_running,
                timeout=args.timeout,
                verbose=args.verbose,
            )
        )
    finally:
        if server is not None:
            server.stop()
            note("stopped the local nats-server")
