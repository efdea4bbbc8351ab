"""Two aggregators starting together on one fresh PostgreSQL database (a standby beside
the active one, docs/operations.md): the rows each start-up creates, the counters and the
applied position, are created once (a counter bumped before it exists too), and the one that comes second neither fails nor
writes over the other's.

Each test holds one aggregator's transaction open at the moment the other runs the same
step, which is the interleaving that made a start-up fail with a unique violation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from services.aggregator.recovery import record_lost
from services.aggregator.storage.engine import make_engine, migrate
from services.aggregator.storage.meta import (
    REWRITTEN_KEY,
    Applied,
    Position,
    bump,
    ensure_meta,
    read_meta,
    read_position,
    record_applied,
)
from services.aggregator.storage.schema import META_KEYS
from shared.subjects import ACCEPTED_STREAM

pytestmark = pytest.mark.postgres


@pytest.fixture
def bare(fresh_postgres_url: str) -> Iterator[Engine]:
    """A database at the current schema with no counters yet: as the first start finds it."""
    engine = make_engine(fresh_postgres_url)
    migrate(engine)
    yield engine
    engine.dispose()


def while_held(engine: Engine, first: Callable, second: Callable) -> None:
    """Run `first` in a transaction left open, then `second` in another thread (its own
    connection: another process), commit `first` once `second` is waiting, and re-raise
    what `second` raised."""
    errors: list[BaseException] = []

    def run_second() -> None:
        try:
            second()
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    with engine.connect() as held:
        held.begin()
        first(held)
        other = threading.Thread(target=run_second)
        other.start()
        time.sleep(0.5)  # the other is now blocked on the held row
        assert other.is_alive(), "the second ran to its end without waiting for the first"
        held.commit()
    other.join(timeout=30)
    assert not other.is_alive()
    if errors:
        raise errors[0]


def test_counters_inserted_by_another_start_are_kept(bare: Engine) -> None:
    """ensure_meta while another start has inserted the counters but not yet committed:
    it waits, then leaves them (7 stays 7)."""

    def insert_counters(conn) -> None:
        conn.exec_driver_sql(
            "INSERT INTO aggregator_meta (key, value) VALUES (%s, %s)",
            [(key, 7) for key in META_KEYS],
        )

    while_held(bare, insert_counters, lambda: ensure_meta(bare))
    with bare.connect() as conn:
        assert read_meta(conn) == dict.fromkeys(META_KEYS, 7)


def test_first_positions_of_two_writers_are_both_kept(bare: Engine) -> None:
    """Two batches recording the first applied messages of an incarnation, at once: the
    position holds both, whichever inserted the row."""
    ensure_meta(bare)

    def first(conn) -> None:
        record_applied(conn, Applied(ACCEPTED_STREAM, "inc-1", (1, 2, 3)))

    def second() -> None:
        with bare.begin() as conn:
            record_applied(conn, Applied(ACCEPTED_STREAM, "inc-1", (4, 5)))

    while_held(bare, first, second)
    with bare.connect() as conn:
        position = read_position(conn, ACCEPTED_STREAM)
    assert position == Position(ACCEPTED_STREAM, "inc-1", [(1, 5)], [])


def test_two_starts_recording_the_first_position(bare: Engine) -> None:
    """Both starts find no position and write one (record_lost): the second waits for
    the first and merges into its row."""
    ensure_meta(bare)
    base = Position(ACCEPTED_STREAM, "inc-1")
    while_held(
        bare,
        lambda conn: record_applied(conn, Applied(ACCEPTED_STREAM, "inc-1", (1,))),
        lambda: record_lost(bare, [(2, 4)], base),
    )
    with bare.connect() as conn:
        position = read_position(conn, ACCEPTED_STREAM)
    assert position == Position(ACCEPTED_STREAM, "inc-1", [(1, 1)], [(2, 4)])


def test_a_counter_created_by_two_writers_counts_both(bare: Engine) -> None:
    """`bump` of a counter row that is absent, by two writers at once: the second waits
    for the first's row and adds to it (2), instead of failing on the key."""

    def second() -> None:
        with bare.begin() as conn:
            bump(conn, REWRITTEN_KEY)

    while_held(bare, lambda conn: bump(conn, REWRITTEN_KEY), second)
    with bare.connect() as conn:
        assert read_meta(conn)[REWRITTEN_KEY] == 2
