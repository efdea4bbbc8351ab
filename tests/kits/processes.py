"""Whether child processes are still there (Linux /proc), for tests that stop or kill them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (exited, not yet reaped: counted as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:  # gone between the two looks
        return False
    return state != "Z"


def gone(pids: Iterable[int], timeout: float) -> bool:
    """True once none of `pids` is alive, False if some still are after `timeout` s."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return not any(alive(pid) for pid in pids)
