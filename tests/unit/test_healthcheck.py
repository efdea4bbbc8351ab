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


async def test_busy_metrics_port_is_a_clear_error() -> None:
    """A port held by another process gives a one-line UsageError naming the setting."""
    import socket

    import pytest

    from shared.errors import UsageError

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = OpsServer(CollectorRegistry(), "127.0.0.1", port)
        with pytest.raises(UsageError, match="TTHC_METRICS_PORT"):
            await server.start()
