"""A stop during nats-py's first connect to an unreachable broker always ends the wait.

On Python 3.11 one `cancel()` of `nats.connect` is sometimes lost (asyncio.wait_for
returns the refused connect's OSError as a result, and nats-py's loop retries it). This
test cancels 300 real connects at random moments, as a SIGTERM would; without
`cancel_firmly` (one cancel, then wait) 7 of the 300 were still retrying after 20 s."""

from __future__ import annotations

import asyncio
import random

from shared.natsserver import free_port
from shared.natsutil import connect
from shared.runtime import cancel_firmly, start_or_stop
from shared.settings import Settings


class ConnectingService:
    name = "connecting"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def start(self) -> None:
        nc = await connect(self.settings, "tthc-test")
        await nc.close()  # only reached if a broker appeared on the port

    async def stop(self) -> None:
        return None


def test_stops_during_first_connect_all_end() -> None:
    settings = Settings.from_env(nats_url=f"nats://127.0.0.1:{free_port()}")
    rng = random.Random(20261207)

    async def one() -> bool:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(rng.uniform(0.0, 1.2), stop.set)
        return await start_or_stop(ConnectingService(settings), stop, timeout=60)

    async def scenario() -> int:
        tasks = [asyncio.ensure_future(one()) for _ in range(300)]
        done, pending = await asyncio.wait(tasks, timeout=20)
        for task in pending:  # left retrying for ever: end them so the loop can close
            await cancel_firmly(task)
        assert all(task.result() is False for task in done)
        return len(pending)

    assert asyncio.run(scenario()) == 0, "connects still retrying 20 s after their stop"
