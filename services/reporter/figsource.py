"""Where the reporter gets figures: over NATS from the running aggregator, or a given source.

- `NatsFiguresSource`: request/reply on `tthc.query.figures` (JSON of `FiguresRequest`
  -> `FiguresReply`), waiting at most TTHC_QUERY_TIMEOUT_SECONDS. The reporter service
  uses it.
- `opened(source)`: an async context manager over whatever a composition root hands
  the `tthc appendix` command: an async context manager, or an object with async
  `figures()` and an optional `close()` (plain or async).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator
from typing import Any

from nats.aio.client import Client

from shared.ports import FiguresReply, FiguresRequest, FiguresSource, request_to_json
from shared.subjects import FIGURES_QUERY_SUBJECT


class FiguresUnavailable(RuntimeError):
    """The aggregator did not answer, or answered with an error."""


class NatsFiguresSource:
    """A FiguresSource asking the aggregator over NATS request/reply."""

    def __init__(self, nc: Client, timeout: float, subject: str = FIGURES_QUERY_SUBJECT) -> None:
        self.nc, self.timeout, self.subject = nc, timeout, subject

    async def figures(self, request: FiguresRequest) -> FiguresReply:
        try:
            msg = await self.nc.request(
                self.subject, request_to_json(request), timeout=self.timeout
            )
        except Exception as exc:  # timeout, no responders, connection closed
            raise FiguresUnavailable(
                f"no figures from the aggregator on {self.subject}: {type(exc).__name__}"
            ) from exc
        try:
            reply = FiguresReply.from_json(msg.data)
        except Exception as exc:
            raise FiguresUnavailable(f"unreadable figures reply: {exc}") from exc
        if reply.error:
            raise FiguresUnavailable(f"the aggregator answered: {reply.error}")
        return reply

    def close(self) -> None:
        """The connection belongs to the caller."""


@contextlib.asynccontextmanager
async def opened(source: Any) -> AsyncIterator[FiguresSource]:
    """Use a figures source the way it wants: `async with`, or `figures()` then `close()`."""
    if hasattr(source, "__aenter__") and hasattr(source, "__aexit__"):
        async with source as entered:
            yield entered if hasattr(entered, "figures") else source
        return
    try:
        yield source
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            result = close()
            if inspect.isawaitable(result):
                await result


async def fetch(source: FiguresSource, request: FiguresRequest) -> FiguresReply:
    """Figures from a source; an error reply becomes FiguresUnavailable."""
    reply = await source.figures(request)
    if reply.error:
        raise FiguresUnavailable(reply.error)
    return reply
