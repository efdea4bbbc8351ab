"""PostgreSQL's fast path for the aggregator's writes: `COPY` instead of executemany.

psycopg's executemany sends and dumps each row apart (about 30 µs an event for the event
rows and again for the case rows, measured in `apply_batch`); `COPY ... FROM STDIN`
streams them. Event rows are copied into `case_event` directly (they are new: their ids
were checked first); case rows go through a temporary table of the session and one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from services.aggregator.storage.dialect import marks
from services.aggregator.storage.rows import STATE_COLUMNS

_STAGING = "case_state_staging"


def upsert_by_copy(conn: Connection, rows: Sequence[tuple], upsert: str) -> None:
    """PostgreSQL: the rows are copied (COPY) into a temporary table of this session,
    emptied at commit, then upserted from it in one statement: 6 µs an event instead of
    28 for psycopg's executemany of the upsert (which sends and dumps each row apart)."""
    names = ", ".join(STATE_COLUMNS)
    conn.exec_driver_sql(  # (a no-op once the session has it; gone with a rollback)
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} "
        "(LIKE case_state INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    conn.exec_driver_sql(f"TRUNCATE {_STAGING}")  # an earlier call of this transaction
    copy_rows(conn, f"COPY {_STAGING} ({names}) FROM STDIN", rows)
    values = f"VALUES ({marks('postgresql', len(STATE_COLUMNS))})"
    conn.exec_driver_sql(upsert.replace(values, f"SELECT {names} FROM {_STAGING}", 1))


def copy_rows(conn: Connection, statement: str, rows: Sequence[tuple]) -> None:
    """PostgreSQL `COPY ... FROM STDIN` of tuples, in the connection's transaction. The
    driver's errors come out as SQLAlchemy's (`DataError`, `IntegrityError`, ...), as
    every other statement's do, so that a refused row is told from an outage."""
    import psycopg

    try:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise DBAPIError.instance(
            statement, None, exc, psycopg.Error, hide_parameters=True
        ) from exc
