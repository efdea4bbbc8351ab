"""Two intakes and two aggregators (on PostgreSQL) started together share the work; when
one of each is killed, the others do everything (docs/operations.md, "A standby")."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.natsserver import free_port_block
from tests.kits.reliability import (
    Proc,
    assert_figures_exact,
    desk_traffic,
    metric_value,
    publish,
    scrape,
    service_env,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.postgres]


async def test_two_of_each_share_and_one_carries_on(
    nats_server, tmp_path, fresh_postgres_url: str
) -> None:
    """Each instance takes part of the messages; after kill -9 of one intake and one
    aggregator the others take the rest; the figures are exact."""
    base = {"a": free_port_block(2), "b": free_port_block(2)}
    procs = {}
    for name, port in base.items():
        env = service_env(
            nats_server.url,
            tmp_path / f"data-{name}",
            TTHC_DATABASE_URL=fresh_postgres_url,
            TTHC_METRICS_PORT=str(port),
            TTHC_ACK_WAIT_SECONDS="3",
        )
        (tmp_path / f"data-{name}").mkdir()
        for which in ("intake", "aggregator"):
            log_dir = tmp_path / f"{which}-{name}"
            log_dir.mkdir()
            procs[(which, name)] = Proc(which, env, log_dir).start()
    traffic = desk_traffic(31, cases_per_day=8)
    half = len(traffic.messages) // 2

    def counted(which: str, name: str) -> float:
        port = base[name] + (0 if which == "intake" else 1)
        metric = "tthc_intake_messages_total" if which == "intake" else "tthc_aggregator_batch_size_count"
        return metric_value(scrape(port), metric)

    try:
        deadline = time.monotonic() + 60
        while not all(p.ready() for p in procs.values()):
            assert time.monotonic() < deadline, {k: p.log_text()[-1500:] for k, p in procs.items()}
            await asyncio.sleep(0.2)
        await publish(nats_server.url, traffic.messages[:half], pace=0.01, chunk=10)
        await wait_drained(nats_server.url, timeout=90)
        shares = {key: counted(*key) for key in procs}
        assert all(n > 0 for n in shares.values()), shares  # every instance took a share
        procs[("intake", "a")].kill9()
        procs[("aggregator", "a")].kill9()
        await publish(nats_server.url, traffic.messages[half:], pace=0.01, chunk=10)
        await wait_drained(nats_server.url, timeout=90, stable=1.0)
        for which in ("intake", "aggregator"):
            assert counted(which, "b") > shares[(which, "b")], which  # b carried on alone
    finally:
        for proc in procs.values():
            proc.stop()
    assert_figures_exact(fresh_postgres_url, traffic.valid)
