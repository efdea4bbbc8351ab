"""The figures workers (storage/figworkers.py): real spawned processes on both databases.

They answer what the aggregator's thread answers, byte for byte; a killed worker costs
no request; and no worker outlives its parent, even a parent killed by SIGKILL.
"""

from __future__ import annotations

import os
import signal
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.aggregator.storage.apply import apply_batch
from services.aggregator.storage.figworkers import FiguresWorkers, answer_figures
from shared.ports import FiguresReply, FiguresRequest, request_to_json
from shared.registry import load_registry
from tests.kits.aggregator import COMMUNE, COMMUNE_B, PROVINCE, items, many_cases, us
from tests.kits.processes import gone, kill_parent_of_children

REGISTRY = load_registry()
START, END, NOW = us("2025-01-01T00:00"), us("2026-01-01T00:00"), us("2026-01-10T00:00")


def request(kind: str, code: str, with_communes: bool = False) -> FiguresRequest:
    return FiguresRequest(kind, code, START, END, NOW, with_communes)


def wait_started(workers: FiguresWorkers, count: int, timeout: float = 60.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = workers.pids()
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"{count} figures worker(s) did not start in {timeout:.0f} s")


def from_worker(workers: FiguresWorkers, req: FiguresRequest) -> bytes:
    future = workers.submit(request_to_json(req), req)
    assert future is not None, "the owning worker should have started"
    reply, failure, unit = future.result(timeout=60)
    assert failure is None and unit == req.unit_code
    return reply


@pytest.fixture
def loaded(engine: Engine, database_url: str) -> tuple[Engine, str]:
    apply_batch(engine, items(many_cases(90, seed=11)), REGISTRY.province_of)
    return engine, database_url


@pytest.fixture
def workers(loaded: tuple[Engine, str]) -> Iterator[FiguresWorkers]:
    pool = FiguresWorkers(loaded[1], REGISTRY, 2)
    yield pool
    pool.close()


def test_workers_answer_as_the_thread_does(
    loaded: tuple[Engine, str], workers: FiguresWorkers
) -> None:
    """Province (with communes) and commune replies from a worker equal the thread's bytes."""
    engine = loaded[0]
    province = request("province", PROVINCE, with_communes=True)
    assert (
        workers.submit(request_to_json(request("commune", COMMUNE)), request("commune", COMMUNE))
        is None
    )
    assert workers.submit(request_to_json(province), province) is None  # starts them
    pids = wait_started(workers, 2)
    assert len(set(pids)) == 2 and os.getpid() not in pids
    for req in (province, request("commune", COMMUNE), request("commune", COMMUNE_B)):
        expected, failure, _ = answer_figures(engine, REGISTRY, req)
        assert failure is None
        got = from_worker(workers, req)
        assert got == expected
        assert FiguresReply.from_json(got).figures["received_total"] > 0
    # A commune is answered by its province's worker, whose cache the province filled.
    assert workers.worker_of(request("commune", COMMUNE)) == workers.worker_of(province)
    unknown = request("commune", "99999")
    assert workers.worker_of(unknown) is None and workers.submit(b"{}", unknown) is None


def test_a_killed_worker_costs_no_request(workers: FiguresWorkers) -> None:
    """SIGKILL of a worker: its request in flight fails with BrokenProcessPool (the query
    server then answers it in the thread), and the worker is started again."""
    province = request("province", PROVINCE, with_communes=True)
    workers.submit(request_to_json(province), province)
    wait_started(workers, 2)
    index = workers.worker_of(province)
    assert index is not None
    victim = workers.workers[index].started.result()  # type: ignore[union-attr]
    os.kill(victim, signal.SIGKILL)
    future = workers.submit(request_to_json(province), province)
    with pytest.raises(BrokenProcessPool):
        if future is None:  # the executor already knew
            raise BrokenProcessPool("known broken")
        future.result(timeout=60)
    workers.lost(province, BrokenProcessPool("test"))
    assert workers.submit(request_to_json(province), province) is None  # not restarted yet
    workers.workers[index].failed_at = float("-inf")  # as if RESTART_AFTER_SECONDS had passed
    workers.submit(request_to_json(province), province)
    pids = wait_started(workers, 2)
    assert victim not in pids
    again = FiguresReply.from_json(from_worker(workers, province))
    assert again.error is None and again.figures["received_total"] == 90


def test_close_stops_every_worker(workers: FiguresWorkers) -> None:
    province = request("province", PROVINCE, with_communes=True)
    workers.submit(request_to_json(province), province)
    pids = wait_started(workers, 2)
    workers.close()
    assert gone(pids, 10), "close() left workers running"
    assert workers.submit(request_to_json(province), province) is None


PARENT = textwrap.dedent(
    """
    import sys, time
    from services.aggregator.storage.figworkers import FiguresWorkers
    from shared.ports import FiguresRequest, request_to_json
    from shared.registry import load_registry

    if __name__ == "__main__":  # spawn imports this module again in each worker
        pool = FiguresWorkers(sys.argv[1], load_registry(), 2)
        req = FiguresRequest("province", "01", 0, 1, 1, True)
        pool.submit(request_to_json(req), req)
        while len(pool.pids()) < 2:
            time.sleep(0.05)
        print("PIDS", " ".join(map(str, pool.pids())), flush=True)
        time.sleep(600)
    """
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_worker_outlives_a_killed_parent(loaded: tuple[Engine, str], tmp_path: Path) -> None:
    """SIGKILL of the aggregator (no clean-up runs): its workers exit within seconds."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    pids = kill_parent_of_children(script, loaded[1])
    assert len(pids) == 2, f"the parent reported {pids}"
    assert gone(pids, 10), "a figures worker outlived its killed parent"


def test_settings_count_of_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import Settings

    monkeypatch.setenv("TTHC_FIGURES_WORKERS", "3")
    assert Settings.from_env().figures_workers == 3
    monkeypatch.setenv("TTHC_FIGURES_WORKERS", "0")
    assert Settings.from_env().figures_workers == 0
    monkeypatch.setenv("TTHC_FIGURES_WORKERS", "auto")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert Settings.from_env().figures_workers == 0
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert Settings.from_env().figures_workers == 4
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert Settings.from_env().figures_workers == 2
    for bad in ("many", "-1"):
        monkeypatch.setenv("TTHC_FIGURES_WORKERS", bad)
        with pytest.raises(ValueError, match="TTHC_FIGURES_WORKERS"):
            Settings.from_env()


def test_provinces_dealt_out_by_communes() -> None:
    """Every province has one worker; the loads differ by at most the largest province."""
    from services.aggregator.storage.figworkers import deal_provinces

    for count in (1, 2, 3, 4):
        owner = deal_provinces(REGISTRY, count)
        assert set(owner) == set(REGISTRY.provinces) and set(owner.values()) == set(range(count))
        loads = [0] * count
        for code, index in owner.items():
            loads[index] += len(REGISTRY.communes_of(code))
        largest = max(len(REGISTRY.communes_of(code)) for code in REGISTRY.provinces)
        assert max(loads) - min(loads) <= largest
        assert sum(loads) == len(REGISTRY.communes)
