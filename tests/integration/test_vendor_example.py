"""examples/publish_case.py, the desk vendors' example, works against the production
NATS configuration as a desk user, and what it publishes is accepted by the contract."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import nats
import pytest

from shared.domain.validation import Accepted, validate
from shared.natsserver import LocalNatsServer, find_nats_server
from shared.natsutil import ensure_streams
from shared.registry import load_registry
from shared.subjects import EVENTS_STREAM
from tests.conftest import make_settings
from tests.integration.test_nats_permissions import PASSWORDS, write_config

pytestmark = pytest.mark.nats

ROOT = Path(__file__).parents[2]
COMMUNE, DESK_PASSWORD = "00004", "desk-00004-pw"
EVENT_SCHEMA = json.loads((ROOT / "docs" / "event.schema.json").read_text(encoding="utf-8"))


def load_example():
    spec = importlib.util.spec_from_file_location(
        "publish_case", ROOT / "examples" / "publish_case.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    find_nats_server()
    conf = write_config(tmp_path, {COMMUNE: DESK_PASSWORD})
    for name, value in PASSWORDS.items():
        monkeypatch.setenv(name, value)
    srv = LocalNatsServer(store_dir=tmp_path / "nats", config_file=conf).start()
    try:
        yield srv
    finally:
        srv.stop()


async def stored_messages(server: LocalNatsServer) -> list:
    nc = await nats.connect(
        server.url, user="tthc-ops", password=PASSWORDS["TTHC_NATS_OPS_PASSWORD"]
    )
    try:
        js = nc.jetstream()
        info = await js.stream_info(EVENTS_STREAM)
        return [await js.get_msg(EVENTS_STREAM, seq) for seq in range(1, info.state.last_seq + 1)]
    finally:
        await nc.close()


async def test_example_publishes_a_valid_case_story(
    server: LocalNatsServer, tmp_path: Path
) -> None:
    """The example's events land in TTHC_EVENTS with Nats-Msg-Id, pass the contract checks
    and are valid against docs/event.schema.json."""
    settings = make_settings(tmp_path, server.url)
    ops = await nats.connect(
        server.url, user="tthc-ops", password=PASSWORDS["TTHC_NATS_OPS_PASSWORD"]
    )
    await ensure_streams(ops.jetstream(), settings)
    await ops.close()

    example = load_example()
    acks = await example.run(server.url, COMMUNE, "HS-TEST-1", f"desk-{COMMUNE}", DESK_PASSWORD)
    assert [a.seq for a in acks] == [1, 2] and {a.stream for a in acks} == {EVENTS_STREAM}

    registry = load_registry(None)
    now = time.time_ns() // 1000
    msgs = await stored_messages(server)
    for msg in msgs:
        result = validate(
            msg.subject,
            msg.data,
            registry=registry,
            received_at=now,
            max_skew_us=300_000_000,
            max_payload_bytes=65536,
        )
        assert isinstance(result, Accepted), result
        assert msg.headers["Nats-Msg-Id"] == result.event_id
        jsonschema.validate(json.loads(msg.data), EVENT_SCHEMA)


async def test_retry_with_the_same_event_id_is_dropped(
    server: LocalNatsServer, tmp_path: Path
) -> None:
    """Publishing an event again (a retry) is acknowledged as a duplicate, stored once."""
    settings = make_settings(tmp_path, server.url)
    example = load_example()
    nc = await nats.connect(
        server.url, user=f"desk-{COMMUNE}", password=DESK_PASSWORD, inbox_prefix=f"_INBOX_{COMMUNE}"
    )
    ops = await nats.connect(
        server.url, user="tthc-ops", password=PASSWORDS["TTHC_NATS_OPS_PASSWORD"]
    )
    try:
        await ensure_streams(ops.jetstream(), settings)
        from datetime import datetime

        event = example.make_event(
            "received",
            COMMUNE,
            "HS-2",
            datetime(2025, 7, 1, 8, 0, tzinfo=example.VN),
            channel="direct",
            due_at="2025-07-04T17:00:00+07:00",
        )
        first = await example.publish_event(nc.jetstream(), event)
        again = await example.publish_event(nc.jetstream(), event)
        assert not first.duplicate and again.duplicate and again.seq == first.seq
    finally:
        await nc.close()
        await ops.close()


def test_example_runs_as_a_script(server: LocalNatsServer, tmp_path: Path) -> None:
    """`python examples/publish_case.py ...` exits 0 and prints the acks."""
    import asyncio

    async def streams() -> None:
        ops = await nats.connect(
            server.url, user="tthc-ops", password=PASSWORDS["TTHC_NATS_OPS_PASSWORD"]
        )
        await ensure_streams(ops.jetstream(), make_settings(tmp_path, server.url))
        await ops.close()

    asyncio.run(streams())
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "publish_case.py"),
            "--url",
            server.url,
            "--user",
            f"desk-{COMMUNE}",
            "--password",
            DESK_PASSWORD,
            "--commune",
            COMMUNE,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(f"-> {EVENTS_STREAM} seq") == 2
