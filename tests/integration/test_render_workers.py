"""The render workers (services/reporter/renderworkers.py): real spawned processes.

They freeze what the reporter's thread freezes (the same records, the same files); a
worker killed in the middle of a run costs no snapshot; no worker outlives its parent,
even a parent killed by SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import textwrap
import threading
from pathlib import Path

import pytest

from services.reporter import snapshots
from services.reporter.renderworkers import RenderWorkers
from services.reporter.snapshots import SnapshotDress, SnapshotStore, make_period_snapshots
from services.reporter.templates import load_template, parse_template
from shared.domain.periods import parse_period
from shared.domain.timeutil import parse_rfc3339
from shared.ports import FiguresRequest
from shared.settings import Settings
from tests.kits.processes import alive, gone, kill_parent_of_children
from tests.kits.reporter import (
    COMMUNE_C,
    FakeFiguresSource,
    received,
    registry,
    resolved,
    sample_events,
)

PERIOD = parse_period("2024-Q1")
NOW = parse_rfc3339("2024-04-02T08:00:00+07:00")
FORMS = tuple(load_template(name) for name in ("phu-luc-01b", "bieu-mau-3", "bieu-06-vpcp"))


def events():
    """The kit's quarter, and a commune of the second province too: five units."""
    return [
        *sample_events(),
        received("C1", "2024-01-02T09:00", "2024-01-10T17:00", COMMUNE_C, "direct"),
        resolved("C1", "2024-01-04T10:00", COMMUNE_C),
    ]


async def freeze_all(root: Path, workers: RenderWorkers | None, source=None, dress=None):
    store = SnapshotStore(root)
    results = await make_period_snapshots(
        PERIOD,
        source or FakeFiguresSource(registry(), events()),
        store,
        registry(),
        FORMS,
        NOW,
        presentation=dress,
        workers=workers,
    )
    return results


def frozen(results) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """Unit -> (content hash, the files of its revision)."""
    return {
        (r["unit"]["kind"], r["unit"]["code"]): (
            r["hash"],
            sorted(p.name for p in Path(r["path"]).iterdir()),
        )
        for r, _ in results
    }


def workers_for(root: Path, size: int = 2, dress=None) -> RenderWorkers:
    return RenderWorkers(size, root, registry(), FORMS, dress or SnapshotDress())


async def test_workers_freeze_what_the_thread_freezes(tmp_path, monkeypatch):
    """The same units, hashes and files; every unit frozen in a worker (the thread's
    function is broken in this process, so a unit frozen here would fail the run)."""
    by_thread = await freeze_all(tmp_path / "thread", None)
    assert len(by_thread) == 5 and all(created for _, created in by_thread)

    def not_here(*args, **kwargs):
        raise AssertionError("a unit was frozen in the reporter's thread")

    monkeypatch.setattr(snapshots, "freeze_unit", not_here)
    workers = workers_for(tmp_path / "workers")
    try:
        by_workers = await freeze_all(tmp_path / "workers", workers)
        assert len(workers.pids()) == 2
    finally:
        workers.close()
    assert frozen(by_workers) == frozen(by_thread)
    files = frozen(by_workers)[("commune", COMMUNE_C)][1]
    assert "phu-luc-01b.xlsx" in files and "bieu-06-vpcp.docx" in files
    # a second run over the same figures makes nothing new, as in the thread
    workers = workers_for(tmp_path / "workers")
    try:
        again = await freeze_all(tmp_path / "workers", workers)
    finally:
        workers.close()
    assert [created for _, created in again] == [False] * 5


async def test_workers_dress_the_forms_as_the_thread(tmp_path):
    """A deployment file and office values reach the workers: the same signer, the same
    values, the same content hashes (which cover the office values)."""
    import json

    from services.reporter.deployment import load_deployment

    path = tmp_path / "deployment.json"
    path.write_text(
        json.dumps(
            {
                "schema": "tthc.deployment/1",
                "units": {COMMUNE_C: {"signer_name": "Lê Văn Phượng", "place": "Quảng Hòa"}},
            }
        ),
        encoding="utf-8",
    )
    dress = SnapshotDress(load_deployment(path), ({"unit": COMMUNE_C, "period": "*", "values": {"tthc_dang_ap_dung": 7}},))
    by_thread = frozen(await freeze_all(tmp_path / "thread", None, dress=dress))
    workers = workers_for(tmp_path / "workers", dress=dress)
    try:
        by_workers = frozen(await freeze_all(tmp_path / "workers", workers, dress=dress))
        assert len(workers.pids()) == 2
    finally:
        workers.close()
    assert by_workers == by_thread
    assert by_thread != frozen(await freeze_all(tmp_path / "plain", None))  # dress counted


async def test_a_killed_worker_costs_no_snapshot(tmp_path, caplog):
    """SIGKILL of a worker while the run freezes communes: every unit is still frozen,
    once, with the same content; the run goes on in the thread and says so."""
    by_thread = frozen(await freeze_all(tmp_path / "thread", None))
    workers = workers_for(tmp_path / "workers")

    killed: list[int] = []

    class KillingSource(FakeFiguresSource):
        async def figures(self, request):
            if request.unit_kind == "commune" and not killed and workers.pids():
                victim = workers.pids()[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            return await super().figures(request)

    source = KillingSource(registry(), events())
    try:
        results = await freeze_all(tmp_path / "workers", workers, source)
    finally:
        workers.close()
    assert killed, "no worker was running to kill"
    assert gone(killed, 10)
    assert frozen(results) == by_thread
    assert all(created for _, created in results)
    revisions = sorted(p.name for p in (tmp_path / "workers").glob("*/*/*/r*"))
    assert revisions == ["r001"] * 5  # nothing frozen twice


def test_close_leaves_no_worker(tmp_path):
    workers = workers_for(tmp_path)
    workers.start()
    pids = workers.pids()
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    workers.close()
    assert gone(pids, 10), "close() left workers running"
    workers.start()  # closed for good: starts nothing
    assert workers.pids() == []


def test_a_template_not_in_a_file_is_frozen_in_the_thread(tmp_path):
    """Workers read the forms again from their files; one made in memory cannot be."""
    made = parse_template(
        {**_template_data("phu-luc-01b"), "name": "in-memory"}, source="<memory>"
    )
    workers = RenderWorkers(2, tmp_path, registry(), (made,), SnapshotDress())
    workers.start()
    assert workers.pids() == []
    assert workers.submit("commune", "x", PERIOD, None, NOW) is None  # type: ignore[arg-type]


def _template_data(name: str):
    import json

    return json.loads(Path(load_template(name).source).read_text(encoding="utf-8"))


PARENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from services.reporter.renderworkers import RenderWorkers
    from services.reporter.snapshots import SnapshotDress
    from services.reporter.templates import load_template
    from shared.registry import load_registry

    if __name__ == "__main__":  # spawn imports this module again in each worker
        pool = RenderWorkers(2, Path(sys.argv[1]), load_registry(), (load_template(None),),
                             SnapshotDress())
        pool.start()
        print("PIDS", " ".join(map(str, pool.pids())), flush=True)
        time.sleep(600)
    """
)


def test_no_worker_outlives_a_killed_parent(tmp_path: Path) -> None:
    """SIGKILL of the reporter (no clean-up runs): its render workers exit within seconds."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    pids = kill_parent_of_children(script, str(tmp_path / "snapshots"))
    assert len(pids) == 2, f"the parent reported {pids}"
    assert gone(pids, 10), "a render worker outlived its killed parent"


def test_rendering_happens_outside_the_store_lock(tmp_path, monkeypatch):
    """Two writers render at the same time (rendering is outside the store's lock), and
    two writers of the same figures at once make one revision."""
    from services.reporter import snapshot_store
    from services.reporter.snapshots import freeze_unit

    store = SnapshotStore(tmp_path)
    real_render = snapshot_store.render
    both_rendering = threading.Barrier(2, timeout=10)
    waited = threading.local()

    def render(form, fmt):
        if not getattr(waited, "done", False):
            waited.done = True
            # Both writers meet here: were rendering inside the lock, the second could
            # not get here while the first waits, and the barrier would break.
            both_rendering.wait()
        return real_render(form, fmt)

    monkeypatch.setattr(snapshot_store, "render", render)
    source = FakeFiguresSource(registry(), events())
    request = FiguresRequest("commune", COMMUNE_C, PERIOD.start_instant, PERIOD.end_instant, NOW)
    reply = asyncio.run(source.figures(request))
    out: list[bool] = []

    def write() -> None:
        _, created = freeze_unit(
            store, registry(), FORMS[:1], SnapshotDress(), "commune", COMMUNE_C, PERIOD, reply, NOW
        )
        out.append(created)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not both_rendering.broken
    assert sorted(out) == [False, True]  # one revision made, the other writer saw it
    assert sorted(p.name for p in tmp_path.glob("commune/*/*/r*")) == ["r001"]


def test_the_setting(monkeypatch):
    monkeypatch.setenv("TTHC_RENDER_WORKERS", "3")
    assert Settings.from_env().render_workers == 3
    monkeypatch.setenv("TTHC_RENDER_WORKERS", "0")
    assert Settings.from_env().render_workers == 0
    monkeypatch.setenv("TTHC_RENDER_WORKERS", "auto")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert Settings.from_env().render_workers == 0
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert Settings.from_env().render_workers == 4
    for bad in ("-1", "two"):
        monkeypatch.setenv("TTHC_RENDER_WORKERS", bad)
        with pytest.raises(ValueError, match="TTHC_RENDER_WORKERS"):
            Settings.from_env()


async def test_the_reporter_service_renders_in_its_workers_and_stops_them(
    tmp_path, monkeypatch
):
    """The scheduled run with TTHC_RENDER_WORKERS=2: the due quarters frozen by workers
    (none in the thread), which stop with the service."""

    def not_here(*args, **kwargs):
        raise AssertionError("a unit was frozen in the reporter's thread")

    monkeypatch.setattr(snapshots, "freeze_unit", not_here)
    import asyncio

    from services.reporter.service import ReporterService
    from tests.conftest import make_settings

    settings = make_settings(
        tmp_path,
        "nats://127.0.0.1:1",
        snapshot_kinds=("quarter",),
        snapshot_grace_hours=24.0,
        render_workers=2,
    )
    svc = ReporterService(
        settings,
        clock=lambda: parse_rfc3339("2024-03-20T08:00:00+07:00"),
        source=FakeFiguresSource(registry(), events()),
        registry=registry(),
    )
    await svc.start()
    try:
        for _ in range(600):
            if svc.load_state().get("done_through") == "2024-03-14":
                break
            await asyncio.sleep(0.1)
        pids = svc.render_workers.pids()
        assert len(pids) == 2, "the run did not start the render workers"
        made = SnapshotStore.for_data_dir(settings.data_dir).list(label="2024-Q1")
        assert {(r["unit_kind"], r["unit_code"]) for r in made} >= {("commune", COMMUNE_C)}
    finally:
        await svc.stop()
    assert gone(pids, 10), "the service's stop left render workers running"
    assert svc.render_workers is None
