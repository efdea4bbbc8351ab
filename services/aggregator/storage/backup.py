"""A consistent copy of the aggregator's database, taken while it runs (`tthc backup`).

SQLite: the online backup API, page by page, to a new database file (a reader sees a
consistent snapshot; the writer is never blocked for long). PostgreSQL: `pg_dump` in
custom format, for `pg_restore`. Either copy restored later is caught up by the
aggregator from the broker's log (recovery.py).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from services.aggregator.storage.engine import database_missing


class BackupError(RuntimeError):
    """A backup that cannot be made; the message says what to fix."""


def backup(database_url: str, out: Path) -> Path:
    """Copy the database at `database_url` to `out` (refusing to overwrite)."""
    out = out.expanduser()
    if out.exists():
        raise BackupError(f"{out} exists already: give a new file name")
    if not out.parent.is_dir():
        raise BackupError(f"the folder {out.parent} does not exist: create it first")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if database_missing(database_url) or not url.database:
            raise BackupError("no aggregator database yet (TTHC_DATABASE_URL): nothing to back up")
        source = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        target = sqlite3.connect(out)
        try:
            source.backup(target, pages=4096)
        finally:
            target.close()
            source.close()
        return out
    if url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError(
                "pg_dump is not installed (Debian: apt-get install postgresql-client)"
            )
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
        done = subprocess.run(
            [pg_dump, "--format=custom", "--file", str(out), libpq],
            capture_output=True,
            text=True,
            # An unreachable server is given up on after 10 s (libpq waits for ever
            # otherwise); the dump itself takes as long as it takes.
            env={**os.environ, "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "10")},
        )
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["failed"])[0][:200]
            raise BackupError(f"pg_dump: {first}")
        return out
    raise BackupError(f"cannot back up a {url.get_backend_name()} database")
