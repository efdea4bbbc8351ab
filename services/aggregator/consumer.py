"""The aggregator's hot path: hand-off messages in, one transaction per group, acks after.

A fetch task pulls hand-off messages from the durable consumer on TTHC_ACCEPTED and
groups them: a group goes to the committer as soon as it is free and grows, up to
TTHC_APPLY_MAX_EVENTS events, only while it is busy (an idle pipeline adds no wait of its own;
under load the commit time is the batching window). The committer applies each group in
one database transaction, in a thread, so the event loop keeps fetching and answering,
and acknowledges the messages only after the commit.

Nothing in a group costs the others: an entry that cannot be read is set aside (kept as
bytes) and the rest applied; an event the database refuses is found by halving the
group and set aside alone. A database that is down (not refusing data) leaves the group
unacknowledged and retried with back-off, the messages marked in progress meanwhile.
The replay of what the database lacks (recovery.py) goes through the same committer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.storage.apply import BatchResult, SetAside, apply_batch
from services.aggregator.storage.cache import CaseCache
from services.aggregator.storage.engine import describe_error
from services.aggregator.storage.meta import Applied
from shared import handoff
from shared.handoff import HandoffEvent
from shared.logging import get_logger
from shared.subjects import ACCEPTED_STREAM

log = get_logger("tthc.aggregator")

FETCH_IDLE_SECONDS = 1.0  # how long one fetch waits when nothing is pending
# Hand-off messages per fetch: each carries up to TTHC_BATCH_SIZE events, so a group is
# built from a few messages at a time.
FETCH_MESSAGES = 2
# While the committer is busy the fetch task keeps gathering, asking this long each time.
GATHER_POLL_SECONDS = 0.005
RETRY_MAX_SECONDS = 10.0
SLOW_BATCH_SECONDS = 0.25  # a batch slower than this is logged with its steps' times


@dataclass(slots=True)
class Group:
    """Hand-off messages taken together: their events, what could not be read, and the
    stream sequences they occupy (acked: messages of the durable consumer)."""

    msgs: list[Msg] = field(default_factory=list)
    events: list[HandoffEvent] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)

    def take(self, seq: int, data: bytes) -> None:
        """Add one hand-off message's content (its entries, or what could not be read)."""
        events, unreadable = handoff.decode(data)
        self.events.extend(events)
        self.set_aside.extend(
            SetAside(
                "unreadable_handoff",
                f"entry {u.index}: {u.error}" if u.index is not None else u.error,
                u.data,
                accepted_seq=seq,
            )
            for u in unreadable
        )
        self.seqs.append(seq)


def is_refusal(exc: BaseException) -> bool:
    """Whether the database refused the data (SQLSTATE classes 22 and 23, or text that
    cannot be encoded): a retry cannot help. Anything else (the database down, locked,
    full, a schema that does not match) is a failure, retried with back-off."""
    return isinstance(exc, DataError | IntegrityError | ValueError)


class Committer:
    """Applies groups one at a time, exactly once, and acknowledges after the commit."""

    def __init__(
        self,
        engine: Engine,
        province_of: Callable[[str], str | None],
        metrics: AggregatorMetrics,
        incarnation: Callable[[], str],
    ) -> None:
        self.engine = engine
        self.province_of = province_of
        self.metrics = metrics
        self.incarnation = incarnation
        self.cache = CaseCache()  # this process is the database's writer of these cases
        self.queue: asyncio.Queue[Group | None] = asyncio.Queue(maxsize=1)
        self.busy = False
        self.batches_committed = 0
        self.stopping = asyncio.Event()
        self.on_commit: Callable[[], None] = lambda: None

    async def run(self) -> None:
        while True:
            group = await self.queue.get()
            if group is None:
                return
            self.busy = True
            try:
                await self.commit(group)
            finally:
                self.busy = False

    def _applied(self, group: Group) -> Applied:
        return Applied(ACCEPTED_STREAM, self.incarnation(), tuple(group.seqs))

    async def commit(self, group: Group) -> None:
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                result = await asyncio.to_thread(self._apply, group)
                break
            except Exception as exc:
                self.metrics.db_errors.inc()
                log.error(
                    "batch_failed",
                    error=describe_error(exc),
                    events=len(group.events),
                    retry_in=delay,
                )
                if self.stopping.is_set():
                    for msg in group.msgs:  # redelivered at once to whoever runs next
                        with contextlib.suppress(Exception):
                            await msg.nak()
                    return
                for msg in group.msgs:
                    with contextlib.suppress(Exception):
                        await msg.in_progress()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        for msg in group.msgs:
            try:
                await msg.ack()
            except Exception as exc:  # redelivered later; the event ids make it harmless
                log.warning("ack_failed", error=str(exc))
        self._observe(group, result, time.perf_counter() - started)

    def _apply(self, group: Group) -> BatchResult:
        """One transaction; if the database refuses some event, find it and set it aside."""
        try:
            return apply_batch(
                self.engine,
                group.events,
                self.province_of,
                self.cache,
                applied=self._applied(group),
                set_aside=group.set_aside,
            )
        except Exception as exc:
            if not is_refusal(exc):
                raise
        return self._apply_isolating(group)

    def _apply_isolating(self, group: Group) -> BatchResult:
        total = BatchResult()
        refused: list[SetAside] = []
        self._halves(group.events, total, refused)
        last = apply_batch(
            self.engine,
            [],
            self.province_of,
            self.cache,
            applied=self._applied(group),
            set_aside=[*group.set_aside, *refused],
        )
        total.commit_us = last.commit_us
        return total

    def _halves(self, events: Sequence[HandoffEvent], total: BatchResult, refused: list) -> None:
        try:
            part = apply_batch(self.engine, events, self.province_of, self.cache)
        except Exception as exc:
            if not is_refusal(exc):
                raise
            if len(events) == 1:
                event = events[0]
                log.error("event_refused_by_database", event_id=event.event_id[:128],
                          seq=event.seq, error=describe_error(exc))  # fmt: skip
                refused.append(
                    SetAside("refused_event", describe_error(exc), event.payload, None, event.seq)
                )
                return
            middle = len(events) // 2
            self._halves(events[:middle], total, refused)
            self._halves(events[middle:], total, refused)
            return
        total.applied.extend(part.applied)
        total.duplicates += part.duplicates
        total.conflicts += part.conflicts
        total.cases.extend(part.cases)

    def _observe(self, group: Group, result: BatchResult, took: float) -> None:
        m = self.metrics
        m.batch_duration.observe(took)
        if took > SLOW_BATCH_SECONDS:
            # Cumulative seconds at the end of each step inside the transaction.
            log.warning(
                "slow_batch",
                seconds=round(took, 3),
                events=len(group.events),
                steps={k: round(v, 3) for k, v in result.phases.items()},
            )
        m.batch_size.observe(len(group.events))
        m.events_applied.inc(len(result.applied))
        m.duplicates.inc(result.duplicates)
        if result.conflicts:
            m.conflicts.inc(result.conflicts)
            log.warning("conflicting_duplicates_kept", count=result.conflicts)
        if group.set_aside:
            m.bad_messages.inc(len(group.set_aside))
            log.error("handoff_entries_set_aside", count=len(group.set_aside), seqs=group.seqs)
        commit_ns = result.commit_us * 1000
        for event in result.applied:
            if event.published_ns:
                m.latency.observe(max(0.0, (commit_ns - event.published_ns) / 1e9))
        self.batches_committed += 1
        self.on_commit()
        log.debug(
            "batch_committed",
            events=len(group.events),
            applied=len(result.applied),
            duplicates=result.duplicates,
            cases=len(result.cases),
        )


async def fetch_some(psub: Any, batch: int, timeout: float) -> list[Msg]:
    try:
        return await psub.fetch(batch, timeout=timeout)
    except (NatsTimeoutError, TimeoutError):
        return []


async def fetch_loop(psub: Any, committer: Committer, batch_size: int) -> None:
    """Group hand-off messages for the committer (see the module docstring)."""
    while not committer.stopping.is_set():
        try:
            msgs = await fetch_some(psub, FETCH_MESSAGES, FETCH_IDLE_SECONDS)
            if not msgs:
                continue
            group = Group()
            take(group, msgs)
            while len(group.events) < batch_size and not committer.stopping.is_set():
                if not committer.busy and committer.queue.empty():
                    break  # the committer waits: hand over now
                more = await fetch_some(psub, FETCH_MESSAGES, GATHER_POLL_SECONDS)
                if more:
                    take(group, more)
            await committer.queue.put(group)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # connection trouble: nats-py reconnects by itself
            log.warning("fetch_failed", error=str(exc))
            await asyncio.sleep(0.5)


def take(group: Group, msgs: list[Msg]) -> None:
    for msg in msgs:
        group.msgs.append(msg)
        group.take(msg.metadata.sequence.stream, msg.data)
