"""Database engines and schema migrations of the aggregator.

SQLite (the default, a file under TTHC_DATA_DIR) runs in WAL mode with pragmas fit for
one writer and many readers; PostgreSQL is used as is. The schema is Alembic's
(`migrations/`), brought to `head` by `migrate()` when the service starts.

Engines hide bound parameters from error messages, and `describe_error` keeps only the
error's class, SQLSTATE and first line: the events' payloads (personal data) never
reach a log line through a database error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")  # a driver may quote a value in its message
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 10000  # how long a SQLite statement waits for a lock


def _sqlite_pragmas(
    dbapi_connection: Any, _record: Any, cache_mib: int = 64, auto_checkpoint: bool = True
) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")  # page cache, KiB
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA journal_size_limit=67108864")  # WAL file cut back to 64 MiB
    if not auto_checkpoint:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def database_missing(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist (readers must not create it)."""
    if not is_sqlite(url):
        return False
    database = make_url(url).database
    return bool(database) and database != ":memory:" and not Path(database).exists()


def make_engine(url: str, background_checkpoints: bool = False, cache_mib: int = 64) -> Engine:
    """An engine for `url`; for SQLite the file's directory is created and pragmas set.

    `background_checkpoints` (SQLite, the aggregator service): commits never checkpoint
    the WAL themselves; the caller runs `checkpoint()` from another thread instead.
    SQLite's automatic checkpoint (every 1,000 WAL pages) runs inside the commit that
    crosses the mark and syncs the files there: measured on batches of 70 events, it
    put the commit's p99 at 45 ms instead of 18.5 and cost a third of the wall time
    (docs/performance.md). `cache_mib`: SQLite's page cache of each connection (each
    connection has its own: the aggregator's readers get a smaller one than its writer)."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(
            engine,
            "connect",
            lambda conn, record: _sqlite_pragmas(
                conn, record, cache_mib=cache_mib, auto_checkpoint=not background_checkpoints
            ),
        )
        return engine
    # A server that does not answer is given up on after PG_CONNECT_TIMEOUT seconds
    # (libpq waits for ever otherwise), unless the URL sets its own connect_timeout.
    own = "connect_timeout" in make_url(url).query
    connect_args = {} if own else {"connect_timeout": PG_CONNECT_TIMEOUT}
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        hide_parameters=True,
        connect_args=connect_args,
    )
    event.listen(engine, "connect", _postgres_session)
    return engine


def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
    """Every statement planned for the table as it is now (`force_custom_plan`).

    psycopg prepares a statement run five times, and PostgreSQL then keeps a generic
    plan made for the tables as they were: on a fresh database, a plan for an empty
    `case_event` (a sequential scan joined by hash) that it keeps while the table grows,
    until an ANALYZE. Measured at 2,000 events/s from an empty database: loading the
    batch's cases went from 0.26 s to 8 s a batch within a minute, p99 28.8 s; planning
    each statement anew costs well under a millisecond."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


PG_CONNECT_TIMEOUT = 10


def reading_connection(engine: Engine) -> Connection:
    """A connection for the read side. On PostgreSQL in autocommit: each statement sees
    its own snapshot anyway (READ COMMITTED), and a request then costs no `BEGIN` and
    `ROLLBACK` round trips (0.15 ms a commune). SQLite keeps its read transaction: one
    snapshot for every statement of the request."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def describe_error(exc: BaseException) -> str:
    """A database error in one line that carries no data: its class and SQLSTATE, and for
    PostgreSQL the table, column and constraint it names (never the server's message,
    which can quote values, nor the statement's parameters); for SQLite the first line
    of its message, which names tables and columns, with anything quoted cut out."""
    orig = getattr(exc, "orig", None) or exc
    name = type(orig).__name__
    diag = getattr(orig, "diag", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if diag is not None or sqlstate:
        where = [
            f"{label} {value}"
            for label, value in (
                ("table", getattr(diag, "table_name", None)),
                ("column", getattr(diag, "column_name", None)),
                ("constraint", getattr(diag, "constraint_name", None)),
            )
            if value
        ]
        return f"{name} ({sqlstate or 'no SQLSTATE'})" + (f": {', '.join(where)}" if where else "")
    text = str(orig).strip()
    first = text.splitlines()[0] if text else ""
    first = _QUOTED.sub("'…'", first.split("[SQL:", 1)[0].strip())[:160]
    return f"{name}: {first}" if first else name


def checkpoint(engine: Engine, mode: str = "PASSIVE") -> tuple[int, int, int] | None:
    """Copy the WAL's committed pages into the SQLite file and sync it (a WAL checkpoint).

    PASSIVE never waits for readers or the writer: it copies what it can; the next one
    continues. Returns SQLite's (busy, WAL frames, frames checkpointed), or None when the
    engine is not SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        return _wal_checkpoint(conn, mode)


def _wal_checkpoint(conn: Connection, mode: str) -> tuple[int, int, int]:
    """`PRAGMA wal_checkpoint(mode)` on `conn`: SQLite's (busy, WAL frames, copied)."""
    if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
        raise ValueError(f"unknown checkpoint mode {mode!r}")
    row = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
    return int(row[0]), int(row[1]), int(row[2])


WAL_RESTART_FRAMES = 4096  # 16 MiB of 4 KiB pages: past this the WAL is made to restart
WAL_RESTART_WAIT_MS = 50  # how long a restart may wait for the writer and the readers


def checkpoint_keeping_wal_short(
    engine: Engine,
    restart_frames: int = WAL_RESTART_FRAMES,
    wait_ms: int = WAL_RESTART_WAIT_MS,
) -> tuple[tuple[int, int, int], bool] | None:
    """A `PASSIVE` checkpoint and, when the WAL holds `restart_frames` or more, a
    `RESTART` one: SQLite's (busy, WAL frames, frames checkpointed) of the last, and
    whether it was a restart. None when the engine is not SQLite.

    Why: under a steady stream of commits a `PASSIVE` checkpoint never catches up with
    the writer (frames land while it syncs), so SQLite never starts the WAL over and the
    file grows without end: 2.7 GB in a 60 s run at 2,000 events/s. Every commit then
    writes past the end of the file, and the file system must allocate blocks for it:
    on ext4 such a `pwrite` waited behind the writeback's block allocation (kernel
    stacks `ext4_da_get_block_prep`, `ext4_mb_new_blocks`, `ext4_wait_block_bitmap`)
    for 0.3-1 s, the commit stalls of docs/performance.md. A `RESTART` checkpoint right
    after the `PASSIVE` one has little left to copy; it holds the writer for that copy
    and waits at most `wait_ms` for readers (else it gives up, busy, and the next round
    tries again), and the next commit writes the WAL from its start, over blocks the
    file already has."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        passive = _wal_checkpoint(conn, "PASSIVE")
        if passive[1] < restart_frames:
            return passive, False
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_ms)}")
        try:
            return _wal_checkpoint(conn, "RESTART"), True
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def alembic_config(engine: Engine | None = None, url: str | None = None):
    """An Alembic Config pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


MIGRATION_LOCK = 0x7474_6863  # "tthc": the advisory lock taken around migrations


def migrate(engine: Engine) -> None:
    """`alembic upgrade head` on the engine's database.

    On PostgreSQL, aggregators started together (a standby beside the active one) take
    an advisory lock first, so one migrates and the others then find nothing to do."""
    from alembic import command

    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), "head")
        return
    with engine.connect() as lock:
        lock.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        try:
            command.upgrade(alembic_config(engine), "head")
        finally:
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
            lock.commit()


def schema_present(engine: Engine) -> bool:
    """Whether the aggregator's tables exist (read-only users check before querying)."""
    names = set(inspect(engine).get_table_names())
    return {"case_event", "case_state", "aggregator_meta", "applied_position"} <= names
