"""Redelivery storms: an ack wait of 1 s and handlers slower than that make JetStream
redeliver batches while they are still being handled; the figures stay exact."""

from __future__ import annotations

import pytest

from shared.subjects import AGGREGATOR_CONSUMER, INTAKE_CONSUMER
from tests.kits.reliability import (
    Proc,
    assert_figures_exact,
    consumers,
    desk_traffic,
    publish,
    service_env,
    stream_messages,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]


async def test_slow_handlers_and_low_ack_wait_keep_figures_exact(
    nats_server, data_dir, tmp_path
) -> None:
    """Ack wait 1 s, intake and aggregator each 1.3 s a batch: redeliveries, exact figures."""
    env = service_env(
        nats_server.url,
        data_dir,
        TTHC_ACK_WAIT_SECONDS="1",
        TTHC_TEST_SLOW_COMMIT_SECONDS="1.3",
        TTHC_TEST_SLOW_INTAKE_SECONDS="1.3",
    )
    service = Proc("all", env, tmp_path, faulty=True).start()
    traffic = desk_traffic(21, cases_per_day=3)
    redelivered = {INTAKE_CONSUMER: 0, AGGREGATOR_CONSUMER: 0}

    async def sample(_done: int) -> None:
        # num_redelivered counts redelivered messages still pending: sample it on the way.
        try:
            info = await consumers(nats_server.url)
        except Exception:
            return  # consumers not created yet
        for name, ci in info.items():
            redelivered[name] = max(redelivered[name], ci.num_redelivered or 0)

    try:
        await publish(nats_server.url, traffic.messages, pace=0.1, chunk=25, on_chunk=sample)
        for _ in range(10):
            await sample(0)
        await wait_drained(nats_server.url, timeout=120, stable=2.0)
    finally:
        code = service.stop()
    assert code == 0
    assert redelivered[INTAKE_CONSUMER] > 0, "intake saw no redelivery"
    assert redelivered[AGGREGATOR_CONSUMER] > 0, "aggregator saw no redelivery"
    assert_figures_exact(f"sqlite:///{(data_dir / 'tthc.sqlite3').resolve()}", traffic.valid)
    rejected = await stream_messages(nats_server.url, "TTHC_REJECTED")
    assert len(rejected) == traffic.invalid  # one dead letter per bad message, not per delivery
