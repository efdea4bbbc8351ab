"""SQLite's WAL is started over by the aggregator's checkpoints, so it does not grow
without end under a steady stream of commits (docs/performance.md, the commit stalls).

A real SQLite file in WAL mode, the aggregator's pragmas (`background_checkpoints`).
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from services.aggregator.storage.engine import (
    BUSY_TIMEOUT_MS,
    checkpoint,
    checkpoint_keeping_wal_short,
    make_engine,
)


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}", background_checkpoints=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    return engine


def _commit(engine: Engine, rows: int = 50) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO t (body) VALUES " + ", ".join(["(hex(randomblob(400)))"] * rows)
        )


def _wal_bytes(tmp_path: Path) -> int:
    """The WAL file's size: how far it ever reached (a restart writes it from its
    start again, over what it has; only growth moves this)."""
    return (tmp_path / "wal.sqlite3-wal").stat().st_size


def _hold_snapshot(engine: Engine):
    """A reader in an open read transaction: its snapshot pins the WAL."""
    conn = engine.raw_connection()
    cursor = conn.cursor()
    cursor.execute("BEGIN")
    cursor.execute("SELECT count(*) FROM t").fetchone()
    return conn


def _round(engine: Engine) -> None:
    """A commit that the checkpoint after it cannot copy whole: a reader's snapshot
    holds it back here; in the service, the commits that land while it syncs."""
    reader = _hold_snapshot(engine)
    _commit(engine)
    checkpoint(engine)
    reader.close()


def test_passive_checkpoints_alone_let_the_wal_grow(tmp_path: Path) -> None:
    """What the restart is for: SQLite starts the WAL over only when a checkpoint has
    copied all of it before the next commit, so when every checkpoint is overtaken the
    file grows with every commit."""
    engine = _engine(tmp_path)
    _commit(engine)
    sizes = []
    for _ in range(6):
        _round(engine)
        sizes.append(_wal_bytes(tmp_path))
    assert all(a < b for a, b in itertools.pairwise(sizes))


def test_restart_starts_the_wal_over(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _commit(engine)
    for _ in range(6):
        _round(engine)
    grown = _wal_bytes(tmp_path)

    result = checkpoint_keeping_wal_short(engine, restart_frames=1)
    assert result is not None
    (busy, frames, copied), restarted = result
    assert restarted and busy == 0 and frames == copied
    for _ in range(4):
        # The same overtaking, now inside the call: its PASSIVE part is held back by
        # the reader, which lets go while the RESTART part waits for it.
        reader = _hold_snapshot(engine)
        _commit(engine)
        threading.Timer(0.05, reader.close).start()
        result = checkpoint_keeping_wal_short(engine, restart_frames=1, wait_ms=5000)
        assert result is not None
        (busy, frames, copied), restarted = result
        assert restarted and busy == 0 and frames == copied
    assert _wal_bytes(tmp_path) == grown  # written from its start each time: no growth

    # Below the mark only the PASSIVE checkpoint runs.
    result = checkpoint_keeping_wal_short(engine, restart_frames=10**9)
    assert result is not None and result[1] is False


def test_restart_gives_up_quickly_on_a_long_reader(tmp_path: Path) -> None:
    """A report reading for seconds must not hold the writer: the restart waits
    `wait_ms` at most, says busy, and the writer goes on at once."""
    engine = _engine(tmp_path)
    for _ in range(3):
        _commit(engine)
    reader = _hold_snapshot(engine)
    _commit(engine)
    try:
        started = time.perf_counter()
        result = checkpoint_keeping_wal_short(engine, restart_frames=1, wait_ms=50)
        took = time.perf_counter() - started
        assert result is not None
        (busy, _frames, _copied), restarted = result
        assert restarted and busy == 1
        assert took < 2.0
        started = time.perf_counter()
        _commit(engine)  # the writer is not held by the checkpoint that gave up
        assert time.perf_counter() - started < 1.0
    finally:
        reader.close()
    # The checkpoint's connection is back at the usual lock wait (every pooled one is
    # checked out at once, so it is among them).
    conns = [engine.connect() for _ in range(4)]
    try:
        waits = {c.exec_driver_sql("PRAGMA busy_timeout").scalar() for c in conns}
        assert waits == {BUSY_TIMEOUT_MS}
    finally:
        for c in conns:
            c.close()


def test_not_sqlite_is_left_alone() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert checkpoint_keeping_wal_short(engine) is None
