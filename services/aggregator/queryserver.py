"""Figures over NATS request/reply: a FastStream subscriber on `tthc.query.figures`.

A `FiguresRequest` (JSON) in, a `FiguresReply` (JSON) out; errors go in the reply's
`error`, never as a missing answer. The reporter service asks here. Queries run in a
thread on the aggregator's reading engine, so the event loop keeps consuming.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine

from services.aggregator.storage.engine import describe_error
from services.aggregator.storage.queries import figures_for
from shared.logging import get_logger
from shared.ports import FiguresReply, request_from_json
from shared.registry import UnitRegistry
from shared.subjects import FIGURES_QUERY_SUBJECT

log = get_logger("tthc.aggregator")


class QueryServer:
    """Answers figures requests from the aggregator's database."""

    def __init__(self, nats_url: str, engine: Engine, registry: UnitRegistry) -> None:
        self.nats_url, self.engine, self.registry = nats_url, engine, registry
        self._broker = None

    async def answer(self, body: bytes) -> bytes:
        """The JSON FiguresReply to a JSON FiguresRequest (errors in the reply's `error`)."""
        try:
            request = request_from_json(body)
        except Exception as exc:
            return FiguresReply({}, {}, {}, error=f"bad request: {type(exc).__name__}").to_json()
        try:
            reply = await asyncio.to_thread(figures_for, self.engine, self.registry, request)
        except Exception as exc:
            log.error("figures_query_failed", error=describe_error(exc), unit=request.unit_code)
            reply = FiguresReply({}, {}, {}, error=f"figures failed: {describe_error(exc)}")
        return reply.to_json()

    async def start(self) -> None:
        from faststream.nats import NatsBroker
        from faststream.nats.annotations import NatsMessage

        broker = NatsBroker(
            self.nats_url,
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
            title="tthc.query.figures",
            description="Figures request/reply: FiguresRequest in, FiguresReply out (JSON).",
        )(figures_query)
        await broker.start()
        self._broker = broker

    async def stop(self) -> None:
        if self._broker is not None:
            try:
                await self._broker.stop()
            except Exception as exc:  # closing a connection that is already gone
                log.debug("query_server_stop_failed", error=type(exc).__name__)
            self._broker = None
