"""The benches' database: a PostgreSQL database named in `--database-url` is created
when the server does not have it yet (a bench's data set is its own; the services never
create databases, an operator does, docs/operations.md). SQLite files are created by
`make_engine` anyway."""

from __future__ import annotations

import sys

from sqlalchemy.engine import make_url


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of `url` if absent (connecting to `postgres` on the
    same server as the same user); say so, and exit with a clear message if the server
    cannot be reached."""
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("postgresql") or not parsed.database:
        return
    import psycopg

    admin = parsed.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
            ).fetchone()
            if found is None:
                conn.execute(f'CREATE DATABASE "{parsed.database}"')
                print(f"database {parsed.database} created", flush=True)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.exit(f"cannot reach PostgreSQL for {parsed.database}: {first}")
