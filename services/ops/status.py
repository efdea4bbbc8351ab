"""`tthc status`: the pipeline's streams and consumers, and the database's position.

When every consumer has `num_pending` and `num_ack_pending` at 0 and the database has
applied every message the broker holds (nothing missing, nothing lost), every
published event is in the figures.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.aggregator import positions
from services.aggregator.storage.engine import (
    database_missing,
    make_engine,
    schema_present,
)
from services.aggregator.storage.meta import counts, read_position
from services.ops.failures import database_failure
from shared import pipeline
from shared.natsutil import connect_for_command
from shared.settings import Settings, redact_url
from shared.subjects import ACCEPTED_STREAM

NATS_TIMEOUT = 5.0


async def _nats_status(settings: Settings) -> dict[str, Any]:
    nc = await connect_for_command(settings, "tthc-status")
    try:
        return await pipeline.collect(nc.jetstream(timeout=NATS_TIMEOUT))
    finally:
        await nc.close()


def database_status(settings: Settings, accepted: dict[str, Any] | None) -> dict[str, Any] | None:
    """Counts and the applied position of the aggregator's database, or None if absent."""
    if database_missing(settings.database_url):
        return None
    engine = make_engine(settings.database_url)
    try:
        if not schema_present(engine):
            return None
        c = counts(engine)
        with engine.connect() as conn:
            position = read_position(conn, ACCEPTED_STREAM)
        applied = position.applied if position else []
        lost = position.lost if position else []
        missing: positions.Ranges = []
        if accepted and accepted.get("exists"):
            first = max(1, accepted["first_seq"])
            known = positions.merge([*applied, *lost])
            missing = positions.missing(known, first, accepted["last_seq"])
        return {
            "backend": engine.url.get_backend_name(),
            "events_stored": c["events_stored"],
            "cases": c["cases"],
            "events_stream_seq": c["events_seq_max"],
            "duplicates_seen": c["duplicates_seen"],
            "conflicts_seen": c.get("conflicts_seen", 0),
            "set_aside": c.get("set_aside", 0),
            "batches_committed": c["batches_committed"],
            "applied_messages": positions.count(applied),
            "missing_messages": positions.count(missing),
            "lost_messages": positions.count(lost),
            "lost_ranges": lost[:20],
        }
    finally:
        engine.dispose()


def collect_status(settings: Settings) -> dict[str, Any]:
    """The status object; raises when NATS is unreachable."""
    info = asyncio.run(asyncio.wait_for(_nats_status(settings), timeout=NATS_TIMEOUT * 3))
    consumers = info["consumers"]
    accepted = next((s for s in info["streams"] if s["name"] == ACCEPTED_STREAM), None)
    try:
        database: dict[str, Any] | None = database_status(settings, accepted)
    except Exception as exc:  # NATS is the contract's part; the database is an extra
        database = {"error": database_failure(exc, settings.database_url)}
    # Caught up only when the database says so too: one that cannot be read may lack
    # anything (a wrong TTHC_DATABASE_URL must not read as "all caught up").
    caught_up = all(
        c["num_pending"] == 0 and c["num_ack_pending"] == 0 for c in consumers
    ) and not (database and ("error" in database or database["missing_messages"]))
    complete = database is None or ("error" not in database and not database["lost_messages"])
    return {
        "nats_url": redact_url(settings.nats_url),
        "consumers": consumers,
        "all_caught_up": caught_up,
        "complete": complete,
        "streams": info["streams"],
        "database": database,
    }
