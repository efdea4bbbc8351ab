"""`tthc run all`: each service in a process of its own, supervised.

The three services share nothing but NATS and the database, so running them as
processes uses every core (one process cannot: Python runs one thread at a time). The
supervisor starts `tthc run intake`, `tthc run aggregator` and `tthc run reporter` the
way it was started itself (so a launcher that wraps `tthc` wraps the children too),
with the same environment and the same standard error (one log stream; each line names
its `service`), and then:

- a child that exits by itself is started again, after a pause that grows from 1 s to
  30 s while it keeps failing (a child that stayed up a minute starts from 1 s again);
- SIGTERM or SIGINT is passed to every child; each finishes or gives back its batch and
  exits; one that has not after `STOP_TIMEOUT` seconds is killed;
- the children die with the supervisor, even when it is killed (kill -9): Linux's
  parent-death signal, so no orphan keeps consuming.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import sys
import time
from collections.abc import Sequence

from shared.logging import get_logger

log = get_logger("tthc.supervisor")

STOP_TIMEOUT = 40.0
RESTART_FIRST, RESTART_MAX, STABLE_SECONDS = 1.0, 30.0, 60.0
_PR_SET_PDEATHSIG = 1


def child_argv(name: str) -> list[str]:
    """The command of one child: this process's own command with `all` replaced."""
    argv = list(getattr(sys, "orig_argv", []))
    if len(argv) >= 3 and argv[-2:] == ["run", "all"]:
        return [*argv[:-1], name]
    return [sys.executable, "-m", "services.cli", "run", name]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Child:
    """One supervised service process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.pause = RESTART_FIRST
        self.starts = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *child_argv(self.name),
            stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.started_at = time.monotonic()
        self.starts += 1
        log.info("child_started", child=self.name, pid=self.process.pid, start=self.starts)

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)


async def supervise(names: Sequence[str], stop: asyncio.Event | None = None) -> int:
    """Run the children until SIGTERM/SIGINT (or `stop`); 0 when every child stopped cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    children = [Child(name) for name in names]
    try:
        for child in children:
            await child.start()
        watchers = [asyncio.create_task(_keep(child, stop)) for child in children]
        await stop.wait()
        log.info("stopping", children=[c.name for c in children])
        codes = await asyncio.gather(*(_stop(child) for child in children))
        for watcher in watchers:
            watcher.cancel()
        return 0 if all(code == 0 for code in codes) else 1
    finally:
        for child in children:
            child.signal(signal.SIGKILL)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def _keep(child: Child, stop: asyncio.Event) -> None:
    """Start the child again whenever it exits by itself."""
    while not stop.is_set():
        assert child.process is not None
        code = await child.process.wait()
        if stop.is_set():
            return
        up = time.monotonic() - child.started_at
        if up >= STABLE_SECONDS:
            child.pause = RESTART_FIRST
        log.error("child_exited", child=child.name, code=code, up_seconds=round(up, 1),
                  restart_in=child.pause)  # fmt: skip
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=child.pause)
        if stop.is_set():
            return
        child.pause = min(child.pause * 2, RESTART_MAX)
        await child.start()


async def _stop(child: Child) -> int:
    """SIGTERM, wait, and the exit status (0 for a child already gone: its exit was
    logged when it happened, and it would have been started again)."""
    process = child.process
    if process is None or process.returncode is not None:
        return 0
    child.signal(signal.SIGTERM)
    try:
        code = await asyncio.wait_for(process.wait(), timeout=STOP_TIMEOUT)
    except TimeoutError:
        log.error("child_killed", child=child.name, after_seconds=STOP_TIMEOUT)
        child.signal(signal.SIGKILL)
        code = await process.wait()
    log.info("child_stopped", child=child.name, code=code)
    return code

