"""Running services in the foreground until SIGTERM or SIGINT, then stopping cleanly.

`run_services` is the one lifecycle of `tthc run` and `tthc demo`: start the services
in order, run until a signal (or until the caller's `main` coroutine is done), then
stop them in reverse order, each given a bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from shared.logging import get_logger

log = get_logger("tthc.runtime")

T = TypeVar("T")
STOP_TIMEOUT = 40.0  # seconds a service may take to stop


class Service(Protocol):
    """What `tthc run` needs of a service.

    `start` connects, creates what is absent (streams, consumers, tables) and begins
    work, returning once running. `stop` stops taking messages, finishes or abandons
    (unacknowledged) the batch in hand, and closes connections.
    """

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived before `main` was done."""


class StartFailed(Exception):
    """A service could not start within the bounded wait; the message says why."""


async def start_or_stop(service: Service, stop: asyncio.Event, timeout: float) -> bool:
    """Start a service, unless a stop comes first (False) or `timeout` passes
    (`StartFailed`): a service waiting for an unreachable broker still answers SIGTERM."""
    starting = asyncio.ensure_future(service.start())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {starting, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopping.cancel()
    if starting in done:
        starting.result()  # a start that failed raises here
        return True
    await cancel_firmly(starting)
    if stop.is_set():
        log.info("start_abandoned", service=service.name, reason="stop requested")
        return False
    raise StartFailed(
        f"{service.name} could not start within {timeout:.0f} s (is NATS reachable at "
        "TTHC_NATS_URL, the database at TTHC_DATABASE_URL?)"
    )


CANCEL_RETRY_SECONDS = 0.05
CANCEL_GIVE_UP_SECONDS = 10.0


async def cancel_firmly(
    task: asyncio.Future, give_up_after: float = CANCEL_GIVE_UP_SECONDS
) -> None:
    """Cancel `task` and wait until it is done, cancelling again while it runs on.

    One `cancel()` is not enough for a task inside nats-py's first connect. On Python
    3.11, `asyncio.wait_for` returns the inner result when a cancellation lands just as
    the inner future finishes. When the inner future is a refused TCP connect, the
    "result" is the OSError, and nats-py's retry loop catches it and tries again, so the
    cancellation is lost and the task retries for ever. Measured with 300 connects
    cancelled at random moments: 4 lost (a script), then 7 lost
    (tests/integration/test_start_cancel.py with a single cancel put back). A service
    waiting for an unreachable broker then ignored SIGTERM. Cancelling again every 50 ms
    lands in the retry's sleep. After `give_up_after` seconds the task is logged and left
    (the process is stopping)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    attempts = 0
    while not task.done():
        if loop.time() >= deadline:
            log.error("task_ignored_cancel", attempts=attempts)
            return
        task.cancel()
        attempts += 1
        await asyncio.wait({task}, timeout=CANCEL_RETRY_SECONDS)
    if attempts > 1:
        log.info("task_cancelled_again", attempts=attempts)
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.result()  # retrieved, so asyncio does not log it as never retrieved


def tune_gc() -> None:
    """Cheaper garbage collection for a long-running service process.

    Everything imported and built at start-up is moved out of the collector's sight
    (`gc.freeze`), and the youngest generation is collected every 10,000 allocations
    instead of 700: a batch allocates tens of thousands of short-lived objects, and with
    the defaults the collector ran hundreds of times per batch, each time walking the
    case cache's events (measured: a sixth of the aggregator's CPU per event,
    docs/performance.md). Reference cycles are still collected, a little later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


async def run_services(
    services: Sequence[Service],
    main: Callable[[], Awaitable[T]] | None = None,
    stop: asyncio.Event | None = None,
    start_timeout: float = 60.0,
) -> T | None:
    """Start the services; wait for SIGTERM/SIGINT, `stop`, or `main()` to finish; stop them.

    Returns what `main` returned (None without one); raises `Interrupted` when a signal
    came first, after stopping everything.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signalled = False

    def on_signal() -> None:
        nonlocal signalled
        signalled = True
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, on_signal)
    started: list[Service] = []
    work: asyncio.Task[T] | None = None
    try:
        for service in services:
            if stop.is_set():
                break
            started.append(service)  # stopped on the way out, even half-started
            if not await start_or_stop(service, stop, start_timeout):
                break
            log.info("service_started", service=service.name)
        waiter = asyncio.ensure_future(stop.wait())
        pending: set[asyncio.Future] = {waiter}
        if main is not None and not stop.is_set():
            work = asyncio.ensure_future(main())
            pending.add(work)
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        log.info("stopping", services=[s.name for s in started])
        if work is not None and not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        if signalled:
            raise Interrupted()
        return work.result() if work is not None and not work.cancelled() else None
    finally:
        await stop_all(started)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def stop_all(started: Sequence[Service]) -> None:
    """Stop services in reverse order; one failing or hanging stop never keeps the others."""
    for service in reversed(started):
        try:
            await asyncio.wait_for(service.stop(), timeout=STOP_TIMEOUT)
            log.info("service_stopped", service=service.name)
        except Exception as exc:
            log.error("service_stop_failed", service=service.name, error=type(exc).__name__)


async def run_until_signalled(
    services: Sequence[Service], stop: asyncio.Event | None = None, start_timeout: float = 60.0
) -> None:
    """`run_services` without a main coroutine: until SIGTERM/SIGINT or `stop`."""
    with contextlib.suppress(Interrupted):
        await run_services(services, stop=stop, start_timeout=start_timeout)
