"""The demo's local nats-server: started under TTHC_DATA_DIR/nats when none is reachable."""

from __future__ import annotations

import pytest

from services.demo import cli as demo
from shared.natsserver import free_port, is_reachable
from shared.settings import Settings

pytestmark = pytest.mark.nats


def test_local_server_uses_the_urls_port_and_the_data_dir(tmp_path):
    """A local URL keeps its port; the JetStream store lives in TTHC_DATA_DIR/nats."""
    port = free_port()
    settings = Settings.from_env(data_dir=tmp_path, nats_url=f"nats://127.0.0.1:{port}")
    server, used = demo.start_local_nats(settings)
    try:
        assert server.port == port and used.nats_url == settings.nats_url
        assert is_reachable(used.nats_url)
        assert (tmp_path / "nats").is_dir()
    finally:
        server.stop()
    assert not is_reachable(used.nats_url)


def test_remote_url_gets_a_local_server_on_a_free_port(tmp_path):
    """A URL naming another host is not started here: a free local port, settings overridden."""
    settings = Settings.from_env(data_dir=tmp_path, nats_url="nats://nats.example.invalid:4222")
    server, used = demo.start_local_nats(settings)
    try:
        assert used.nats_url == server.url != settings.nats_url
        assert is_reachable(used.nats_url)
    finally:
        server.stop()
