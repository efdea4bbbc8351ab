"""`tthc run all` as a supervisor of three processes (services/supervisor.py), and every
service answering SIGTERM at once, even while it waits for an unreachable broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.natsserver import free_port, free_port_block
from tests.kits.processes import alive
from tests.kits.reliability import service_env

pytestmark = pytest.mark.nats
TTHC = str(Path(sys.executable).with_name("tthc"))


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def wait_until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def start(env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([TTHC, "run", "all"], env=env, stdout=out, stderr=out)


def test_run_all_supervises_three_processes(nats_server, tmp_path: Path) -> None:
    """Three children; one killed is started again; SIGTERM stops all cleanly, exit 0."""
    env = service_env(nats_server.url, tmp_path / "data", TTHC_METRICS_PORT=str(free_port_block(3)))
    log = tmp_path / "all.log"
    proc = start(env, log)
    try:
        wait_until(lambda: len(children_of(proc.pid)) == 3)
        wait_until(lambda: log.read_text().count('"service_started"') >= 3)
        first = children_of(proc.pid)
        os.kill(first[0], signal.SIGKILL)
        wait_until(lambda: '"start": 2' in log.read_text())
        wait_until(lambda: log.read_text().count('"service_started"') >= 4)
        assert '"child_exited"' in log.read_text() and first[0] not in children_of(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert text.count('"child_stopped"') == 3
    for name in ("intake", "aggregator", "reporter"):
        assert f'"service": "{name}"' in text  # one log stream, each line names its service


def test_children_die_with_a_killed_supervisor(nats_server, tmp_path: Path) -> None:
    """kill -9 of `tthc run all` leaves no orphan consuming."""
    env = service_env(nats_server.url, tmp_path / "data")
    proc = start(env, tmp_path / "all.log")
    wait_until(lambda: len(children_of(proc.pid)) == 3)
    kids = children_of(proc.pid)
    proc.kill()
    proc.wait()
    wait_until(lambda: not any(alive(pid) for pid in kids), timeout=10)


@pytest.mark.parametrize("which", ["intake", "aggregator", "reporter"])
def test_sigterm_while_the_broker_is_unreachable(tmp_path: Path, which: str) -> None:
    """A service waiting for a NATS that does not answer stops at once on SIGTERM."""
    env = service_env(f"nats://127.0.0.1:{free_port()}", tmp_path / "data")
    with open(tmp_path / "svc.log", "ab") as out:
        proc = subprocess.Popen([TTHC, "run", which], env=env, stdout=out, stderr=out)
    time.sleep(3)
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - began < 10
    assert code in (0, 1)


def test_a_service_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    """With NATS unreachable, `tthc run intake` gives up after the bounded start wait."""
    env = service_env(f"nats://127.0.0.1:{free_port()}", tmp_path / "data", TTHC_START_TIMEOUT_SECONDS="2")
    done = subprocess.run([TTHC, "run", "intake"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("tthc: error:") and "TTHC_NATS_URL" in last
