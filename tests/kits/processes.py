"""Whether child processes are still there (Linux /proc), for tests that stop or kill them;
and a parent killed under its workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


ROOT = Path(__file__).resolve().parents[2]


def kill_parent_of_children(script: Path, *args: str) -> list[int]:
    """Run `script` (a parent that prints "PIDS <pid> ..." once its worker processes run,
    then waits), SIGKILL it once they are alive, and return their pids: the caller then
    asserts that they are `gone`."""
    parent = subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        lines = []
        for line in parent.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if line.startswith("PIDS "):
                break
        pids = [int(p) for p in lines[-1].split()[1:]] if lines else []
        assert pids, f"the parent printed {lines!r}"
        assert all(alive(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        return pids
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
