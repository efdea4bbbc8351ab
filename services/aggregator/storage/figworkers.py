"""Figures read in worker processes, so a period-end run uses every core.

A figures request is pure Python once its rows are read (the fold of the grouped rows,
the rich cases, the reply's JSON), so threads share one core. `FiguresWorkers` keeps
TTHC_FIGURES_WORKERS reader processes, each with its own engine and figures cache
(`figcache.py`). Every province belongs to one worker, and so do its communes: the
reporter asks each province with its communes first, then each commune, which that
worker answers from its cache. Provinces are dealt out by their number of communes,
largest first, to the worker with the fewest so far.

How it behaves (docs/operations.md, "Figures workers"):

- Lazy: nothing starts until the first province request. Until a worker has started
  (about a second), requests are answered in the aggregator's own thread as without
  workers, so nothing waits for a start.
- Started with `spawn` (the aggregator has threads; a fork would copy their locks).
- A worker that dies (killed, out of memory) costs no request: the one it held is
  answered in the thread, and the worker is started again on a later request.
- A worker never outlives the aggregator: it ignores SIGINT (the aggregator stops it)
  and exits within a second once its parent is gone, even after a SIGKILL.

Each reply is JSON bytes made in the worker, sent on unchanged by the query server.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from services.aggregator.storage.engine import describe_error
from shared.childproc import become_child, spawn_context, stop_executor
from shared.logging import get_logger
from shared.ports import FiguresReply, FiguresRequest, request_from_json
from shared.registry import UnitRegistry

log = get_logger("tthc.aggregator")

RESTART_AFTER_SECONDS = 30.0  # a worker that failed to start is tried again after this


def answer_figures(
    engine: Engine | None, registry: UnitRegistry, request: FiguresRequest
) -> tuple[bytes, str | None, str]:
    """The JSON reply to a request, the failure to log (or None), and the unit.

    A query that fails is answered with the reply's `error`."""
    from services.aggregator.storage.queries import figures_for

    try:
        reply = figures_for(engine, registry, request)
    except Exception as exc:
        failure = describe_error(exc)
        reply = FiguresReply({}, {}, {}, error=f"figures failed: {failure}")
        return reply.to_json(), failure, request.unit_code
    return reply.to_json(), None, request.unit_code


# --- in the worker process -----------------------------------------------------------

_worker: dict[str, Any] = {}


def _start_worker(database_url: str, registry: UnitRegistry, cache_mib: int, parent: int) -> None:
    become_child(parent)  # ignores SIGINT; exits once the aggregator is gone
    from services.aggregator.storage.engine import make_engine

    _worker["engine"] = make_engine(database_url, cache_mib=cache_mib)
    _worker["registry"] = registry


def _ready() -> int:
    return os.getpid()


def _answer_in_worker(body: bytes) -> tuple[bytes, str | None, str]:
    # The request's JSON, which the query server decoded already (a few bytes to send).
    return answer_figures(_worker["engine"], _worker["registry"], request_from_json(body))


# --- in the aggregator ---------------------------------------------------------------


@dataclass
class _Worker:
    executor: concurrent.futures.ProcessPoolExecutor | None = None
    started: concurrent.futures.Future | None = None  # of `_ready`: the worker's pid
    starting: bool = False  # being spawned (in a thread)
    failed_at: float = float("-inf")  # when it last failed (monotonic)
    provinces: list[str] = field(default_factory=list)


def deal_provinces(registry: UnitRegistry, workers: int) -> dict[str, int]:
    """Province code -> worker index: largest first, each to the least loaded worker."""
    load = [0] * workers
    owner: dict[str, int] = {}
    sizes = sorted(
        ((len(registry.communes_of(code)), code) for code in registry.provinces),
        key=lambda item: (-item[0], item[1]),
    )
    for size, code in sizes:
        index = min(range(workers), key=lambda i: (load[i], i))
        owner[code] = index
        load[index] += max(size, 1)
    return owner


class FiguresWorkers:
    """TTHC_FIGURES_WORKERS reader processes answering figures requests (JSON in, out)."""

    def __init__(
        self,
        database_url: str,
        registry: UnitRegistry,
        workers: int,
        cache_mib: int = 16,
    ) -> None:
        if workers < 1:
            raise ValueError("FiguresWorkers needs at least one worker")
        self.database_url, self.registry, self.cache_mib = database_url, registry, cache_mib
        self.owner = deal_provinces(registry, workers)
        self.workers = [_Worker() for _ in range(workers)]
        for code, index in sorted(self.owner.items()):
            self.workers[index].provinces.append(code)
        self._lock = threading.Lock()
        self._closed = False

    def worker_of(self, request: FiguresRequest) -> int | None:
        """The index of the worker owning the request's unit, or None (an unknown unit)."""
        if request.unit_kind == "province":
            return self.owner.get(request.unit_code)
        if request.unit_kind == "commune" and request.unit_code in self.registry:
            return self.owner.get(self.registry.province_of(request.unit_code) or "")
        return None

    def _start(self, worker: _Worker) -> None:
        """Start a worker in the background: spawning it blocks for about half a second
        (the registry is written to the new process through a pipe)."""
        worker.starting = True
        threading.Thread(
            target=self._spawn, args=(worker,), name="figures-worker-start", daemon=True
        ).start()

    def _spawn(self, worker: _Worker) -> None:
        executor = None
        try:
            executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                mp_context=spawn_context(),
                initializer=_start_worker,
                initargs=(self.database_url, self.registry, self.cache_mib, os.getpid()),
            )
            started = executor.submit(_ready)
        except Exception as exc:
            with self._lock:
                worker.starting, worker.failed_at = False, time.monotonic()
            log.warning("figures_worker_start_failed", error=describe_error(exc))
            if executor is not None:
                stop_executor(executor)
            return
        with self._lock:
            worker.starting = False
            if not self._closed:
                worker.executor, worker.started = executor, started
                return
        stop_executor(executor)  # closed meanwhile

    def submit(self, body: bytes, request: FiguresRequest) -> concurrent.futures.Future | None:
        """The future reply of the owning worker, or None: answer it in the thread.

        None while the owner starts, after it failed, or for an unknown unit. The first
        province request starts every worker."""
        index = self.worker_of(request)
        if index is None:
            return None
        with self._lock:
            if self._closed:
                return None
            now = time.monotonic()
            if request.unit_kind == "province":
                for worker in self.workers:
                    idle = worker.executor is None and not worker.starting
                    if idle and now - worker.failed_at > RESTART_AFTER_SECONDS:
                        self._start(worker)
            worker = self.workers[index]
            started = worker.started
            if worker.executor is None or started is None or not started.done():
                return None
            if started.exception() is not None:
                self._lose(worker, f"start failed: {describe_error(started.exception())}")
                return None
            try:
                return worker.executor.submit(_answer_in_worker, body)
            except (BrokenProcessPool, RuntimeError) as exc:
                self._lose(worker, describe_error(exc))
                return None

    def lost(self, request: FiguresRequest, exc: BaseException) -> None:
        """The owner of `request` broke while answering it: drop it (started again later)."""
        index = self.worker_of(request)
        if index is not None:
            with self._lock:
                if not self._closed and self.workers[index].executor is not None:
                    self._lose(self.workers[index], describe_error(exc))

    def _lose(self, worker: _Worker, why: str) -> None:
        executor, worker.executor, worker.started = worker.executor, None, None
        worker.failed_at = time.monotonic()
        log.warning(
            "figures_worker_lost",
            reason=why,
            provinces=len(worker.provinces),
            hint="its requests are answered in the aggregator's thread until it starts again",
        )
        if executor is not None:
            stop_executor(executor)

    def pids(self) -> list[int]:
        """The pids of the workers that have started (for tests and `ps`)."""
        with self._lock:
            found = []
            for worker in self.workers:
                started = worker.started
                if started is not None and started.done() and started.exception() is None:
                    found.append(started.result())
            return found

    def close(self) -> None:
        """Stop every worker (their requests in flight fail; the thread answers none)."""
        with self._lock:
            self._closed = True
            executors = [w.executor for w in self.workers if w.executor is not None]
            for worker in self.workers:
                worker.executor, worker.started = None, None
        for executor in executors:
            stop_executor(executor)

