"""services/healthcheck.py: the container health check asks /healthz or /readyz."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from services import healthcheck
from shared.httpserver import OpsServer
from shared.natsserver import free_port_block
from shared.settings import Settings


async def test_healthy_and_not_ready(tmp_path) -> None:
    """200 on /healthz passes; 503 on /readyz fails; a closed port fails; bad names exit 2."""
    base = free_port_block(3)
    settings = Settings.from_env(metrics_port=base, data_dir=tmp_path)
    server = OpsServer(CollectorRegistry(), "127.0.0.1", base, is_ready=lambda: False)
    await server.start()
    try:
        assert await asyncio.to_thread(healthcheck.check, settings, "intake")
        assert not await asyncio.to_thread(healthcheck.check, settings, "intake", True)
        assert not await asyncio.to_thread(healthcheck.check, settings, "aggregator")  # base+1
    finally:
        await server.stop()
    assert healthcheck.main(["nonsense"]) == 2
