"""The reporter over a real nats-server: figures by request/reply, snapshot notifications."""

from __future__ import annotations

import asyncio

import nats
import orjson
import pytest

from services.reporter.figsource import FiguresUnavailable, NatsFiguresSource
from services.reporter.service import ReporterService
from shared.domain.timeutil import parse_rfc3339
from shared.ports import FiguresRequest, request_from_json
from shared.subjects import FIGURES_QUERY_SUBJECT
from tests.kits.reporter import COMMUNE, FakeFiguresSource, registry, sample_events

pytestmark = pytest.mark.nats


async def responder(nc, fake):
    async def handle(msg):
        reply = await fake.figures(request_from_json(msg.data))
        await msg.respond(reply.to_json())

    return await nc.subscribe(FIGURES_QUERY_SUBJECT, cb=handle)


async def test_figures_over_nats(settings):
    """NatsFiguresSource sends the request as JSON and reads the reply; no responder is an error."""
    nc = await nats.connect(settings.nats_url)
    try:
        source = NatsFiguresSource(nc, timeout=2)
        request = FiguresRequest(
            "commune", COMMUNE, 0, 2**60, parse_rfc3339("2024-03-20T10:00:00+07:00")
        )
        with pytest.raises(FiguresUnavailable):
            await source.figures(request)
        await responder(nc, FakeFiguresSource(registry(), sample_events()))
        reply = await source.figures(request)
        assert reply.figures["received_total"] == 10  # every case of the commune, all time
    finally:
        await nc.close()


async def test_service_catches_up_and_announces(settings, tmp_path):
    """Started after a cut-off, the service asks over NATS, freezes and announces each snapshot."""
    from tests.kits.reporter import write_registry

    settings = type(settings).from_env(
        nats_url=settings.nats_url,
        data_dir=settings.data_dir,
        metrics_port=0,
        registry_file=write_registry(tmp_path / "reg.json"),
        snapshot_kinds=("quarter",),
        query_timeout_seconds=2.0,
    )
    helper = await nats.connect(settings.nats_url)
    seen: list[tuple[str, dict]] = []

    async def collect(msg):
        seen.append((msg.subject, orjson.loads(msg.data)))

    await helper.subscribe("tthc.snapshots.>", cb=collect)
    await responder(helper, FakeFiguresSource(registry(), sample_events()))
    await helper.flush()
    svc = ReporterService(
        settings, registry(), clock=lambda: parse_rfc3339("2024-03-16T08:00:00+07:00")
    )
    await svc.start()
    try:
        # Every unit's three forms are rendered as XLSX and DOCX (about 0,6 s a unit).
        for _ in range(600):
            if svc.load_state().get("done_through") == "2024-03-14" and len(seen) >= 5:
                break
            await asyncio.sleep(0.05)
    finally:
        await svc.stop()
        await helper.close()
    subjects = {s for s, _ in seen}
    assert f"tthc.snapshots.{COMMUNE}.2024-Q1" in subjects
    # the units with data, each period: province 40 sent nothing and gets no snapshot
    assert subjects == {
        f"tthc.snapshots.{COMMUNE}.2023-Q4",
        f"tthc.snapshots.{COMMUNE}.2024-Q1",
        "tthc.snapshots.16099.2024-Q1",
        "tthc.snapshots.38.2023-Q4",
        "tthc.snapshots.38.2024-Q1",
    }
    body = dict(seen)[f"tthc.snapshots.{COMMUNE}.2024-Q1"]
    assert set(body) == {"unit", "period", "revision", "hash", "path"}
    assert body["revision"] == 1 and body["hash"].startswith("sha256:")
    assert body["period"]["label"] == "2024-Q1"
