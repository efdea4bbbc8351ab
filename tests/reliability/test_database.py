"""Database faults: PostgreSQL unreachable for a while (a TCP proxy in the test, cut and
restored; the machine's PostgreSQL keeps running), SQLite locked by another process.
The aggregator stops acknowledging, backs off, says so in its metrics and logs, and
resumes without loss."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time

import pytest

from shared.natsserver import free_port, free_port_block
from shared.subjects import AGGREGATOR_CONSUMER
from tests.kits.reliability import (
    Proc,
    assert_figures_exact,
    consumers,
    desk_traffic,
    metric_value,
    publish,
    scrape,
    service_env,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]


class CuttableProxy:
    """A TCP proxy 127.0.0.1:<port> -> 127.0.0.1:5432 that the test can cut and restore."""

    def __init__(self, target_port: int = 5432) -> None:
        self.port = free_port()
        self.target_port = target_port
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Refuse new connections and reset the open ones (the database is unreachable)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except Exception:
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def _stalled(url: str, port: int, proc: Proc, min_errors: int = 1) -> float:
    """Wait until the aggregator has counted and logged failed transactions, having held
    the batch unacknowledged meanwhile (seen pending on its consumer)."""
    deadline = time.monotonic() + 40
    errors, unacked = 0.0, 0
    while time.monotonic() < deadline:
        errors = metric_value(scrape(port), "tthc_aggregator_db_errors_total")
        agg = (await consumers(url))[AGGREGATOR_CONSUMER]
        unacked = max(unacked, (agg.num_ack_pending or 0) + (agg.num_pending or 0))
        if errors >= min_errors and unacked > 0 and "batch_failed" in proc.log_text():
            return errors
        await asyncio.sleep(0.3)
    raise AssertionError(f"no stall seen: db_errors={errors}, unacked={unacked}")


async def test_postgresql_unreachable_then_back(
    nats_server, data_dir, tmp_path, fresh_postgres_url: str
) -> None:
    """PostgreSQL cut for a while: errors counted and logged, nothing acked, then no loss."""
    proxy = CuttableProxy()
    await proxy.up()
    proxied = fresh_postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    base = free_port_block(3)
    env = service_env(
        nats_server.url,
        data_dir,
        TTHC_DATABASE_URL=proxied,
        TTHC_METRICS_PORT=str(base),
        TTHC_ACK_WAIT_SECONDS="2",
    )
    aggregator_port = base + 1
    service = Proc("all", env, tmp_path).start()
    traffic = desk_traffic(31, cases_per_day=3)
    third = len(traffic.messages) // 3
    try:
        await publish(nats_server.url, traffic.messages[:third], pace=0.02, chunk=25)
        await wait_drained(nats_server.url, timeout=60)
        await proxy.cut()
        await publish(nats_server.url, traffic.messages[third : 2 * third])
        errors = await _stalled(nats_server.url, aggregator_port, service, min_errors=2)
        assert service.alive()
        await proxy.up()
        await publish(nats_server.url, traffic.messages[2 * third :])
        await wait_drained(nats_server.url, timeout=90, stable=1.0)
        after = scrape(aggregator_port)
    finally:
        code = service.stop()
        await proxy.cut()
    assert code == 0
    assert metric_value(after, "tthc_aggregator_db_errors_total") >= errors
    assert_figures_exact(fresh_postgres_url, traffic.valid)


HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


async def test_sqlite_locked_by_another_process(nats_server, data_dir, tmp_path) -> None:
    """SQLite held by another process past the busy timeout: stall, errors, then no loss."""
    base = free_port_block(3)
    env = service_env(
        nats_server.url, data_dir, TTHC_METRICS_PORT=str(base), TTHC_ACK_WAIT_SECONDS="2"
    )
    intake = Proc("intake", env, tmp_path).start()
    service = Proc("aggregator", env, tmp_path).start()
    traffic = desk_traffic(41, cases_per_day=3)
    half = len(traffic.messages) // 2
    database = data_dir / "tthc.sqlite3"
    try:
        await publish(nats_server.url, traffic.messages[:half], pace=0.02, chunk=25)
        await wait_drained(nats_server.url, timeout=60)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(database), "14"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        await publish(nats_server.url, traffic.messages[half:])
        await _stalled(nats_server.url, base + 1, service)  # busy timeout is 10 s
        assert holder.wait(timeout=30) == 0
        await wait_drained(nats_server.url, timeout=90, stable=1.0)
    finally:
        code = service.stop()
        intake.stop()
    assert code == 0
    assert "database is locked" in service.log_text()
    assert_figures_exact(f"sqlite:///{database.resolve()}", traffic.valid)
