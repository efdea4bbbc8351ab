"""The figures read in process, read-only: `tthc appendix`, the demo, the bench.

It never creates or migrates anything: before the aggregator's first start the
database has no tables and the figures are those of no events.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from services.aggregator.storage.engine import database_missing, make_engine, schema_present
from services.aggregator.storage.queries import figures_for
from shared.ports import FiguresReply, FiguresRequest
from shared.registry import UnitRegistry


class LocalFiguresSource:
    """`FiguresSource` reading the aggregator's database in this process."""

    def __init__(self, database_url: str, registry: UnitRegistry) -> None:
        self.database_url = database_url
        self.registry = registry
        self._engine: Engine | None = None
        self._ready = False

    def _engine_or_none(self) -> Engine | None:
        if self._ready:
            return self._engine
        if database_missing(self.database_url):
            return None  # do not create an empty database file
        engine = make_engine(self.database_url)
        if not schema_present(engine):
            engine.dispose()
            return None
        self._engine, self._ready = engine, True
        return engine

    def figures_sync(self, request: FiguresRequest) -> FiguresReply:
        return figures_for(self._engine_or_none(), self.registry, request)

    async def figures(self, request: FiguresRequest) -> FiguresReply:
        return await asyncio.to_thread(self.figures_sync, request)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine, self._ready = None, False
