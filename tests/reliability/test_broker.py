"""nats-server restarted mid-stream (file storage, same store directory and port): the
services reconnect by themselves and nothing published is lost."""

from __future__ import annotations

import pytest

from tests.kits.reliability import (
    Proc,
    assert_figures_exact,
    desk_traffic,
    publish,
    service_env,
    stream_messages,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill9"])
async def test_broker_restart_mid_stream_loses_nothing(
    nats_server, data_dir, tmp_path, kill: bool
) -> None:
    """Broker restarted twice while events flow: every event in the figures, every bad one kept."""
    env = service_env(nats_server.url, data_dir, TTHC_ACK_WAIT_SECONDS="3")
    service = Proc("all", env, tmp_path).start()
    traffic = desk_traffic(11, cases_per_day=4)
    total = len(traffic.messages)
    restarts = []

    async def maybe_restart(done: int) -> None:
        if len(restarts) < 2 and done >= total * (len(restarts) + 1) // 3:
            nats_server.stop(kill=kill)
            nats_server.start()
            restarts.append(done)

    try:
        await publish(
            nats_server.url, traffic.messages, pace=0.02, chunk=20, on_chunk=maybe_restart
        )
        await wait_drained(nats_server.url, timeout=90, stable=1.0)
        assert service.alive(), "the services must survive the broker restarts"
    finally:
        code = service.stop()
    assert len(restarts) == 2
    assert code == 0
    log = service.log_text()
    assert "nats_disconnected" in log and "nats_reconnected" in log
    assert_figures_exact(f"sqlite:///{(data_dir / 'tthc.sqlite3').resolve()}", traffic.valid)
    rejected = await stream_messages(nats_server.url, "TTHC_REJECTED")
    assert len(rejected) == traffic.invalid
