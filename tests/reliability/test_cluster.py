"""A three-node JetStream cluster: R3 streams, the streams' leader killed (kill -9) in the
middle of the traffic and started again. Nothing is lost and the pause desks see is
measured (docs/operations.md, "A NATS cluster")."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest

from tests.kits.natscluster import LocalNatsCluster
from tests.kits.reliability import (
    Proc,
    assert_figures_exact,
    desk_traffic,
    service_env,
    stream_messages,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]


async def leader_of(url: str, stream: str) -> str:
    nc = await nats.connect(servers=url.split(","))
    try:
        return (await nc.jetstream().stream_info(stream)).cluster.leader
    finally:
        await nc.close()


async def publish_timed(url: str, messages, on_progress) -> float:
    """Publish as a careful desk (retry each until acknowledged); the longest wait for one
    publish to be acknowledged, in seconds."""
    nc = await nats.connect(servers=url.split(","), max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    js = nc.jetstream(timeout=2)
    longest = 0.0
    try:
        for i, (subject, body, msg_id) in enumerate(messages):
            began = time.monotonic()
            while True:
                try:
                    await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            longest = max(longest, time.monotonic() - began)
            await on_progress(i + 1)
            if i % 20 == 0:
                await asyncio.sleep(0.01)
    finally:
        await nc.close()
    return longest


async def test_leader_killed_mid_traffic_loses_nothing(tmp_path, data_dir) -> None:
    """R3 streams created by the services; kill -9 of the streams' leader mid-traffic, then
    its restart: every event in the figures, every bad one kept, the pause bounded."""
    cluster = LocalNatsCluster(tmp_path / "cluster").start()
    await cluster.wait_ready()
    env = service_env(cluster.url, data_dir, TTHC_STREAM_REPLICAS="3", TTHC_ACK_WAIT_SECONDS="5")
    intake = Proc("intake", env, tmp_path).start()
    aggregator = Proc("aggregator", env, tmp_path).start()
    traffic = desk_traffic(21, cases_per_day=3)
    total = len(traffic.messages)
    killed: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not (intake.ready() and aggregator.ready()):
            assert time.monotonic() < deadline, intake.log_text()[-2000:] + aggregator.log_text()[-2000:]
            await asyncio.sleep(0.2)
        nc = await nats.connect(servers=cluster.url.split(","))
        try:
            info = await nc.jetstream().stream_info("TTHC_EVENTS")
            assert info.config.num_replicas == 3 and len(info.cluster.replicas) == 2
        finally:
            await nc.close()

        async def progress(done: int) -> None:
            if not killed and done >= total // 3:
                name = await leader_of(cluster.url, "TTHC_EVENTS")
                cluster.node(name).stop(kill=True)
                killed.append(name)
            elif len(killed) == 1 and done >= 2 * total // 3:
                cluster.node(killed[0]).start()
                killed.append("restarted")

        pause = await publish_timed(cluster.url, traffic.messages, progress)
        print(f"cluster failover: the longest wait for a desk's publish ack was {pause:.2f}s")
        await wait_drained(cluster.url, timeout=120, stable=1.0)
        assert intake.alive() and aggregator.alive(), "the services must ride out the failover"
        rejected = await stream_messages(cluster.url, "TTHC_REJECTED")
    finally:
        intake.stop()
        aggregator.stop()
        cluster.stop()
    assert killed[1] == "restarted"
    assert pause < 15, f"desks waited {pause:.1f}s for an acknowledgement"
    assert_figures_exact(f"sqlite:///{(data_dir / 'tthc.sqlite3').resolve()}", traffic.valid)
    assert len(rejected) == traffic.invalid
