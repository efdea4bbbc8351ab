"""What differs between SQLite and PostgreSQL, said once.

The hot paths speak SQL to the driver (`exec_driver_sql`, raw cursors): SQLAlchemy
compiles a `VALUES` list or a multi-row statement anew for every batch, which cost more
than the database work itself (measured with py-spy). The statements are plain,
portable SQL; only the placeholder, the upsert and the collation differ.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

# Rows per IN (...) list: well under SQLite's variable limit with two columns a key.
CHUNK = 400

Range = tuple[str | None, str | None]  # commune codes [lo, hi): None = unbounded
EVERYTHING: Range = (None, None)


def mark(dialect: str) -> str:
    """The driver's placeholder: `?` for sqlite3, `%s` for psycopg."""
    return "?" if dialect == "sqlite" else "%s"


def marks(dialect: str, n: int) -> str:
    return ", ".join([mark(dialect)] * n)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def upsert_sql(
    dialect: str, table: str, columns: Sequence[str], key: Sequence[str], fixed: Sequence[str] = ()
) -> str:
    """One statement inserting a row, or updating in place the row with the same `key`.

    `fixed`: columns that never change for a key (a case's province): not rewritten on
    update, so an index made only of them and the key is left alone. In place, not
    SQLite's `INSERT OR REPLACE`, which deletes the row and inserts it again under a new
    rowid, rewriting every index."""
    names = ", ".join(columns)
    values = marks(dialect, len(columns))
    kept = set(key) | set(fixed)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in kept)
    return (
        f"INSERT INTO {table} ({names}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


def code_point(dialect: str, column: str) -> str:
    """`column` compared in code-point order, as Python compares strings (merge joins)."""
    if dialect == "postgresql":
        return f'{column} COLLATE "C"'
    return column  # SQLite's BINARY collation is code-point order for UTF-8


def order_by(dialect: str, *columns: str) -> str:
    return ", ".join(code_point(dialect, c) for c in columns)


def commune_range(dialect: str, span: Range) -> tuple[str, tuple[str, ...]]:
    """` WHERE commune_code >= lo AND commune_code < hi` (as far as bounded), with params."""
    col = code_point(dialect, "commune_code")
    terms, params = [], []
    if span[0] is not None:
        terms.append(f"{col} >= {mark(dialect)}")
        params.append(span[0])
    if span[1] is not None:
        terms.append(f"{col} < {mark(dialect)}")
        params.append(span[1])
    return (" WHERE " + " AND ".join(terms) if terms else ""), tuple(params)


def lock_suffix(dialect: str) -> str:
    """`FOR UPDATE` on PostgreSQL: serialises concurrent writers (SQLite has one writer)."""
    return " FOR UPDATE" if dialect == "postgresql" else ""
