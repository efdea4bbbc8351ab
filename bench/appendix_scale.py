"""Benchmark: the statistical appendix at national scale (issue 6, target 3).

Builds one year (and a bit) of case rows for every commune of the registry (3,321
communes, 34 provinces by default) directly in the aggregator's database, then times
the JSON appendix (`figures_for` + the reporter's `build_appendix` + JSON encoding) of
every commune and every province, three times, printing the best and the median.

How the data set is made (generating through NATS would take hours): a few "template"
communes are simulated for real (`tthc simulate`'s generator, realistic stories), each
case folded with `fold_case` into its `case_state` row exactly as the aggregator stores
it; every commune of the registry then gets the rows of one template, renamed to its
own code and province. A small share of cases lose their `received` event (orphans) so
the anomaly path is exercised too. Rows are bulk-inserted (sqlite3 executemany /
PostgreSQL COPY) after `alembic upgrade head`.

    .venv/bin/python bench/appendix_scale.py                       # SQLite under /tmp
    .venv/bin/python bench/appendix_scale.py --database-url postgresql+psycopg://postgres@127.0.0.1/tthc_bench
    .venv/bin/python bench/appendix_scale.py --reuse               # time again, keep the data

Targets: all communes + all provinces under 10 s in all; one commune under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.aggregator.db import make_engine, migrate  # noqa: E402
from services.aggregator.models import case_state  # noqa: E402
from services.aggregator.store import STATE_COLUMNS, ensure_meta, row_from_summary  # noqa: E402
from shared.domain.case import fold_case  # noqa: E402
from shared.domain.timeutil import LOCAL_TZ  # noqa: E402
from shared.domain.validation import event_from_payload  # noqa: E402
from shared.registry import load_registry  # noqa: E402

SIM_START = date(2024, 12, 1)
SIM_END = date(2025, 12, 14)
NOW = datetime(2026, 1, 10, 8, 0, tzinfo=LOCAL_TZ)
PERIOD = "2025"  # decree09: 15 Dec 2024 .. 14 Dec 2025


# --- machine -------------------------------------------------------------------------


def machine_info(engine: Any | None = None) -> dict[str, Any]:
    """CPU, cores, load average, versions: printed with every measurement."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlalchemy

    t0 = time.perf_counter()
    sum(i * 2 for i in range(1_000_000))
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        # A fixed Python loop (about 0.12 s on this VM when idle): how busy the CPU was.
        "python_loop_1m_seconds": round(time.perf_counter() - t0, 3),
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "platform": platform.platform(),
    }
    if engine is not None:
        info["backend"] = engine.url.get_backend_name()
        with engine.connect() as conn:
            if info["backend"] == "sqlite":
                info["sqlite"] = conn.exec_driver_sql("select sqlite_version()").scalar()
            else:
                info["server"] = conn.exec_driver_sql("show server_version").scalar()
    return info


def print_machine(engine: Any | None = None) -> None:
    print("machine: " + orjson.dumps(machine_info(engine)).decode(), flush=True)


def best_median(values: list[float]) -> str:
    return f"best {min(values):.3f}, median {statistics.median(values):.3f}"


# --- data set ------------------------------------------------------------------------


def template_rows(
    registry: Any, communes: tuple[str, ...], orphan_share: float, seed: int
) -> dict[str, list[tuple]]:
    """The `case_state` rows (tuples in STATE_COLUMNS order) of each template commune."""
    from services.simulator.cli import build_config
    from services.simulator.generate import valid_events

    cfg = build_config(registry, communes, SIM_START, SIM_END, NOW)
    by_case: dict[tuple[str, str], list] = {}
    for payload in valid_events(cfg):
        event = event_from_payload(payload)
        by_case.setdefault(event.case_key, []).append(event)
    rng = random.Random(seed)
    out: dict[str, list[tuple]] = {c: [] for c in communes}
    for key, events in by_case.items():
        if rng.random() < orphan_share:
            events = [e for e in events if e.event_type != "received"] or events
        summary = fold_case(events)
        first = min(e.occurred_at for e in events)
        row = row_from_summary(summary, first, registry.province_of(key[0]))
        out[key[0]].append(tuple(row[c] for c in STATE_COLUMNS))
    return out


def renamed(rows: list[tuple], old: str, new: str, province: str) -> list[tuple]:
    """A template's rows as another commune's (codes in case ids and event ids too)."""
    i_code = STATE_COLUMNS.index("commune_code")
    i_case = STATE_COLUMNS.index("case_id")
    i_prov = STATE_COLUMNS.index("province_code")
    i_sum = STATE_COLUMNS.index("summary")
    out = []
    for row in rows:
        r = list(row)
        r[i_code] = new
        r[i_case] = r[i_case].replace(old, new)
        r[i_prov] = province
        if r[i_sum]:
            r[i_sum] = r[i_sum].replace(old, new)
        out.append(tuple(r))
    return out


def insert_rows(engine: Any, rows_iter: Any) -> int:
    """Bulk insert (raw driver: executemany on SQLite, COPY on PostgreSQL)."""
    n = 0
    cols = ", ".join(STATE_COLUMNS)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.url.get_backend_name() == "sqlite":
            marks = ", ".join("?" * len(STATE_COLUMNS))
            for rows in rows_iter:
                cur.executemany(f"INSERT INTO case_state ({cols}) VALUES ({marks})", rows)
                n += len(rows)
        else:
            with cur.copy(f"COPY case_state ({cols}) FROM STDIN") as copy:
                for rows in rows_iter:
                    for row in rows:
                        copy.write_row(row)
                    n += len(rows)
        raw.commit()
    finally:
        raw.close()
    return n


def build_dataset(engine: Any, templates: int, orphan_share: float, seed: int) -> dict[str, Any]:
    registry = load_registry()
    communes = sorted(registry.communes)
    rng = random.Random(seed)
    picks = tuple(sorted(rng.sample(communes, templates)))
    t0 = time.perf_counter()
    rows_of = template_rows(registry, picks, orphan_share, seed)
    t_sim = time.perf_counter() - t0
    migrate(engine)
    ensure_meta(engine)
    with engine.begin() as conn:
        conn.execute(case_state.delete())

    def batches():
        for i, code in enumerate(communes):
            tpl = picks[i % len(picks)]
            yield renamed(rows_of[tpl], tpl, code, registry.province_of(code) or "00")

    t1 = time.perf_counter()
    n = insert_rows(engine, batches())
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    t_ins = time.perf_counter() - t1
    per = [len(r) for r in rows_of.values()]
    return {
        "communes": len(communes),
        "provinces": len(registry.provinces),
        "case_rows": n,
        "cases_per_commune_min": min(per),
        "cases_per_commune_max": max(per),
        "template_communes": len(picks),
        "simulated_days": f"{SIM_START}..{SIM_END}",
        "simulate_fold_seconds": round(t_sim, 1),
        "insert_seconds": round(t_ins, 1),
        "rows_with_summary_json": sum(
            1 for rows in rows_of.values() for r in rows if r[STATE_COLUMNS.index("summary")]
        )
        * len(communes)
        // len(picks),
    }


def dataset_size(engine: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        n = conn.exec_driver_sql("select count(*) from case_state").scalar()
        with_json = conn.exec_driver_sql(
            "select count(*) from case_state where summary is not null"
        ).scalar()
        communes = conn.exec_driver_sql(
            "select count(distinct commune_code) from case_state"
        ).scalar()
    return {"case_rows": n, "rows_with_summary_json": with_json, "communes_with_rows": communes}


# --- timing --------------------------------------------------------------------------


def time_appendices(engine: Any, registry: Any, use_cache: bool) -> dict[str, Any]:
    """One pass: the JSON appendix of every commune, then of every province (with communes).

    The figures cache starts empty; with `use_cache` False every request reads its rows.
    """
    from services.aggregator.queries import cache_of, figures_for

    cache = cache_of(engine)
    with cache.lock:
        cache.version, cache.entries = None, {}
    from services.reporter.appendix import build_appendix, unit_info
    from services.reporter.templates import DEFAULT_TEMPLATE, load_template
    from shared.domain.periods import parse_period
    from shared.ports import FiguresRequest

    period = parse_period(PERIOD, "decree09")
    template = load_template(DEFAULT_TEMPLATE)
    now = int(NOW.timestamp() * 1_000_000)
    per_commune: list[float] = []
    size = 0
    t0 = time.perf_counter()
    for code in sorted(registry.communes):
        c0 = time.perf_counter()
        req = FiguresRequest("commune", code, period.start_instant, period.end_instant, now)
        reply = figures_for(engine, registry, req, use_cache=use_cache)
        doc = build_appendix(unit_info(registry, "commune", code), period, reply, template, now)
        size += len(orjson.dumps(doc))
        per_commune.append(time.perf_counter() - c0)
    t_communes = time.perf_counter() - t0
    per_province: list[float] = []
    t1 = time.perf_counter()
    for code in sorted(registry.provinces):
        p0 = time.perf_counter()
        req = FiguresRequest(
            "province", code, period.start_instant, period.end_instant, now, with_communes=True
        )
        reply = figures_for(engine, registry, req, use_cache=use_cache)
        doc = build_appendix(
            unit_info(registry, "province", code), period, reply, template, now, registry
        )
        size += len(orjson.dumps(doc))
        per_province.append(time.perf_counter() - p0)
    t_provinces = time.perf_counter() - t1
    per_commune.sort()
    return {
        "total": t_communes + t_provinces,
        "communes": t_communes,
        "provinces": t_provinces,
        "commune_median_ms": statistics.median(per_commune) * 1000,
        "commune_p99_ms": per_commune[int(len(per_commune) * 0.99)] * 1000,
        "commune_max_ms": per_commune[-1] * 1000,
        "province_max_ms": max(per_province) * 1000,
        "json_bytes": size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="sqlite:////tmp/tthc-bench/appendix_scale.sqlite3",
        help="SQLite or PostgreSQL URL (its case_state table is replaced)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the data set already there")
    parser.add_argument("--templates", type=int, default=12, help="communes simulated for real")
    parser.add_argument("--orphans", type=float, default=0.002, help="share of orphan cases")
    parser.add_argument("--runs", type=int, default=3, help="timed runs with the figures cache")
    parser.add_argument(
        "--cold-runs", type=int, default=1, help="timed runs without the cache (slower)"
    )
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)

    engine = make_engine(args.database_url)
    print_machine(engine)
    if not args.reuse:
        built = build_dataset(engine, args.templates, args.orphans, args.seed)
        print("dataset: " + orjson.dumps(built).decode(), flush=True)
    print("dataset size: " + orjson.dumps(dataset_size(engine)).decode(), flush=True)
    registry = load_registry()
    for use_cache in (True, False):
        mode = "with the figures cache" if use_cache else "no cache (every request reads rows)"
        runs = []
        for i in range(args.runs if use_cache else args.cold_runs):
            result = time_appendices(engine, registry, use_cache)
            runs.append(result)
            print(
                f"run {i + 1} ({mode}): all {result['total']:.2f}s (communes "
                f"{result['communes']:.2f}s, provinces {result['provinces']:.2f}s); one commune "
                f"median {result['commune_median_ms']:.1f} ms, p99 "
                f"{result['commune_p99_ms']:.1f} ms, max {result['commune_max_ms']:.1f} ms; "
                f"slowest province {result['province_max_ms']:.0f} ms; "
                f"{result['json_bytes']:,} JSON bytes; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        if runs:
            print(
                f"summary ({engine.url.get_backend_name()}, {mode}): all communes + provinces: "
                f"{best_median([r['total'] for r in runs])} s; communes only "
                f"{best_median([r['communes'] for r in runs])} s; provinces only "
                f"{best_median([r['provinces'] for r in runs])} s; one commune (median of a "
                f"run): {best_median([r['commune_median_ms'] for r in runs])} ms; worst "
                f"commune: {best_median([r['commune_max_ms'] for r in runs])} ms",
                flush=True,
            )
    print_machine()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
