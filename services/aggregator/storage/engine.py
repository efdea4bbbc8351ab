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

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")  # a driver may quote a value in its message
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(
    dbapi_connection: Any, _record: Any, cache_mib: int = 64, auto_checkpoint: bool = True
) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.execute("PRAGMA busy_timeout=10000")
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
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, hide_parameters=True
        )
        event.listen(
            engine,
            "connect",
            lambda conn, record: _sqlite_pragmas(
                conn, record, cache_mib=cache_mib, auto_checkpoint=not background_checkpoints
            ),
        )
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True
    )


def describe_error(exc: BaseException) -> str:
    """A database error in one line without data: class, SQLSTATE, the driver's first line
    (its DETAIL lines, which can quote values, left out) and never the SQL's parameters."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    first = _QUOTED.sub("'…'", first.split("[SQL:", 1)[0].strip())[:200]
    return f"{type(orig).__name__}{f' ({sqlstate})' if sqlstate else ''}: {first}"


def checkpoint(engine: Engine, mode: str = "PASSIVE") -> tuple[int, int, int] | None:
    """Copy the WAL's committed pages into the SQLite file and sync it (a WAL checkpoint).

    PASSIVE never waits for readers or the writer: it copies what it can; the next one
    continues. Returns SQLite's (busy, WAL frames, frames checkpointed), or None when the
    engine is not SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
        raise ValueError(f"unknown checkpoint mode {mode!r}")
    with engine.connect() as conn:
        row = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
        return int(row[0]), int(row[1]), int(row[2])


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


def migrate(engine: Engine) -> None:
    """`alembic upgrade head` on the engine's database."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def schema_present(engine: Engine) -> bool:
    """Whether the aggregator's tables exist (read-only users check before querying)."""
    names = set(inspect(engine).get_table_names())
    return {"case_event", "case_state", "aggregator_meta", "applied_position"} <= names
