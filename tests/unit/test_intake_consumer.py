"""`ensure_consumer` tries again when the consumer changed under it (another intake
starting at the same moment); the real race is in tests/integration/test_intake.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from nats.js.errors import BadRequestError, NotFoundError

from services.intake.service import DELIVER_GROUP, ensure_consumer
from shared.settings import Settings


class RacedJetStream:
    """A consumer of an earlier version (no queue group) that another intake replaces
    with its own between this one's look and its add: the first add is refused."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.replaced = False
        self.added: list[Any] = []

    async def consumer_info(self, stream: str, name: str) -> Any:
        group = DELIVER_GROUP if self.replaced else None
        return SimpleNamespace(
            config=SimpleNamespace(
                deliver_group=group, deliver_policy="all", opt_start_seq=None
            ),
            ack_floor=SimpleNamespace(stream_seq=41),
        )

    async def delete_consumer(self, stream: str, name: str) -> bool:
        raise NotFoundError  # the other intake deleted it first

    async def add_consumer(self, stream: str, config: Any) -> Any:
        if self.refusals:
            self.refusals -= 1
            self.replaced = True  # the other intake's consumer is there now
            raise BadRequestError(code=400, description="consumer already exists")
        self.added.append(config)
        return None


async def test_tries_again_and_updates_the_other_intakes_consumer() -> None:
    js = RacedJetStream(refusals=1)
    assert await ensure_consumer(js, Settings.from_env()) == "updated"  # type: ignore[arg-type]
    assert [c.deliver_group for c in js.added] == [DELIVER_GROUP]


async def test_gives_up_after_three_refusals() -> None:
    js = RacedJetStream(refusals=3)
    with pytest.raises(BadRequestError):
        await ensure_consumer(js, Settings.from_env())  # type: ignore[arg-type]
    assert js.added == []
