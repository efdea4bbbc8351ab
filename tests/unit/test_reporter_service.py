"""The reporter's schedule: due periods, catch-up after downtime, immutability, retries."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import orjson
import pytest

from services.reporter.service import ReporterService, due_until
from services.reporter.snapshots import SnapshotStore
from shared.domain.timeutil import parse_rfc3339
from tests.conftest import make_settings
from tests.kits.reporter import (
    COMMUNE,
    FakeFiguresSource,
    received,
    registry,
    resolved,
    sample_events,
)


class Clock:
    def __init__(self, text: str) -> None:
        self.now = parse_rfc3339(text)

    def set(self, text: str) -> None:
        self.now = parse_rfc3339(text)

    def __call__(self) -> int:
        return self.now


def service(tmp_path, clock, source, kinds=("month", "quarter")):
    settings = make_settings(
        tmp_path, "nats://127.0.0.1:1", snapshot_kinds=kinds, snapshot_grace_hours=24.0
    )
    return ReporterService(settings, clock=clock, source=source, registry=registry())


def test_due_until_respects_the_grace():
    """A period ending on the 14th is due from the 16th 00:00 with 24 h of grace."""
    assert due_until(parse_rfc3339("2024-03-15T23:59:00+07:00"), 24) == date(2024, 3, 13)
    assert due_until(parse_rfc3339("2024-03-16T00:00:00+07:00"), 24) == date(2024, 3, 14)


async def test_catch_up_after_downtime(tmp_path):
    """Started long after several cut-offs, the service makes each missed period, oldest first, once."""
    clock = Clock("2024-01-20T08:00:00+07:00")
    source = FakeFiguresSource(registry(), sample_events())
    svc = service(tmp_path, clock, source)
    made = await svc.run_due()
    # data starts 2023-12-01: 2023-M12 (15/11..14/12), 2023-Q4 and 2024-M01 (15/12..14/01) have data
    labels = sorted({r["period"]["label"] for r in made})
    assert labels == ["2023-M12", "2023-Q4", "2024-M01"]
    assert not any(r["period"]["label"] == "2023-M10" for r in made)  # before the first event
    assert svc.load_state()["done_through"] == "2024-01-14"
    # the service was down from 20/01 to 01/04: M02, M03, Q1 are caught up
    clock.set("2024-04-01T08:00:00+07:00")
    made = await svc.run_due()
    assert sorted({r["period"]["label"] for r in made}) == ["2024-M02", "2024-M03", "2024-Q1"]
    assert svc.load_state()["done_through"] == "2024-03-14"
    # nothing twice
    assert await svc.run_due() == []


async def test_a_period_is_not_due_before_its_grace(tmp_path):
    """On 15/03 (the day after the Q1 cut-off) nothing of Q1 is frozen yet; on 16/03 it is."""
    clock = Clock("2024-03-15T12:00:00+07:00")
    source = FakeFiguresSource(registry(), sample_events())
    svc = service(tmp_path, clock, source, kinds=("quarter",))
    assert {r["period"]["label"] for r in await svc.run_due()} == {"2023-Q4"}
    clock.set("2024-03-16T00:00:01+07:00")
    made = await svc.run_due()
    assert {r["period"]["label"] for r in made} == {"2024-Q1"}
    kinds = {(r["unit"]["kind"], r["unit"]["code"]) for r in made}
    # units with data only: province 40 sent nothing
    assert kinds == {("commune", COMMUNE), ("commune", "16099"), ("province", "38")}


async def test_frozen_snapshot_never_changes(tmp_path):
    """Late events change no frozen revision: files are read-only and keep their hash; a re-run makes revision 2."""
    clock = Clock("2024-03-16T08:00:00+07:00")
    source = FakeFiguresSource(registry(), sample_events())
    svc = service(tmp_path, clock, source, kinds=("quarter",))
    await svc.run_due()
    store = svc.store
    first = store.record("commune", "2024-Q1", COMMUNE)
    frozen = {
        name: (p := Path(first["path"]) / name, p.read_bytes())
        for name in os.listdir(first["path"])
    }
    for _name, (path, _) in frozen.items():
        assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    source.add(
        [
            received("LATE", "2024-03-01T09:00", "2024-03-05T17:00"),
            resolved("LATE", "2024-03-02T09:00"),
        ]
    )
    assert await svc.run_due() == []  # the schedule does not redo a done period
    from services.reporter.snapshots import make_period_snapshots
    from shared.domain.periods import parse_period

    clock.set("2024-04-02T08:00:00+07:00")
    results = await make_period_snapshots(
        parse_period("2024-Q1"), source, store, registry(), svc.forms, clock(), presentation=svc.dress
    )
    created = {(r["unit"]["kind"], r["unit"]["code"]): (r, c) for r, c in results}
    record, was_created = created[("commune", COMMUNE)]
    assert was_created and record["revision"] == 2
    assert record["diff"]["received_total"] == {"from": 9, "to": 10}
    assert record["previous"]["hash"] == first["hash"]
    assert created[("commune", "16099")][1] is False  # unchanged commune: no new revision
    for _name, (path, data) in frozen.items():
        assert path.read_bytes() == data
    assert store.verify(store.record("commune", "2024-Q1", COMMUNE, 1))
    index = orjson.loads(
        (store.unit_dir("commune", "2024-Q1", COMMUNE) / "index.json").read_bytes()
    )
    assert [e["revision"] for e in index["revisions"]] == [1, 2]


async def test_a_failing_aggregator_does_not_advance_the_schedule(tmp_path):
    """If figures cannot be had, progress stays and the failure is counted; the next run catches up."""
    clock = Clock("2024-03-16T08:00:00+07:00")
    source = FakeFiguresSource(registry(), sample_events())
    source.fail = True
    svc = service(tmp_path, clock, source, kinds=("quarter",))
    with pytest.raises(TimeoutError):
        await svc.run_due()
    assert svc.load_state() == {}
    assert svc.metrics.failures.labels("quarter")._value.get() == 1
    source.fail = False
    made = await svc.run_due()
    assert {r["period"]["label"] for r in made} == {"2023-Q4", "2024-Q1"}
    assert svc.metrics.snapshots.labels("quarter")._value.get() == len(made)
    assert svc.metrics.last_success.labels("quarter")._value.get() > 0


async def test_no_events_makes_nothing(tmp_path):
    """Before the first event, no period has data: nothing is frozen, progress advances."""
    clock = Clock("2024-03-16T08:00:00+07:00")
    svc = service(tmp_path, clock, FakeFiguresSource(registry(), []), kinds=("quarter",))
    assert await svc.run_due() == []
    assert not list(SnapshotStore(svc.store.root).list())


def test_next_due_is_the_next_cut_off_plus_grace(tmp_path):
    """The service sleeps until the next period's cut-off plus grace."""
    clock = Clock("2024-03-20T08:00:00+07:00")
    svc = service(tmp_path, clock, FakeFiguresSource(registry(), []), kinds=("month",))
    assert svc.next_due(clock()) == parse_rfc3339("2024-04-16T00:00:00+07:00")


async def test_period_end_asks_provinces_two_at_a_time_then_communes(tmp_path):
    """Provinces (with their communes) are asked first, PROVINCES_IN_FLIGHT at a time, and
    the run makes the same snapshots as one asking them one by one."""
    import asyncio

    from services.reporter import snapshots
    from services.reporter.templates import load_template
    from shared.domain.periods import parse_period

    class SlowSource(FakeFiguresSource):
        """Answers after a moment, noting the most requests in flight at once."""

        def __init__(self, *args):
            super().__init__(*args)
            self.in_flight = self.most = 0

        async def figures(self, request):
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            try:
                await asyncio.sleep(0.01)
                return await super().figures(request)
            finally:
                self.in_flight -= 1

    reg = registry()
    now = parse_rfc3339("2024-04-02T08:00:00+07:00")
    period = parse_period("2024-Q1")

    async def run(source, root):
        store = SnapshotStore(root)
        results = await snapshots.make_period_snapshots(
            period, source, store, reg, load_template(None), now
        )
        return {(r["unit"]["kind"], r["unit"]["code"]): r["hash"] for r, _ in results}

    source = SlowSource(reg, sample_events())
    made = await run(source, tmp_path / "two")
    n_provinces = len(reg.provinces)
    assert n_provinces >= 2
    assert [r.unit_kind for r in source.requests[:n_provinces]] == ["province"] * n_provinces
    assert {r.unit_kind for r in source.requests[n_provinces:]} == {"commune"}
    assert source.most == snapshots.PROVINCES_IN_FLIGHT == 2
    one_by_one = SlowSource(reg, sample_events())
    original = snapshots.PROVINCES_IN_FLIGHT
    snapshots.PROVINCES_IN_FLIGHT = 1
    try:
        assert await run(one_by_one, tmp_path / "one") == made
    finally:
        snapshots.PROVINCES_IN_FLIGHT = original
    assert one_by_one.most == 1
    assert ("commune", COMMUNE) in made
