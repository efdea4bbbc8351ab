"""Benchmark: a national year (issue 14, target 6): stored, rebuilt and reported.

Every commune of the registry (3,321) gets a year of desk events (1 Dec 2024 to 14 Dec
2025, realistic stories of `tthc simulate`'s generator: a few template communes
simulated for real, their events copied to every other commune under its own codes),
stored in `case_event` month by month in the order they happened (communes
interleaved, as a live desk network writes them). Then:

- `tthc rebuild` (`services.aggregator.rebuild`, with `--workers` processes) folds every
  case from the event log into `case_state`: time, events/s, peak memory;
- the national appendix of the year (every province with its communes, then every
  commune: bench/appendix_scale.py's timing) over the rebuilt rows;
- the database's size, per million events.

With `--events N` only the first N events of the year are stored (the country's first
months): run it at a few sizes to see how the costs grow.

    .venv/bin/python bench/national_year.py                          # SQLite, the whole year
    .venv/bin/python bench/national_year.py --events 2000000         # a smaller country
    .venv/bin/python bench/national_year.py --database-url postgresql+psycopg://postgres@127.0.0.1/tthc_bench_year
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from appendix_scale import analyze, print_machine, time_appendices  # noqa: E402
from rebuild import _AT, EVENT_COLUMNS, moved, template_events  # noqa: E402

from bench.benchdb import ensure_database  # noqa: E402
from services.aggregator.storage.engine import make_engine, migrate  # noqa: E402
from services.aggregator.storage.meta import ensure_meta  # noqa: E402
from shared.domain.timeutil import LOCAL_TZ  # noqa: E402
from shared.registry import load_registry  # noqa: E402

CHUNK = 50_000  # rows per insert statement batch


def _month(us: int) -> tuple[int, int]:
    t = datetime.fromtimestamp(us / 1_000_000, LOCAL_TZ)
    return t.year, t.month


def build(engine: Any, limit: int | None, templates: int, progress: bool) -> dict[str, Any]:
    registry = load_registry()
    communes = sorted(registry.communes)
    picks = tuple(communes[:: max(1, len(communes) // templates)][:templates])
    t0 = time.perf_counter()
    by_month: dict[tuple[int, int], dict[str, list[tuple]]] = defaultdict(dict)
    for src, rows in template_events(registry, picks).items():
        for row in sorted(rows, key=lambda r: r[_AT["occurred_at"]]):
            by_month[_month(row[_AT["occurred_at"]])].setdefault(src, []).append(row)
    t_sim = time.perf_counter() - t0
    migrate(engine)
    ensure_meta(engine)
    sqlite = engine.url.get_backend_name() == "sqlite"
    cols = ", ".join(EVENT_COLUMNS)
    insert = f"INSERT INTO case_event ({cols}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
    t1 = time.perf_counter()
    raw = engine.raw_connection()
    seq = 0
    try:
        cur = raw.cursor()
        cur.execute("DELETE FROM case_state")
        cur.execute("DELETE FROM case_event")
        for month in sorted(by_month):
            pending: list[tuple] = []
            for i, code in enumerate(communes):
                src = picks[i % len(picks)]
                for row in by_month[month].get(src, ()):
                    seq += 1
                    pending.append(moved(row, src, code, seq))
                if len(pending) >= CHUNK or i == len(communes) - 1:
                    if limit is not None and seq > limit:
                        del pending[len(pending) - (seq - limit) :]
                        seq = limit
                    _write(cur, sqlite, insert, cols, pending)
                    pending = []
                    if limit is not None and seq >= limit:
                        break
            raw.commit()
            if progress:
                rate = seq / (time.perf_counter() - t1)
                print(
                    f"  stored {month[0]}-{month[1]:02d}: {seq:,} events ({rate:,.0f}/s)",
                    flush=True,
                )
            if limit is not None and seq >= limit:
                break
        mark = "?" if sqlite else "%s"
        cur.execute(
            f"UPDATE aggregator_meta SET value = {mark} WHERE key = 'events_stored'", (seq,)
        )
        raw.commit()
    finally:
        raw.close()
    t_ins = time.perf_counter() - t1
    analyze_events(engine)
    return {
        "events": seq,
        "communes": len(communes),
        "template_communes": len(picks),
        "simulate_seconds": round(t_sim, 1),
        "insert_seconds": round(t_ins, 1),
        "insert_events_per_second": round(seq / t_ins),
    }


def _write(cur: Any, sqlite: bool, insert: str, cols: str, rows: list[tuple]) -> None:
    if not rows:
        return
    if sqlite:
        cur.executemany(insert, rows)
    else:
        with cur.copy(f"COPY case_event ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)


def analyze_events(engine: Any) -> None:
    if engine.url.get_backend_name() == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE case_event")


def database_bytes(engine: Any) -> dict[str, int]:
    if engine.url.get_backend_name() == "sqlite":
        db = Path(engine.url.database)
        total = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
        with engine.connect() as conn:
            sizes = dict(
                conn.exec_driver_sql("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").all()
            )
        events = sum(v for k, v in sizes.items() if "case_event" in k)
        cases = sum(v for k, v in sizes.items() if "case_state" in k)
        return {"total": total, "case_event_and_indexes": events, "case_state_and_indexes": cases}
    with engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
        events = conn.exec_driver_sql("SELECT pg_total_relation_size('case_event')").scalar()
        cases = conn.exec_driver_sql("SELECT pg_total_relation_size('case_state')").scalar()
    return {"total": total, "case_event_and_indexes": events, "case_state_and_indexes": cases}


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of the largest worker it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"this_process": round(own, 1), "largest_worker": round(children, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="sqlite:////tmp/tthc-bench/national_year.sqlite3",
        help="SQLite or PostgreSQL URL (its aggregator tables are emptied and refilled)",
    )
    parser.add_argument("--events", type=int, default=None, help="only the first N events")
    parser.add_argument("--templates", type=int, default=12, help="communes simulated for real")
    parser.add_argument("--workers", type=int, default=2, help="rebuild worker processes")
    parser.add_argument("--reuse", action="store_true", help="keep the events already stored")
    parser.add_argument("--no-appendix", action="store_true", help="skip the national appendix")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from services.aggregator.rebuild import rebuild

    ensure_database(args.database_url)
    engine = make_engine(args.database_url)
    print_machine(engine)
    result: dict[str, Any] = {}
    if not args.reuse:
        print("storing the year's events ...", flush=True)
        result["dataset"] = build(engine, args.events, args.templates, progress=True)
        print("dataset: " + orjson.dumps(result["dataset"]).decode(), flush=True)
    registry = load_registry()
    print(f"rebuild ({args.workers} worker(s)) ...", flush=True)
    report = rebuild(engine, registry.province_of, registry=registry, workers=args.workers)
    analyze(engine)
    result["rebuild"] = {
        "events": report.events,
        "cases": report.cases,
        "seconds": round(report.seconds, 1),
        "events_per_second": round(report.events / report.seconds) if report.seconds else None,
        "peak_rss_mb": peak_rss_mb(),
    }
    print("rebuild: " + orjson.dumps(result["rebuild"]).decode(), flush=True)
    size = database_bytes(engine)
    per_million = 1e6 / max(1, report.events)
    result["database"] = {
        **{f"{k}_mb": round(v / 1e6) for k, v in size.items()},
        **{f"{k}_mb_per_million_events": round(v / 1e6 * per_million, 1) for k, v in size.items()},
    }
    print("database: " + orjson.dumps(result["database"]).decode(), flush=True)
    if not args.no_appendix:
        print("national appendix of the year ...", flush=True)
        timing = time_appendices(engine, registry, use_cache=True)
        result["appendix"] = {k: round(v, 2) for k, v in timing.items()}
        print("appendix: " + orjson.dumps(result["appendix"]).decode(), flush=True)
    result["peak_rss_mb"] = peak_rss_mb()
    if args.json:
        print(orjson.dumps(result).decode())
    print_machine()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
