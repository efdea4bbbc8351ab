"""The aggregator's tables (SQLModel), on a metadata of their own.

- `case_event`: every accepted event, stored once (event id = idempotency key, forever).
- `case_state`: one row per case, its folded story (`fold_case`) materialised: enough to
  rebuild the `CaseSummary` without reading the events. The figures read these rows.
- `aggregator_meta`: named counters (highest TTHC_EVENTS sequence included, events
  stored, duplicates seen, ...), updated in the same transaction as the rows above.

The schema is created by Alembic migrations (`services/aggregator/migrations/`), never by
`create_all`; a test keeps migrations and models in step.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text, text
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
    # The fold's inputs, parsed once when stored (the payload stays the whole truth).
    channel: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    due_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    new_due_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    field: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    result_channel: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    events_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    stored_at: int = Field(sa_column=Column(BigInteger, nullable=False))


PLAIN_INDEX_COLUMNS = (
    "commune_code",
    "channel",
    "end_kind",
    "lateness",
    "field",
    "received_at",
    "ended_at",
    "overdue_at",
    # Always NULL here: listed so that SQLite (before 3.42) sees the index as covering
    # `summary IS NULL` too and never visits the table.
    "summary",
)


class CaseStateRow(AggregatorModel, table=True):
    """A case's folded story. Instants are µs since the epoch (UTC)."""

    __tablename__ = "case_state"
    __table_args__ = (
        Index("ix_case_state_province", "province_code", "commune_code"),
        # The figures' read side (queries.py), from migration 0002, which dropped 0001's
        # (commune_code, received_at) and (commune_code, ended_at): these two serve
        # every figures query, and each index is paid for on every case row written.
        # Plain cases (no waits, letters or anomalies, about 95%) in the order they are
        # counted by group, covering every column the count reads: read in index
        # order, no table look-up, no sort.
        Index(
            "ix_case_state_plain",
            *PLAIN_INDEX_COLUMNS,
            sqlite_where=text("summary IS NULL"),
            postgresql_where=text("summary IS NULL"),
        ),
        # The other cases (about 5%): found without visiting the plain ones.
        Index(
            "ix_case_state_rich",
            "commune_code",
            "received_at",
            sqlite_where=text("summary IS NOT NULL"),
            postgresql_where=text("summary IS NOT NULL"),
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


class MetaRow(AggregatorModel, table=True):
    """A named counter of the aggregator."""

    __tablename__ = "aggregator_meta"

    key: str = Field(sa_column=Column(String(64), primary_key=True))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


case_event = CaseEventRow.__table__
case_state = CaseStateRow.__table__
aggregator_meta = MetaRow.__table__

META_KEYS = (
    "events_seq_max",  # highest TTHC_EVENTS sequence whose event is stored
    "events_stored",
    "duplicates_seen",
    "batches_committed",
    "last_event_at",  # greatest occurred_at stored (µs)
)
