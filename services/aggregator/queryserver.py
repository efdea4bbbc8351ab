"""Figures over NATS request/reply: a FastStream subscriber on `tthc.query.figures`.

A `FiguresRequest` (JSON) in, a `FiguresReply` (JSON) out; errors go in the reply's
`error`, never as a missing answer. The reporter service asks here. Queries run in the
figures workers (`storage/figworkers.py`, TTHC_FIGURES_WORKERS) or, without them or
while they start, in a thread on the aggregator's reading engine, so the event loop keeps
consuming. Several requests are answered at once (the reporter asks two provinces at a
time).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy import Engine

from services.aggregator.storage.figworkers import FiguresWorkers, answer_figures
from shared.logging import get_logger
from shared.ports import FiguresReply, request_from_json
from shared.registry import UnitRegistry
from shared.subjects import FIGURES_QUERY_SUBJECT

log = get_logger("tthc.aggregator")

QUERIES_AT_ONCE = 2  # requests answered at once without workers (threads on the reader)


class QueryServer:
    """Answers figures requests from the aggregator's database."""

    def __init__(
        self,
        servers: list[str],
        engine: Engine,
        registry: UnitRegistry,
        workers: FiguresWorkers | None = None,
    ) -> None:
        self.servers, self.engine, self.registry = servers, engine, registry
        self.workers = workers
        self._broker = None

    async def answer(self, body: bytes) -> bytes:
        """The JSON FiguresReply to a JSON FiguresRequest (errors in the reply's `error`)."""
        try:
            request = request_from_json(body)
        except Exception as exc:
            return FiguresReply({}, {}, {}, error=f"bad request: {type(exc).__name__}").to_json()
        answered = None
        future = self.workers.submit(body, request) if self.workers is not None else None
        if future is not None:
            try:
                answered = await asyncio.wrap_future(future)
            except BrokenProcessPool as exc:  # the worker died: answered here instead
                self.workers.lost(request, exc)  # type: ignore[union-attr]
            except asyncio.CancelledError:
                if not future.cancelled():  # this request itself is cancelled
                    raise
        if answered is None:
            answered = await asyncio.to_thread(answer_figures, self.engine, self.registry, request)
        reply, failure, unit = answered
        if failure is not None:
            log.error("figures_query_failed", error=failure, unit=unit)
        return reply

    async def start(self) -> None:
        from faststream.nats import NatsBroker
        from faststream.nats.annotations import NatsMessage

        broker = NatsBroker(
            self.servers,
            name="tthc-aggregator-query",
            # Per-message access lines at DEBUG, through the stdlib logger that
            # shared.logging routes to structlog (FastStream's own goes to stdout).
            logger=logging.getLogger("faststream"),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
        )
        server = self

        async def figures_query(msg: NatsMessage) -> bytes:
            """Figures of one unit and period: a FiguresRequest in, a FiguresReply out."""
            return await server.answer(msg.body)

        broker.subscriber(
            FIGURES_QUERY_SUBJECT,
            queue="tthc-aggregator",
            max_workers=QUERIES_AT_ONCE
            if self.workers is None
            else max(QUERIES_AT_ONCE, len(self.workers.workers) + 1),
            title="tthc.query.figures",
            description="Figures request/reply: FiguresRequest in, FiguresReply out (JSON).",
        )(figures_query)
        await broker.start()
        self._broker = broker

    async def stop(self) -> None:
        if self.workers is not None:
            await asyncio.to_thread(self.workers.close)
        if self._broker is not None:
            try:
                await self._broker.stop()
            except Exception as exc:  # closing a connection that is already gone
                log.debug("query_server_stop_failed", error=type(exc).__name__)
            self._broker = None
