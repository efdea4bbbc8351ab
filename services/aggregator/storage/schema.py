"""The aggregator's tables (SQLModel), on a metadata of their own.

- `case_event`: every accepted event, stored once (event id = idempotency key, forever),
  its payload the desk's bytes as published.
- `case_state`: one row per case, its folded story (`fold_case`) materialised: enough to
  rebuild the `CaseSummary` without reading the events. The figures read these rows.
- `aggregator_meta`: named counters (highest TTHC_EVENTS sequence included, events
  stored, duplicates seen, ...), updated in the same transaction as the rows above.
- `applied_position`: which TTHC_ACCEPTED messages this database has applied, as
  ranges of stream sequences, in the same transaction: the stream is the log of record,
  this row says how far the database has applied it (`positions.py`).
- `conflicting_event`: an event whose id was already stored with other content: kept
  whole and reported; the first stored still wins for the figures.
- `set_aside`: what the aggregator could not apply (an unreadable hand-off entry, an
  event the database refused), kept as bytes, counted and reported, never blocking
  the messages behind it.

The schema is created by Alembic migrations (`migrations/`), never by `create_all`; a
test keeps migrations and models in step.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

aggregator_registry = registry()


class AggregatorModel(SQLModel, registry=aggregator_registry):
    """Base of the aggregator's tables: their own MetaData, apart from other services'."""


metadata = AggregatorModel.metadata


class CaseEventRow(AggregatorModel, table=True):
    """One accepted event, whole, as published."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case", "commune_code", "case_id"),)

    event_id: str = Field(sa_column=Column(String(128), primary_key=True))
    commune_code: str = Field(sa_column=Column(String(5), nullable=False))
    case_id: str = Field(sa_column=Column(String(64), nullable=False))
    event_type: str = Field(sa_column=Column(String(32), nullable=False))
    occurred_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The fold's inputs, parsed once by intake (the payload stays the whole truth).
    channel: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    due_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    new_due_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    field: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    result_channel: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    agency: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    procedure_code: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    events_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    stored_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Content digest (shared.handoff.content_digest); NULL for events stored before 0003.
    digest: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


ENDED_SPAN_WIDTH = 31_557_600_000_000
"""A Julian year (365.25 days) in µs: the width of an ended span."""
ENDED_SPAN_SHIFT = 433 * 3_600_000_000
"""433 hours in µs: with it every span from 2000 to 2100 starts on 14 December, local
time (UTC+7, no daylight saving; a Julian year drifts by 6 hours a year against the
calendar's): the last day of a Decree 09 year (15 December to 14 December, the default
calendar), so that each Decree 09 period starts in its own year's span."""
OPEN_INSTANT = 2**62
"""Where an open case (`ended_at` NULL) is put: after every span of a real instant."""
ENDED_SPAN_SQL = f"((coalesce(ended_at, {OPEN_INSTANT}) + {ENDED_SPAN_SHIFT}) / {ENDED_SPAN_WIDTH})"
"""The ended span of a case: the year-long slice of time its `ended_at` falls in, open
cases after them all. `ix_case_state_plain` and `ix_case_state_rich` are ordered by it
after the commune, so that a window reads only the cases ended at or after its start
(`SEEN`): a month's figures read a year at most of a commune's history, not all of it.
Integer division, truncating towards zero in both databases (`ended_span`); the same
text in the index and in the query, which is how both databases match an index on an
expression."""


def ended_span(instant: int) -> int:
    """`ENDED_SPAN_SQL` of a case ended at `instant`, as both databases compute it (their
    integer division truncates towards zero; Python's `//` floors)."""
    shifted = instant + ENDED_SPAN_SHIFT
    span = abs(shifted) // ENDED_SPAN_WIDTH
    return span if shifted >= 0 else -span


PLAIN_INDEX_COLUMNS = (
    "commune_code",
    text(ENDED_SPAN_SQL),
    "agency",
    "field",
    "channel",
    "end_kind",
    "lateness",
    "received_at",
    "ended_at",
    "overdue_at",
    "procedure_code",
    # Always NULL here: listed so that SQLite (before 3.42) sees the index as covering
    # `summary IS NULL` too and never visits the table.
    "summary",
)


class CaseStateRow(AggregatorModel, table=True):
    """A case's folded story. Instants are µs since the epoch (UTC)."""

    __tablename__ = "case_state"
    __table_args__ = (
        Index("ix_case_state_province", "province_code", "commune_code"),
        # The figures' read side (queries.py). Plain cases (no waits, letters or
        # anomalies, about 95%) in the order they are counted by group (each commune's
        # by ended span, then the categorical dimensions), covering every column the
        # count reads: read in index order from the window's start span, no table
        # look-up, no sort.
        Index(
            "ix_case_state_plain",
            *PLAIN_INDEX_COLUMNS,
            sqlite_where=text("summary IS NULL"),
            postgresql_where=text("summary IS NULL"),
        ),
        # The other cases (about 5%) without anomalies: found without visiting the
        # plain ones, from the window's start span on (as the plain ones).
        Index(
            "ix_case_state_rich",
            "commune_code",
            text(ENDED_SPAN_SQL),
            "received_at",
            sqlite_where=text("summary IS NOT NULL AND anomaly_count = 0"),
            postgresql_where=text("summary IS NOT NULL AND anomaly_count = 0"),
        ),
        # The cases with anomalies (a fraction of a percent): every window reads them
        # all, since an anomaly counts when its event occurred in the window.
        Index(
            "ix_case_state_anomalous",
            "commune_code",
            sqlite_where=text("anomaly_count > 0"),
            postgresql_where=text("anomaly_count > 0"),
        ),
    )

    commune_code: str = Field(sa_column=Column(String(5), primary_key=True))
    case_id: str = Field(sa_column=Column(String(64), primary_key=True))
    province_code: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    received_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    ended_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    overdue_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    due_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    first_event_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_event_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    channel: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    field: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    end_kind: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    lateness: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    waiting: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    apology_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    anomaly_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    event_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    agency: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    procedure_code: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class MetaRow(AggregatorModel, table=True):
    """A named counter of the aggregator."""

    __tablename__ = "aggregator_meta"

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class AppliedPositionRow(AggregatorModel, table=True):
    """The TTHC_ACCEPTED messages applied, as JSON ranges `[[first, last], ...]` of stream
    sequences, for one incarnation of the stream (its creation time); `lost`: ranges the
    broker no longer held when this database asked for them."""

    __tablename__ = "applied_position"

    stream: str = Field(sa_column=Column(String(64), primary_key=True))
    incarnation: str = Field(sa_column=Column(String(64), nullable=False))
    applied: str = Field(sa_column=Column(Text, nullable=False))
    lost: str = Field(sa_column=Column(Text, nullable=False))


class ConflictingEventRow(AggregatorModel, table=True):
    """An event whose id was stored before with other content: kept whole, reported."""

    __tablename__ = "conflicting_event"
    __table_args__ = (Index("ix_conflicting_event_case", "commune_code", "occurred_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    event_id: str = Field(sa_column=Column(String(128), nullable=False))
    commune_code: str = Field(sa_column=Column(String(5), nullable=False))
    case_id: str = Field(sa_column=Column(String(64), nullable=False))
    occurred_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    agency: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    digest: int = Field(sa_column=Column(BigInteger, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    events_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    stored_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class SetAsideRow(AggregatorModel, table=True):
    """Something the aggregator could not apply, kept as bytes: `kind` is
    `unreadable_handoff` (a hand-off message or entry) or `refused_event` (the
    database refused to store it)."""

    __tablename__ = "set_aside"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    accepted_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    events_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    detail: str = Field(sa_column=Column(String(300), nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    stored_at: int = Field(sa_column=Column(BigInteger, nullable=False))


case_event = CaseEventRow.__table__
case_state = CaseStateRow.__table__
aggregator_meta = MetaRow.__table__
applied_position = AppliedPositionRow.__table__
conflicting_event = ConflictingEventRow.__table__
set_aside = SetAsideRow.__table__

META_KEYS = (
    "events_seq_max",  # highest TTHC_EVENTS sequence whose event is stored
    "events_stored",
    "duplicates_seen",
    "batches_committed",
    "last_event_at",  # greatest occurred_at stored (µs)
    "conflicts_seen",  # events with a known id and other content (kept, reported)
    "set_aside",  # entries or events the aggregator could not apply (kept as bytes)
)
