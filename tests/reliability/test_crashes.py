"""kill -9 of intake, aggregator and `tthc run all` at random points of a stream of desk
events, and deaths right after the database commit before the acknowledgement: after
restarts every figure equals a recomputation from the published events."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from tests.kits.reliability import (
    Proc,
    assert_figures_exact,
    desk_traffic,
    publish,
    service_env,
    tthc,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]


MIN_KILLS = 2


async def _chaos(procs: list[Proc], rng: random.Random, done: asyncio.Event) -> None:
    """Until `done` and at least MIN_KILLS kills: pick a random process, let it finish
    starting and work 0.2-1.5 s, kill -9 it, restart it after 0-0.5 s; meanwhile restart
    at once any process a fault made die by itself (the launcher's death right after a
    commit). A slow start (`run all` starts three services) can leave fewer kills than
    that inside the publishing time: the chaos then goes on into the backlog."""
    loop = asyncio.get_running_loop()
    victim, kill_at = rng.choice(procs), None
    give_up = None  # bounded: the kill count is asserted afterwards
    while not (done.is_set() and sum(p.kills for p in procs) >= MIN_KILLS):
        if done.is_set():
            give_up = give_up or loop.time() + 60
            if loop.time() > give_up:
                return
        for p in procs:
            p.restart_if_dead()
        if kill_at is None and victim.ready():
            kill_at = loop.time() + rng.uniform(0.2, 1.5)
        if kill_at is not None and loop.time() >= kill_at:
            victim.kill9()
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            victim.start()
            victim, kill_at = rng.choice(procs), None
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("seed", "mode"), [(1, "separate"), (2, "all"), (3, "separate")], ids=lambda v: str(v)
)
async def test_kill9_and_crash_after_commit_lose_nothing(
    nats_server, data_dir: Path, fault_dir: Path, tmp_path: Path, seed: int, mode: str
) -> None:
    """Random kill -9s and deaths between commit and ack: figures equal the recomputation."""
    env = service_env(
        nats_server.url,
        data_dir,
        TTHC_ACK_WAIT_SECONDS="2",
        TTHC_BATCH_SIZE="100",
        TTHC_TEST_CRASH_AFTER_COMMIT="8",
        TTHC_TEST_FAULT_DIR=str(fault_dir),
        TTHC_TEST_FAULT_SEED=str(seed),
    )
    if mode == "separate":
        procs = [
            Proc("intake", env, tmp_path).start(),
            Proc("aggregator", env, tmp_path, faulty=True).start(),
        ]
    else:
        procs = [Proc("all", env, tmp_path, faulty=True).start()]
    traffic = desk_traffic(seed)
    rng = random.Random(seed)
    done = asyncio.Event()
    chaos = asyncio.create_task(_chaos(procs, rng, done))
    try:
        await publish(nats_server.url, traffic.messages, pace=0.06, chunk=20)
        await asyncio.sleep(1.0)  # a little more chaos while the backlog drains
        done.set()
        await chaos

        def revive() -> None:
            for p in procs:
                p.restart_if_dead()

        await wait_drained(nats_server.url, timeout=120, tick=revive, stable=2.5)
        revive()
    finally:
        done.set()
        for p in procs:
            p.stop()

    kills = sum(p.kills for p in procs)
    commit_crashes = list(fault_dir.glob("crash-after-commit-*"))
    assert kills >= MIN_KILLS, f"only {kills} kill -9s"
    assert commit_crashes, "no death between commit and ack happened"
    compared = assert_figures_exact(str(env_db(data_dir)), traffic.valid)
    assert compared == 4 * 6
    verify = tthc(env, "verify", "--quiet", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "drift 0" in verify.stdout


def env_db(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'tthc.sqlite3').resolve()}"
