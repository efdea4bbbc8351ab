"""The service lifecycle's start wait: a stop request ends it even when the start
swallows a cancellation (as nats-py's first connect does on Python 3.11)."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared import runtime
from shared.runtime import StartFailed, cancel_firmly, start_or_stop


class StubbornStart:
    """A start that loses the first `swallow` cancellations and keeps retrying, as
    nats-py's connect loop does when `wait_for` turns a cancel into a refused connect."""

    name = "stubborn"

    def __init__(self, swallow: int) -> None:
        self.swallow = swallow
        self.cancels_seen = 0

    async def start(self) -> None:
        while True:
            try:
                await asyncio.sleep(0.2)
            except asyncio.CancelledError:
                self.cancels_seen += 1
                if self.cancels_seen > self.swallow:
                    raise

    async def stop(self) -> None:
        return None


async def within(seconds: float, work, service: StubbornStart):
    """`work`'s result, or an assertion error after `seconds`: never a hang. (wait_for
    would itself wait for ever on a task that swallows its cancellation.)"""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        service.swallow = 0  # let the stubborn start end, so the loop can close
        task.cancel()
        await asyncio.wait({task}, timeout=1)
        raise AssertionError(f"still waiting after {seconds} s")
    return task.result()


@pytest.mark.parametrize("swallow", [0, 1, 3])
def test_a_stop_ends_a_start_that_swallows_cancellations(swallow: int) -> None:
    service = StubbornStart(swallow)

    async def scenario() -> bool:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.1, stop.set)
        return await within(3, start_or_stop(service, stop, timeout=30), service)

    began = time.monotonic()
    assert asyncio.run(scenario()) is False
    assert time.monotonic() - began < 2
    assert service.cancels_seen == swallow + 1


def test_the_start_timeout_still_ends_a_stubborn_start() -> None:
    service = StubbornStart(2)

    async def scenario() -> None:
        await within(3, start_or_stop(service, asyncio.Event(), timeout=0.3), service)

    with pytest.raises(StartFailed, match="could not start within"):
        asyncio.run(scenario())
    assert service.cancels_seen == 3


def test_cancel_firmly_gives_up_on_a_task_that_never_stops(monkeypatch) -> None:
    """A task that ignores every cancel is left after the bound, not waited on for ever."""
    monkeypatch.setattr(runtime, "CANCEL_RETRY_SECONDS", 0.01)
    service = StubbornStart(10**9)

    async def scenario() -> int:
        task = asyncio.ensure_future(service.start())
        await asyncio.sleep(0)
        await within(3, cancel_firmly(task, give_up_after=0.3), service)
        assert not task.done()
        seen = service.cancels_seen
        service.swallow = 0  # let the loop's shutdown end it
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    assert asyncio.run(scenario()) >= 2
