"""Snapshots rendered in worker processes, so a period-end run uses every core.

Freezing a unit's snapshot is mostly rendering its forms (openpyxl, python-docx: about
0.6 s for a commune's three forms as XLSX and DOCX, 3 s for a province), pure Python
that threads would run on one core. `RenderWorkers` keeps TTHC_RENDER_WORKERS processes,
each with the registry, the forms and their dress, writing into the same snapshot store
(its lock file keeps writers apart; rendering happens outside the lock).

How it behaves (docs/operations.md, "Render workers"):

- Lazy: the processes start on the first period-end run with data to freeze, not when
  the reporter starts.
- Started with `spawn` (the reporter has threads).
- A worker that dies (killed, out of memory) costs no snapshot: every unit it was to
  freeze is frozen in the reporter's own thread, and the pool is started again on the
  next run.
- A worker never outlives the reporter: it ignores SIGINT (the reporter stops it) and
  exits within a second once its parent is gone, even after a SIGKILL.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.childproc import become_child, spawn_context, stop_executor
from shared.domain.events import Instant
from shared.domain.periods import Period
from shared.logging import get_logger
from shared.ports import FiguresReply
from shared.registry import UnitRegistry

log = get_logger("tthc.reporter")

# --- in the worker process -----------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(
    root: str, registry: UnitRegistry, sources: tuple[str, ...], dress: Any, parent: int
) -> None:
    become_child(parent)  # ignores SIGINT; exits once the reporter is gone
    from services.reporter.snapshot_store import SnapshotStore
    from services.reporter.templates import load_template

    _worker.update(store=SnapshotStore(Path(root)), registry=registry, dress=dress)
    # A template holds its rules as closures (not picklable): read again from its file.
    _worker["templates"] = tuple(load_template(source) for source in sources)


def _ready() -> int:
    return os.getpid()


def _freeze_in_worker(
    kind: str, code: str, period: Period, reply_json: bytes, now: Instant
) -> tuple[dict[str, Any], bool]:
    from services.reporter.snapshots import freeze_unit

    reply = FiguresReply.from_json(reply_json)
    w = _worker
    return freeze_unit(
        w["store"], w["registry"], w["templates"], w["dress"], kind, code, period, reply, now
    )


# --- in the reporter -----------------------------------------------------------------


class RenderWorkers:
    """TTHC_RENDER_WORKERS processes freezing one unit's snapshot at a time each."""

    def __init__(
        self,
        size: int,
        root: Path,
        registry: UnitRegistry,
        templates: Sequence[Any],
        dress: Any,
    ) -> None:
        if size < 1:
            raise ValueError("RenderWorkers needs at least one worker")
        self.size, self.root, self.registry = size, Path(root), registry
        self.sources = tuple(getattr(t, "source", "") for t in templates)
        self.dress = dress
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        """Start the workers if they are not running, and wait until each has started
        (about a second; it blocks: call it from a thread). A start that fails is logged
        and leaves the run to the thread."""
        with self._lock:
            if self._closed or self._executor is not None:
                return
            unreadable = [s for s in self.sources if not Path(s).is_file()]
            if unreadable:  # a template made in memory: the worker could not read it
                self._closed = True
                log.warning(
                    "render_workers_unused",
                    reason=f"template not in a file: {unreadable[0]}",
                    hint="snapshots are frozen in the reporter's thread",
                )
                return
            executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.size,
                mp_context=spawn_context(),
                initializer=_start_worker,
                initargs=(
                    str(self.root),
                    self.registry,
                    self.sources,
                    self.dress,
                    os.getpid(),
                ),
            )
            self._executor = executor
        try:
            for started in [executor.submit(_ready) for _ in range(self.size)]:
                started.result()
        except Exception as exc:
            self.lost(exc, executor)

    def submit(
        self, kind: str, code: str, period: Period, reply: FiguresReply, now: Instant
    ) -> concurrent.futures.Future | None:
        """The future (record, created) of the unit frozen in a worker, or None when no
        worker runs (not started, or lost): freeze it in the thread."""
        with self._lock:
            executor = self._executor
        if executor is None:
            return None
        try:
            return executor.submit(_freeze_in_worker, kind, code, period, reply.to_json(), now)
        except RuntimeError as exc:  # broken or shut down meanwhile
            self.lost(exc, executor)
            return None

    def lost(
        self,
        exc: BaseException,
        executor: concurrent.futures.ProcessPoolExecutor | None = None,
    ) -> None:
        """A worker broke: stop the pool (its units go to the thread; started again on
        the next run). `executor`: only if it is still the current one."""
        with self._lock:
            current = self._executor
            if current is None or (executor is not None and executor is not current):
                return
            self._executor = None
        log.warning(
            "render_worker_lost",
            reason=f"{type(exc).__name__}: {exc}"[:300],
            hint="the rest of this run is frozen in the reporter's thread; the workers "
            "start again on the next run",
        )
        stop_executor(current)

    def pids(self) -> list[int]:
        """The pids of the running workers (for tests and `ps`)."""
        with self._lock:
            executor = self._executor
        processes = (getattr(executor, "_processes", None) or {}) if executor else {}
        return sorted(p.pid for p in list(processes.values()) if p.pid is not None)

    def close(self) -> None:
        """Stop every worker (units in flight fail with BrokenProcessPool or CancelledError)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            stop_executor(executor)
