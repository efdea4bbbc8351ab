"""What `TthcJetStreamStorageNearLimit` divides: prometheus-nats-exporter's -jsz collector
turns nats-server's /jsz `bytes` into `jetstream_server_total_message_bytes` and
`config.max_storage` into `jetstream_server_max_storage` (collector/jsz.go). A real
nats-server with a file-store limit gives both, in bytes, and their share grows as the
project's streams fill (no exporter package here: the alert's logic is promtool's test)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import nats
import pytest

from shared.natsserver import LocalNatsServer, free_port
from shared.natsutil import ensure_streams
from shared.settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.nats
LIMIT = 4 * 1024 * 1024


async def test_jsz_gives_the_bytes_and_limit_the_alert_divides(tmp_path: Path) -> None:
    http = free_port()
    conf = tmp_path / "limits.conf"
    conf.write_text(f'jetstream {{ max_file_store: {LIMIT} }}\nhttp: "127.0.0.1:{http}"\n')
    server = LocalNatsServer(store_dir=tmp_path / "nats", config_file=conf).start()

    def share() -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/jsz", timeout=5) as r:
            jsz = json.loads(r.read())
        assert jsz["config"]["max_storage"] == LIMIT  # -> jetstream_server_max_storage
        return float(jsz["bytes"]) / jsz["config"]["max_storage"]  # total_message_bytes

    try:
        settings: Settings = make_settings(tmp_path, server.url)
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_streams(js, settings)
        assert share() == 0.0
        body = b"x" * 60_000
        for n in range(60):  # about 3.6 MB of desk messages into TTHC_EVENTS
            await js.publish("tthc.events.16000.received", body, headers={"Nats-Msg-Id": f"m{n}"})
        await nc.close()
        assert share() > 0.8  # what the alert fires on (after 15 minutes)
    finally:
        server.stop()
