"""Worker processes a service spawns for CPU-bound work (figures readers, form renderers).

Both the aggregator's figures workers and the reporter's render workers are
`ProcessPoolExecutor`s started with `spawn` (the services have threads; a fork would
copy their locks). What they share lives here:

- `become_child(parent)`, the workers' initializer's first step: Ctrl-C reaches the
  whole process group, so a worker ignores SIGINT (its parent stops it), and a watchdog
  thread exits the worker within half a second once its parent is gone, even after a
  SIGKILL of the parent (which closes nothing).
- `stop_executor(executor)`: shut down without waiting, then terminate the processes, so
  a worker busy on a long task is not waited for.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from typing import Any


def spawn_context() -> Any:
    return multiprocessing.get_context("spawn")


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the parent is gone (even by SIGKILL)
            os._exit(0)


def become_child(parent: int) -> None:
    """In a freshly spawned worker: ignore SIGINT and exit once `parent` is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent stops us
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def stop_executor(executor: concurrent.futures.ProcessPoolExecutor) -> None:
    """Stop a pool now: pending work is cancelled and its processes terminated."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:  # a worker busy on a long task is not waited for
        with contextlib.suppress(Exception):  # already gone
            process.terminate()
