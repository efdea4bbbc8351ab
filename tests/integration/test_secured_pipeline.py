"""The real intake and aggregator services run under the production nats-server
configuration, each with its own least-privilege user, and a desk's events reach the
figures; the reporter's user gets figures over NATS."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

import nats
import orjson
import pytest

from services.bootstrap import build_aggregator, build_intake
from services.reporter.figsource import NatsFiguresSource
from shared import pipeline
from shared.natsserver import LocalNatsServer
from shared.ports import FiguresRequest
from shared.registry import load_registry
from shared.settings import Settings
from tests.conftest import make_settings
from tests.integration.test_nats_permissions import PASSWORDS, write_config

pytestmark = pytest.mark.nats

COMMUNE = "00004"  # Phường Ba Đình (Hà Nội) in the 2025 registry
DESK_PASSWORD = "desk-00004-pw"


@pytest.fixture
def desk_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The repository's configuration with a desk user for COMMUNE."""
    from shared.natsserver import find_nats_server

    find_nats_server()
    conf = write_config(tmp_path, {COMMUNE: DESK_PASSWORD})
    for name, value in PASSWORDS.items():
        monkeypatch.setenv(name, value)
    server = LocalNatsServer(store_dir=tmp_path / "nats", config_file=conf).start()
    try:
        yield server
    finally:
        server.stop()


def as_user(tmp_path: Path, server: LocalNatsServer, user: str, password: str) -> Settings:
    """Settings of one service: TTHC_NATS_URL carries its user and password."""
    return make_settings(tmp_path, f"nats://{user}:{password}@127.0.0.1:{server.port}")


def us(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp()) * 1_000_000


def received(n: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"sec-{n}",
            "event_type": "received",
            "case_id": f"HS-{n}",
            "commune_code": COMMUNE,
            "occurred_at": "2025-03-01T08:00:00+07:00",
            "channel": "online_full",
            "due_at": "2025-03-05T17:00:00+07:00",
        }
    )


async def test_services_run_with_their_own_users(
    desk_server: LocalNatsServer, tmp_path: Path
) -> None:
    """intake and aggregator start (creating streams and consumers) as their users, a
    desk's events reach the figures, and the reporter user asks for them over NATS."""
    units = load_registry()
    intake = build_intake(
        as_user(tmp_path, desk_server, "intake", PASSWORDS["TTHC_NATS_INTAKE_PASSWORD"]), units
    )
    aggregator = build_aggregator(
        as_user(tmp_path, desk_server, "aggregator", PASSWORDS["TTHC_NATS_AGGREGATOR_PASSWORD"]),
        units,
    )
    await intake.start()
    await aggregator.start()
    ops = await nats.connect(
        desk_server.url, user="tthc-ops", password=PASSWORDS["TTHC_NATS_OPS_PASSWORD"]
    )
    desk = await nats.connect(
        desk_server.url,
        user=f"desk-{COMMUNE}",
        password=DESK_PASSWORD,
        inbox_prefix=f"_INBOX_{COMMUNE}",
    )
    reporter = await nats.connect(
        desk_server.url, user="reporter", password=PASSWORDS["TTHC_NATS_REPORTER_PASSWORD"]
    )
    try:
        js = desk.jetstream()
        for n in range(5):
            await js.publish(
                f"tthc.events.{COMMUNE}.received", received(n), headers={"Nats-Msg-Id": f"sec-{n}"}
            )
        deadline = time.monotonic() + 20
        while True:
            consumers = (await pipeline.collect(ops.jetstream()))["consumers"]
            if (
                consumers
                and all(c["num_pending"] == 0 and c["num_ack_pending"] == 0 for c in consumers)
                and {c["name"] for c in consumers} >= {"tthc-intake", "tthc-aggregator"}
            ) and aggregator.batches_committed:
                break
            assert time.monotonic() < deadline, consumers
            await asyncio.sleep(0.1)

        source = NatsFiguresSource(reporter, timeout=5)
        start, end = us("2025-02-15T00:00:00+07:00"), us("2025-03-15T00:00:00+07:00")
        reply = await source.figures(FiguresRequest("commune", COMMUNE, start, end, end))
        assert reply.figures["received_total"] == 5
        assert reply.figures["received_online_full"] == 5
    finally:
        for nc in (ops, desk, reporter):
            await nc.close()
        await intake.stop()
        await aggregator.stop()
