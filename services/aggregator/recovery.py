"""The stream is the log of record; the database says how far it has applied it.

`reconcile` compares the database's applied position (ranges of TTHC_ACCEPTED
sequences, written with the figures in each batch's transaction) with what the broker
holds and what the durable consumer has already acknowledged:

- messages acknowledged but absent from the database (a restored backup, an empty or
  wrong database) are replayed from the broker through the normal committer; the event
  ids make a replay of anything already applied harmless;
- messages the broker no longer holds (retention) and the database never applied are
  *lost*: recorded in the position row, logged, exported as a metric, and reported as
  incomplete figures by every reply, until the database is restored from a newer backup;
- a stream recreated since the database last applied it (another incarnation: its
  creation time differs) starts a new position; the figures keep every event stored.

The consumer's acknowledgement floor is read before the database's position, so a
message acknowledged in between (always after its commit) is never taken for missing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Engine

from services.aggregator import positions
from services.aggregator.consumer import Committer, Group, fetch_some
from services.aggregator.positions import Ranges
from services.aggregator.storage.meta import (
    LOST_KEY,
    Position,
    bump,
    read_position,
    write_position,
)
from shared.logging import get_logger
from shared.subjects import ACCEPTED_STREAM, AGGREGATOR_CONSUMER

log = get_logger("tthc.aggregator.recovery")

REPLAY_FETCH = 64  # hand-off messages per fetch while replaying


@dataclass(frozen=True, slots=True)
class BrokerView:
    """What the broker holds of TTHC_ACCEPTED and how far the durable consumer acked."""

    incarnation: str
    first_seq: int
    last_seq: int
    ack_floor: int


async def broker_view(js: JetStreamContext) -> BrokerView:
    info = await js.stream_info(ACCEPTED_STREAM)
    consumer = await js.consumer_info(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)
    floor = consumer.ack_floor.stream_seq if consumer.ack_floor else 0
    created = info.created.isoformat() if hasattr(info.created, "isoformat") else info.created
    return BrokerView(str(created), info.state.first_seq, info.state.last_seq, floor or 0)


@dataclass(frozen=True, slots=True)
class Plan:
    """What reconciling found: what to replay, what is newly lost, the position to keep."""

    replay: Ranges
    newly_lost: Ranges
    position: Position
    recreated: bool


def plan(view: BrokerView, position: Position | None) -> Plan:
    """Pure: what to replay and what is lost, given the broker's view and the position."""
    recreated = position is not None and position.incarnation != view.incarnation
    if position is None or recreated:
        position = Position(ACCEPTED_STREAM, view.incarnation)
    applied = positions.merge([*position.applied, *position.lost])
    newly_lost: Ranges = []
    if view.first_seq > 1:  # the broker no longer holds 1 .. first_seq - 1
        newly_lost = positions.missing(applied, 1, view.first_seq - 1)
    replay = positions.missing(applied, max(view.first_seq, 1), view.ack_floor)
    return Plan(replay, newly_lost, position, recreated)


def record_lost(engine: Engine, lost: Ranges, base: Position) -> Position:
    """Write the lost ranges into the position (in a transaction of their own)."""
    with engine.begin() as conn:
        position = read_position(conn, ACCEPTED_STREAM, lock=True)
        if position is None or position.incarnation != base.incarnation:
            position = Position(ACCEPTED_STREAM, base.incarnation)
        position.lost = positions.merge([*position.lost, *lost])
        write_position(conn, position)
        # The data version the figures cache keys on (completeness included) moves.
        bump(conn, LOST_KEY)
        return position


async def reconcile(js: JetStreamContext, engine: Engine, committer: Committer) -> Plan:
    """Replay what the database lacks and record what is lost (see the module docstring)."""
    view = await broker_view(js)
    position = await asyncio.to_thread(_read, engine)
    found = plan(view, position)
    if found.recreated:
        log.warning(
            "stream_recreated",
            stream=ACCEPTED_STREAM,
            database_incarnation=position.incarnation if position else None,
            broker_incarnation=view.incarnation,
        )
    if found.newly_lost or found.recreated or position is None:
        await asyncio.to_thread(record_lost, engine, found.newly_lost, found.position)
    if found.newly_lost:
        log.error(
            "accepted_events_lost",
            stream=ACCEPTED_STREAM,
            messages=positions.count(found.newly_lost),
            ranges=found.newly_lost[:10],
            advice="the broker no longer holds these hand-off messages; restore a newer "
            "database backup, or keep the streams longer (TTHC_STREAM_MAX_AGE_DAYS)",
        )
    if found.replay:
        log.warning(
            "replaying_from_the_log",
            stream=ACCEPTED_STREAM,
            messages=positions.count(found.replay),
            ranges=found.replay[:10],
        )
        for first, last in found.replay:
            await replay(js, committer, first, last)
        log.info("replay_done", messages=positions.count(found.replay))
    return found


def _read(engine: Engine) -> Position | None:
    with engine.connect() as conn:
        return read_position(conn, ACCEPTED_STREAM)


def lost_count(engine: Engine) -> int:
    """Hand-off messages recorded as lost (the figures are incomplete while above 0)."""
    position = _read(engine)
    return positions.count(position.lost) if position else 0


async def replay(js: JetStreamContext, committer: Committer, first: int, last: int) -> None:
    """Apply TTHC_ACCEPTED messages `first..last` again (an ephemeral consumer, no acks)."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=first,
        ack_policy=AckPolicy.NONE,
        inactive_threshold=60.0,
        description="tthc aggregator: replay of what the database lacks",
    )
    psub = await js.pull_subscribe("tthc.accepted.>", stream=ACCEPTED_STREAM, config=config)
    try:
        seq = first
        while seq <= last:
            msgs = await fetch_some(psub, REPLAY_FETCH, 2.0)
            if not msgs:
                info = await js.stream_info(ACCEPTED_STREAM)
                if info.state.last_seq < seq:
                    return  # nothing more to read
                continue
            group = Group()
            for msg in msgs:
                at = msg.metadata.sequence.stream
                if at <= last:
                    group.take(at, msg.data)
                seq = max(seq, at + 1)
            if group.seqs:
                await committer.queue.put(group)
    finally:
        await psub.unsubscribe()
