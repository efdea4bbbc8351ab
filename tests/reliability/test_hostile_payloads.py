"""No message harms another: hostile but well-formed payloads through the whole pipeline,
on SQLite and PostgreSQL. Every good event behind them is counted, every bad one is
rejected and kept, and every command still works on what they left."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from tests.kits.hostile import hostile_traffic
from tests.kits.reliability import (
    COMMUNES,
    PROVINCE,
    Proc,
    assert_figures_exact,
    desk_traffic,
    publish,
    service_env,
    stream_messages,
    tthc,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]


async def test_hostile_payloads_harm_no_other(nats_server, data_dir, tmp_path, database_url) -> None:
    """Hostile events interleaved with ordinary traffic: all counted exactly; commands work."""
    env = service_env(nats_server.url, data_dir, TTHC_DATABASE_URL=database_url)
    ordinary = desk_traffic(41, cases_per_day=3)
    hostile = hostile_traffic(41, COMMUNES)
    mixed = []
    for i, msg in enumerate(ordinary.messages):
        mixed.append(msg)
        if i % 5 == 0 and hostile.messages:
            mixed.append(hostile.messages.pop(0))
    mixed += hostile.messages
    services = [Proc(which, env, tmp_path).start() for which in ("intake", "aggregator")]
    try:
        deadline = time.monotonic() + 60
        while not all(p.ready() for p in services):
            assert time.monotonic() < deadline, [p.log_text()[-1500:] for p in services]
            await asyncio.sleep(0.2)
        await publish(nats_server.url, mixed)
        await wait_drained(nats_server.url, timeout=90, stable=1.0)
        assert all(p.alive() for p in services)
        rejected = await stream_messages(nats_server.url, "TTHC_REJECTED")
        assert len(rejected) == ordinary.invalid + hostile.invalid
        assert_figures_exact(database_url, ordinary.valid + hostile_traffic(41, COMMUNES).valid)
        status = tthc(env, "status", "--json")
        data = orjson.loads(status.stdout)
        assert data["complete"] and data["database"]["set_aside"] == 0
        units = (("--commune", COMMUNES[0]), ("--commune", COMMUNES[1]), ("--province", PROVINCE))
        runs = [(unit, "json") for unit in units] + [(units[0], f) for f in ("csv", "xlsx", "docx")]
        for unit, fmt in runs:
            out = tmp_path / f"a.{fmt}"
            done = tthc(env, "appendix", *unit, "--period", "2025", "--agency", "all", "--format", fmt,
                        "--out", str(out), check=False)  # fmt: skip
            assert done.returncode == 0, done.stderr
        listed = tthc(env, "rejected", "list", "--limit", "1000")
        assert "\x1b" not in listed.stdout and "\u202e" not in listed.stdout
        assert "récéived" not in listed.stdout or "r%C3%A9c%C3%A9ived" not in listed.stdout
        replay = tthc(env, "rejected", "replay", "--all", "--dry-run")
        assert f"would replay {ordinary.invalid + hostile.invalid}" in replay.stdout
        made = tthc(env, "snapshots", "make", "--period", "2025-Q4", "--no-notify", check=False)
        assert made.returncode == 0, made.stderr
        assert tthc(env, "snapshots", "list").returncode == 0
        assert "drift 0" in tthc(env, "verify", "--quiet").stdout
    finally:
        for proc in services:
            proc.stop()
