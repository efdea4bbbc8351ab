"""Benchmark: the grouped figures query by ended span against group order (issue 14).

Migration 0004 orders `ix_case_state_plain` by each case's ended span after its
commune, so that a period reads the plain cases ended since its start's span, not a
commune's whole history. This times, in one database, the grouped query as it is and
as it was before (the same statement without the span's range and grouping, over an
index in the old column order, created here as `ix_case_state_plain_before` if
missing), interleaved, for nine provinces (every fourth), one thread: the thread's CPU
and the wall time of each pass, and the rows returned (a group whose cases ended in two
spans gives two rows). Then the whole read (`read_communes`: query, fold, rich cases).

Make the data with `bench/appendix_scale.py` (`--history-years N` adds N earlier years):

    .venv/bin/python bench/appendix_scale.py --runs 1 --cold-runs 0 --single 0 --history-years 3
    .venv/bin/python bench/plain_index_history.py 2025 2025-M06
    .venv/bin/python bench/plain_index_history.py --drop-before-index   # remove it again

The extra index costs every case row written while it exists: drop it after.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, text  # noqa: E402

from services.aggregator.storage.engine import make_engine  # noqa: E402
from services.aggregator.storage.queries import read_communes  # noqa: E402
from services.aggregator.storage.schema import ENDED_SPAN_SQL, ended_span  # noqa: E402
from services.aggregator.storage.sqlrules import plain_groups_sql  # noqa: E402
from shared.domain.periods import parse_period  # noqa: E402
from shared.registry import load_registry  # noqa: E402

BEFORE_INDEX = "ix_case_state_plain_before"
BEFORE_COLUMNS = (
    "commune_code, agency, field, channel, end_kind, lateness, received_at, ended_at, "
    "overdue_at, procedure_code, summary"
)  # ix_case_state_plain at migration 0003


def statements(dialect: str) -> dict[str, str]:
    """The grouped query by ended span (as it is) and in group order (as it was)."""
    now = plain_groups_sql(dialect).text
    before = now.replace(f" AND {ENDED_SPAN_SQL} >= :span", "").replace(f"{ENDED_SPAN_SQL}, ", "")
    if before == now or ENDED_SPAN_SQL in before:
        raise SystemExit("the grouped query no longer has the ended span this compares")
    return {"group order (before)": before, "ended span (now)": now}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("periods", nargs="*", default=["2025", "2025-M06"], help="Decree 09 labels")
    parser.add_argument(
        "--database-url",
        default="sqlite:////tmp/tthc-bench/appendix_scale.sqlite3",
        help="the database bench/appendix_scale.py filled",
    )
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of each")
    parser.add_argument("--drop-before-index", action="store_true", help=f"drop {BEFORE_INDEX}")
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url)
    dialect = engine.dialect.name
    with engine.connect() as conn:
        if args.drop_before_index:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {BEFORE_INDEX}")
            conn.commit()
            print(f"{BEFORE_INDEX} dropped")
            return 0
        t0 = time.perf_counter()
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {BEFORE_INDEX} ON case_state ({BEFORE_COLUMNS}) "
            "WHERE summary IS NULL"
        )
        conn.exec_driver_sql("ANALYZE" if dialect == "sqlite" else "ANALYZE case_state")
        conn.commit()
        print(f"{BEFORE_INDEX} ready, analyzed, in {time.perf_counter() - t0:.1f}s", flush=True)
    registry = load_registry()
    provinces = sorted(registry.provinces)[::4]
    variants = {
        name: text(sql).bindparams(bindparam("communes", expanding=True))
        for name, sql in statements(dialect).items()
    }
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    for label in args.periods:
        period = parse_period(label, "decree09")
        start, end = period.start_instant, period.end_instant
        base = {"start": start, "end": end, "span": ended_span(start)}
        with engine.connect() as conn:
            for name, stmt in variants.items():
                plan = conn.execute(
                    text(explain + stmt.text).bindparams(bindparam("communes", expanding=True)),
                    {**base, "communes": list(registry.communes_of(provinces[0]))},
                ).all()
                print(f"{label} {name}: " + " | ".join(str(r[-1]).strip() for r in plan[:6]))
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        wall: dict[str, list[float]] = {name: [] for name in variants}
        rows: dict[str, int] = {}
        for run in range(args.runs):
            order = list(variants) if run % 2 == 0 else list(reversed(variants))
            for name in order:
                c0, w0, n = time.thread_time(), time.perf_counter(), 0
                with engine.connect() as conn:
                    for code in provinces:
                        params = {**base, "communes": list(registry.communes_of(code))}
                        result = conn.execute(variants[name], params)
                        n += len(result.cursor.fetchall())
                        result.close()
                cpu[name].append(time.thread_time() - c0)
                wall[name].append(time.perf_counter() - w0)
                rows[name] = n
        for name in variants:
            print(
                f"{label} {name}: CPU {', '.join(f'{v:.2f}' for v in cpu[name])} s; wall "
                f"{', '.join(f'{v:.2f}' for v in wall[name])} s; {rows[name]:,} rows",
                flush=True,
            )
        times = []
        for _ in range(args.runs):
            c0 = time.thread_time()
            with engine.connect() as conn:
                for code in provinces:
                    read_communes(conn, list(registry.communes_of(code)), start, end)
            times.append(time.thread_time() - c0)
        print(
            f"{label} read_communes (query, fold, rich cases; ended span): CPU "
            f"{', '.join(f'{v:.2f}' for v in times)} s",
            flush=True,
        )
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
