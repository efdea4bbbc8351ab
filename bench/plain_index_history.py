"""Benchmark: the figures queries by ended span against the way before (issue 14).

Migrations 0004 and 0005 order `ix_case_state_plain` and `ix_case_state_rich` by each
case's ended span after its commune, so that a period reads the cases ended since its
start's span, not a commune's whole history (the anomalous cases apart). This times, in
one database, the grouped query and the other cases' query as they are and as they
were before (the grouped one without the span's range and grouping, the other one in
one statement by `received_at`, over the indexes of migration 0003, created here as
`ix_case_state_*_before` if missing), interleaved, for nine provinces (every fourth),
one thread: the thread's CPU and the wall time of each pass, and the rows returned (a
group whose cases ended in two spans gives two rows). On SQLite each statement is
pinned to its own indexes (`INDEXED BY`), since the planner may take one of the other
set; PostgreSQL chooses (the plans are printed). Then the whole read
(`read_communes`: both queries and the fold) as it is.

Make the data with `bench/appendix_scale.py` (`--history-years N` adds N earlier years):

    .venv/bin/python bench/appendix_scale.py --runs 1 --cold-runs 0 --single 0 --history-years 3
    .venv/bin/python bench/plain_index_history.py 2025 2025-M06
    .venv/bin/python bench/plain_index_history.py --drop-before-index   # remove it again
    .venv/bin/python bench/plain_index_history.py --as-is 2025   # the production read alone

The extra indexes cost every case row written while they exist: drop them after.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, bindparam, text  # noqa: E402

from services.aggregator.storage.engine import make_engine  # noqa: E402
from services.aggregator.storage.queries import read_communes  # noqa: E402
from services.aggregator.storage.rows import SUMMARY_COLUMNS  # noqa: E402
from services.aggregator.storage.schema import ENDED_SPAN_SQL, ended_span  # noqa: E402
from services.aggregator.storage.sqlrules import (  # noqa: E402
    SEEN_SQL,
    plain_groups_sql,
    rich_cases_sql,
)
from shared.domain.periods import parse_period  # noqa: E402
from shared.registry import load_registry  # noqa: E402

BEFORE_INDEXES = {  # the figures' indexes at migration 0003, as they were
    "ix_case_state_plain_before": (
        "commune_code, agency, field, channel, end_kind, lateness, received_at, ended_at, "
        "overdue_at, procedure_code, summary",
        "summary IS NULL",
    ),
    "ix_case_state_rich_before": ("commune_code, received_at", "summary IS NOT NULL"),
}
BEFORE_RICH_WHERE = f"""commune_code IN :communes AND summary IS NOT NULL
  AND (({SEEN_SQL}) OR anomaly_count > 0)
  AND (apology_count > 0 OR anomaly_count > 0 OR ended_at IS NULL OR ended_at >= :end)"""


PINNED = {  # SQLite: each part of each statement on its own indexes (both sets exist here)
    ("before", "grouped"): ("ix_case_state_plain_before", "ix_case_state_rich_before"),
    ("before", "rich"): ("ix_case_state_rich_before",),
    ("now", "grouped"): ("ix_case_state_plain", "ix_case_state_rich"),
    ("now", "rich"): ("ix_case_state_rich", "ix_case_state_anomalous"),
}


def pinned(sql: str, indexes: tuple[str, ...]) -> str:
    """`sql` with its `UNION ALL` parts read through `indexes` (SQLite's `INDEXED BY`)."""
    parts = sql.split("\nUNION ALL\n")
    if len(parts) != len(indexes):
        raise SystemExit("the statements no longer have the parts this pins")
    return "\nUNION ALL\n".join(
        part.replace("FROM case_state", f"FROM case_state INDEXED BY {index}", 1)
        for part, index in zip(parts, indexes, strict=True)
    )


def statements(dialect: str) -> dict[str, dict[str, str]]:
    """The grouped query and the other cases' query by ended span (as they are) and as
    they were before migrations 0004 and 0005 (group order; the rich cases by
    `received_at`)."""
    now = plain_groups_sql(dialect).text
    before = now.replace(f" AND {ENDED_SPAN_SQL} >= :span", "").replace(f"{ENDED_SPAN_SQL}, ", "")
    if before == now or ENDED_SPAN_SQL in before:
        raise SystemExit("the grouped query no longer has the ended span this compares")
    columns = ", ".join(SUMMARY_COLUMNS)
    return {
        "before": {
            "grouped": before,
            "rich": f"SELECT {columns} FROM case_state WHERE {BEFORE_RICH_WHERE}",
        },
        "now": {"grouped": now, "rich": rich_cases_sql(columns)},
    }


def sampled_provinces() -> list[str]:
    """The nine provinces timed (every fourth)."""
    return sorted(load_registry().provinces)[::4]


def window(label: str) -> dict[str, int]:
    """The Decree 09 period's bounds and its start's ended span, as the queries bind them."""
    period = parse_period(label, "decree09")
    start = period.start_instant
    return {"start": start, "end": period.end_instant, "span": ended_span(start)}


def plan_of(conn: Any, sql: str, params: dict[str, Any]) -> list[str]:
    """The plan's lines (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL)."""
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    stmt = text(explain + sql).bindparams(bindparam("communes", expanding=True))
    return [str(row[-1]) for row in conn.execute(stmt, params).all()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("periods", nargs="*", default=["2025", "2025-M06"], help="Decree 09 labels")
    parser.add_argument(
        "--database-url",
        default="sqlite:////tmp/tthc-bench/appendix_scale.sqlite3",
        help="the database bench/appendix_scale.py filled",
    )
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of each")
    parser.add_argument(
        "--drop-before-index", action="store_true", help="drop the indexes of before"
    )
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="only the production read (read_communes) on the database as it is, the "
        "indexes of before not created: the plans the planner chooses, and the time",
    )
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    dialect = engine.dialect.name
    if args.as_is:
        return as_is(engine, args.periods, args.runs)
    with engine.connect() as conn:
        for name, (columns, where) in BEFORE_INDEXES.items():
            if args.drop_before_index:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
                continue
            t0 = time.perf_counter()
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {name} ON case_state ({columns}) WHERE {where}"
            )
            conn.commit()
            print(f"{name} ready in {time.perf_counter() - t0:.1f}s", flush=True)
        conn.exec_driver_sql("ANALYZE" if dialect == "sqlite" else "ANALYZE case_state")
        conn.commit()
        if args.drop_before_index:
            print(f"{', '.join(BEFORE_INDEXES)} dropped")
            return 0
    registry = load_registry()
    provinces = sampled_provinces()
    variants = {
        (name, part): text(
            pinned(sql, PINNED[name, part]) if dialect == "sqlite" else sql
        ).bindparams(bindparam("communes", expanding=True))
        for name, parts in statements(dialect).items()
        for part, sql in parts.items()
    }
    for label in args.periods:
        base = window(label)
        first = {**base, "communes": list(registry.communes_of(provinces[0]))}
        with engine.connect() as conn:
            for (name, part), stmt in variants.items():
                plan = plan_of(conn, stmt.text, first)
                used = [line.strip() for line in plan if "INDEX" in line.upper()]
                print(f"{label} {name} {part}: " + " | ".join(used[:4]))
        cpu: dict[tuple[str, str], list[float]] = {key: [] for key in variants}
        wall: dict[tuple[str, str], list[float]] = {key: [] for key in variants}
        rows: dict[tuple[str, str], int] = {}
        for run in range(args.runs):
            order = list(variants) if run % 2 == 0 else list(reversed(variants))
            for key in order:
                c0, w0, n = time.thread_time(), time.perf_counter(), 0
                with engine.connect() as conn:
                    for code in provinces:
                        params = {**base, "communes": list(registry.communes_of(code))}
                        result = conn.execute(variants[key], params)
                        n += len(result.cursor.fetchall())
                        result.close()
                cpu[key].append(time.thread_time() - c0)
                wall[key].append(time.perf_counter() - w0)
                rows[key] = n
        for key in variants:
            print(
                f"{label} {key[0]} {key[1]}: CPU {', '.join(f'{v:.2f}' for v in cpu[key])} s; "
                f"wall {', '.join(f'{v:.2f}' for v in wall[key])} s; {rows[key]:,} rows",
                flush=True,
            )
        time_read_communes(engine, label, provinces, args.runs)
    engine.dispose()
    return 0


def time_read_communes(engine: Engine, label: str, provinces: list[str], runs: int) -> None:
    """`read_communes` (both production statements, unpinned, and the fold) over the
    provinces: the thread's CPU and the wall time of each pass (on PostgreSQL the CPU
    leaves out the server's work)."""
    registry = load_registry()
    base = window(label)
    cpu, wall = [], []
    for _ in range(runs):
        c0, w0 = time.thread_time(), time.perf_counter()
        with engine.connect() as conn:
            for code in provinces:
                read_communes(conn, list(registry.communes_of(code)), base["start"], base["end"])
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    print(
        f"{label} read_communes (query, fold, rich cases; ended span): CPU "
        f"{', '.join(f'{v:.2f}' for v in cpu)} s; wall {', '.join(f'{v:.2f}' for v in wall)} s",
        flush=True,
    )


def as_is(engine: Engine, labels: list[str], runs: int) -> int:
    """The production read on the database as it is: which indexes SQLite's planner takes
    for each statement (`EXPLAIN QUERY PLAN`, nothing pinned), then `read_communes`."""
    registry = load_registry()
    provinces = sampled_provinces()
    with engine.connect() as conn:
        indexes = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'case_state'")
            if engine.dialect.name == "sqlite"
            else text("SELECT indexname FROM pg_indexes WHERE tablename = 'case_state'")
        ).scalars()
        print("case_state indexes: " + ", ".join(sorted(indexes)))
    for label in labels:
        first = {**window(label), "communes": list(registry.communes_of(provinces[0]))}
        for part, sql in statements(engine.dialect.name)["now"].items():
            with engine.connect() as conn:
                plan = plan_of(conn, sql, first)
            print(f"{label} {part} plan:")
            for line in plan:
                print(f"    {line}")
        time_read_communes(engine, label, provinces, runs)
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
