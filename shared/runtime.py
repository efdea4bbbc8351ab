"""Running services in the foreground until SIGTERM or SIGINT, then stopping cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from typing import Protocol

from shared.logging import get_logger

log = get_logger("tthc.runtime")


class Service(Protocol):
    """What `tthc run` needs of a service.

    `start` connects, creates what is absent (streams, consumers, tables) and begins
    work, returning once running. `stop` stops taking messages, finishes or abandons
    (unacknowledged) the batch in hand, and closes connections.
    """

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def run_until_signalled(
    services: Sequence[Service], stop: asyncio.Event | None = None
) -> None:
    """Start the services, wait for SIGTERM/SIGINT (or `stop`), stop them in reverse order."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    started: list[Service] = []
    try:
        for service in services:
            await service.start()
            started.append(service)
            log.info("service_started", service=service.name)
        await stop.wait()
        log.info("stopping", services=[s.name for s in started])
    finally:
        for service in reversed(started):
            try:
                await service.stop()
                log.info("service_stopped", service=service.name)
            except Exception:  # one failing stop must not keep the others running
                log.exception("service_stop_failed", service=service.name)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
