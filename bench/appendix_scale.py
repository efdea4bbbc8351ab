"""Benchmark: the statistical appendix at national scale (issue 6, target 3).

Builds one year (and a bit) of case rows for every commune of the registry (3,321
communes, 34 provinces by default) directly in the aggregator's database, then times
the JSON appendix (`figures_for` + the reporter's `build_appendix` + JSON encoding) of
every commune and every province, three times, printing the best and the median.
By default in the reporter's period-end order: every province asked with its communes
(two at a time, threads: on PostgreSQL one's Python overlaps the other's wait for the
server; on SQLite it gains little, docs/performance.md), then every commune, whose figures
the province requests left in the figures cache (`--order communes` asks each commune
first). Then some communes alone, with no cache (the single-commune target).

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
    .venv/bin/python bench/appendix_scale.py --reuse --order communes --threads 1
    .venv/bin/python bench/appendix_scale.py --reuse --processes 2  # through figures workers

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
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.benchdb import ensure_database  # noqa: E402
from services.aggregator.storage.engine import make_engine, migrate  # noqa: E402
from services.aggregator.storage.meta import ensure_meta  # noqa: E402
from services.aggregator.storage.rows import STATE_COLUMNS, fold_row  # noqa: E402
from services.aggregator.storage.schema import case_state  # noqa: E402
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
    registry: Any,
    communes: tuple[str, ...],
    orphan_share: float,
    seed: int,
    first_day: date = SIM_START,
    last_day: date = SIM_END,
) -> dict[str, list[tuple]]:
    """The `case_state` rows (tuples in STATE_COLUMNS order) of each template commune."""
    from services.simulator.cli import build_config
    from services.simulator.generate import valid_events

    cfg = build_config(registry, communes, first_day, last_day, NOW)
    by_case: dict[tuple[str, str], list] = {}
    for payload in valid_events(cfg):
        event = event_from_payload(payload)
        by_case.setdefault(event.case_key, []).append(event)
    rng = random.Random(seed)
    out: dict[str, list[tuple]] = {c: [] for c in communes}
    for key, events in by_case.items():
        if rng.random() < orphan_share:
            events = [e for e in events if e.event_type != "received"] or events
        out[key[0]].append(fold_row(events, registry.province_of(key[0]))[1])
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


def template_communes(communes: list[str], templates: int, seed: int) -> tuple[str, ...]:
    return tuple(sorted(random.Random(seed).sample(communes, templates)))


def every_commune(
    registry: Any, communes: list[str], picks: tuple[str, ...], rows_of: dict[str, list[tuple]]
):
    """Each commune's rows, a batch a commune: its template's, renamed to it."""
    for i, code in enumerate(communes):
        tpl = picks[i % len(picks)]
        yield renamed(rows_of[tpl], tpl, code, registry.province_of(code) or "00")


def build_dataset(engine: Any, templates: int, orphan_share: float, seed: int) -> dict[str, Any]:
    registry = load_registry()
    communes = sorted(registry.communes)
    picks = template_communes(communes, templates, seed)
    t0 = time.perf_counter()
    rows_of = template_rows(registry, picks, orphan_share, seed)
    t_sim = time.perf_counter() - t0
    migrate(engine)
    ensure_meta(engine)
    with engine.begin() as conn:
        conn.execute(case_state.delete())

    t1 = time.perf_counter()
    n = insert_rows(engine, every_commune(registry, communes, picks, rows_of))
    analyze(engine)
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


HISTORY_MARK = "~y"  # case ids of the history copies end with it and their year


def add_history(engine: Any, years: int, templates: int, orphan_share: float, seed: int) -> int:
    """Every commune's `years` earlier years, simulated as the data set's own year is
    (the same template communes, the k-th year's days `k` years earlier, another seed),
    keeping the cases that have ended (the others would stay open for ever: in a real
    office they end). Case ids get `~y<k>`. Earlier history is removed first."""
    registry = load_registry()
    communes = sorted(registry.communes)
    picks = template_communes(communes, templates, seed)
    i_case, i_ended = STATE_COLUMNS.index("case_id"), STATE_COLUMNS.index("ended_at")
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM case_state WHERE case_id LIKE :mark"), {"mark": f"%{HISTORY_MARK}%"}
        )
    added = 0
    for k in range(1, years + 1):
        first, last = (
            SIM_START.replace(year=SIM_START.year - k),
            SIM_END.replace(year=SIM_END.year - k),
        )
        rows_of = template_rows(registry, picks, orphan_share, seed + k, first, last)
        suffix = f"{HISTORY_MARK}{k}"
        ended = {
            tpl: [(*r[:i_case], r[i_case] + suffix, *r[i_case + 1 :]) for r in rows if r[i_ended]]
            for tpl, rows in rows_of.items()
        }
        added += insert_rows(engine, every_commune(registry, communes, picks, ended))
        print(f"  history year -{k} ({first}..{last}): {added:,} rows so far", flush=True)
    analyze(engine)
    return added


def analyze(engine: Any) -> None:
    """Statistics; on PostgreSQL also the visibility map (`VACUUM ANALYZE`), as autovacuum
    leaves it after a bulk load: without it no index-only scan (3 times slower)."""
    if engine.url.get_backend_name() == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE case_state")


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


def appendix_timers(registry: Any, period_label: str, figures: Any) -> tuple[Any, Any]:
    """(commune, province): each times one unit's JSON appendix, its figures from
    `figures(request)` (in process or from the workers), as the reporter builds it;
    returns (seconds, JSON bytes)."""
    from services.reporter.appendix import build_appendix, unit_info
    from services.reporter.templates import DEFAULT_TEMPLATE, load_template
    from shared.domain.periods import parse_period
    from shared.ports import FiguresRequest

    period = parse_period(period_label, "decree09")
    template = load_template(DEFAULT_TEMPLATE)
    now = int(NOW.timestamp() * 1_000_000)

    def commune(code: str) -> tuple[float, int]:
        c0 = time.perf_counter()
        req = FiguresRequest("commune", code, period.start_instant, period.end_instant, now)
        reply = figures(req)
        doc = build_appendix(unit_info(registry, "commune", code), period, reply, template, now)
        return time.perf_counter() - c0, len(orjson.dumps(doc))

    def province(code: str) -> tuple[float, int]:
        p0 = time.perf_counter()
        req = FiguresRequest(
            "province", code, period.start_instant, period.end_instant, now, with_communes=True
        )
        reply = figures(req)
        doc = build_appendix(
            unit_info(registry, "province", code), period, reply, template, now, registry
        )
        return time.perf_counter() - p0, len(orjson.dumps(doc))

    return commune, province


def pass_summary(
    per_commune: list[tuple[float, int]],
    per_province: list[tuple[float, int]],
    t_communes: float,
    t_provinces: float,
    cpu: float,
) -> dict[str, Any]:
    """One pass's figures: wall times, the per-commune spread, the JSON bytes."""
    commune_times = sorted(t for t, _ in per_commune)
    return {
        "total": t_communes + t_provinces,
        "cpu": cpu,
        "communes": t_communes,
        "provinces": t_provinces,
        "commune_median_ms": statistics.median(commune_times) * 1000,
        "commune_p99_ms": commune_times[int(len(commune_times) * 0.99)] * 1000,
        "commune_max_ms": commune_times[-1] * 1000,
        "province_max_ms": max(t for t, _ in per_province) * 1000,
        "json_bytes": sum(n for _, n in per_commune) + sum(n for _, n in per_province),
    }


def time_appendices(
    engine: Any,
    registry: Any,
    use_cache: bool,
    order: str = "provinces",
    threads: int = 2,
    period_label: str = PERIOD,
) -> dict[str, Any]:
    """One pass: the JSON appendix of every commune and of every province (with communes).

    The figures cache starts empty; with `use_cache` False every request reads its rows.
    `order` "provinces" is the reporter's period-end run: each province asked with its
    communes (`threads` at a time, a thread pool), then every commune, whose figures
    the province requests left in the cache. "communes" asks
    every commune first, then the provinces.
    """
    from concurrent.futures import ThreadPoolExecutor

    from services.aggregator.storage.figcache import cache_of
    from services.aggregator.storage.queries import figures_for

    cache = cache_of(engine)
    with cache.lock:
        cache.version, cache.entries = None, {}
    commune, province = appendix_timers(
        registry, period_label, lambda req: figures_for(engine, registry, req, use_cache=use_cache)
    )

    def communes_pass() -> list[tuple[float, int]]:
        return [commune(code) for code in sorted(registry.communes)]

    def provinces_pass() -> list[tuple[float, int]]:
        codes = sorted(registry.provinces)
        if threads <= 1:
            return [province(code) for code in codes]
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(province, codes))

    t0, cpu0 = time.perf_counter(), time.process_time()
    if order == "provinces":
        per_province = provinces_pass()
        t1 = time.perf_counter()
        per_commune = communes_pass()
        t_provinces, t_communes = t1 - t0, time.perf_counter() - t1
    else:
        per_commune = communes_pass()
        t1 = time.perf_counter()
        per_province = provinces_pass()
        t_communes, t_provinces = t1 - t0, time.perf_counter() - t1
    # This process's CPU (both threads; SQLite's work included, PostgreSQL's not).
    cpu = time.process_time() - cpu0
    return pass_summary(per_commune, per_province, t_communes, t_provinces, cpu)


def _worker_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of live processes (Linux /proc; 0 where unreadable)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def time_appendices_in_workers(
    database_url: str,
    registry: Any,
    processes: int,
    provinces_in_flight: int = 2,
    communes_in_flight: int = 1,
    period_label: str = PERIOD,
) -> dict[str, Any]:
    """One pass as deployed with TTHC_FIGURES_WORKERS=`processes`: the aggregator's
    `FiguresWorkers` answer JSON requests, this process decodes each reply and builds
    the appendix, as the reporter does with the replies it gets over NATS.

    Every province with its communes first (`provinces_in_flight` at a time, as the
    reporter's PROVINCES_IN_FLIGHT), then every commune (`communes_in_flight` at a time;
    the reporter asks them one after the other, 1), each
    answered by its province's worker from that worker's figures cache. The workers are
    new for each pass (empty caches) and started before the clock starts."""
    from concurrent.futures import ThreadPoolExecutor

    from services.aggregator.storage.figworkers import FiguresWorkers
    from shared.domain.periods import parse_period
    from shared.ports import FiguresReply, FiguresRequest, request_to_json

    period = parse_period(period_label, "decree09")
    now = int(NOW.timestamp() * 1_000_000)
    workers = FiguresWorkers(database_url, registry, processes)
    try:
        first = FiguresRequest(
            "province", min(registry.provinces), period.start_instant, period.end_instant, now
        )
        workers.submit(request_to_json(first), first)  # starts them (answered by none)
        deadline = time.monotonic() + 120
        while len(workers.pids()) < processes:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the figures workers did not start: {workers.pids()}")
            time.sleep(0.05)
        pids = workers.pids()

        def ask(request: FiguresRequest) -> FiguresReply:
            future = workers.submit(request_to_json(request), request)
            if future is None:
                raise RuntimeError(f"no worker took {request.unit_kind} {request.unit_code}")
            body, failure, _ = future.result()
            if failure is not None:
                raise RuntimeError(f"figures failed: {failure}")
            return FiguresReply.from_json(body)

        commune, province = appendix_timers(registry, period_label, ask)
        cpu_workers0 = _worker_cpu(pids)
        t0, cpu0 = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max(provinces_in_flight, 1)) as pool:
            per_province = list(pool.map(province, sorted(registry.provinces)))
        t1 = time.perf_counter()
        cpu_workers1 = _worker_cpu(pids)
        if communes_in_flight <= 1:
            per_commune = [commune(code) for code in sorted(registry.communes)]
        else:
            with ThreadPoolExecutor(communes_in_flight) as pool:
                per_commune = list(pool.map(commune, sorted(registry.communes)))
        t2 = time.perf_counter()
        cpu = time.process_time() - cpu0
        cpu_workers = _worker_cpu(pids) - cpu_workers0
    finally:
        workers.close()
    summary = pass_summary(per_commune, per_province, t2 - t1, t1 - t0, cpu)
    summary["cpu_workers"] = cpu_workers
    summary["cpu_workers_communes"] = cpu_workers - (cpu_workers1 - cpu_workers0)
    return summary


def time_single_communes(
    engine: Any, registry: Any, count: int, seed: int, period_label: str = PERIOD
) -> dict[str, float]:
    """One commune's appendix asked alone (no cache): median, p99 and max over `count`."""
    from services.aggregator.storage.queries import figures_for

    commune, _ = appendix_timers(
        registry, period_label, lambda req: figures_for(engine, registry, req, use_cache=False)
    )
    codes = random.Random(seed).sample(sorted(registry.communes), count)
    times = [commune(code)[0] for code in codes]
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "p99_ms": times[int(len(times) * 0.99)] * 1000,
        "max_ms": times[-1] * 1000,
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
    parser.add_argument(
        "--order",
        choices=("provinces", "communes"),
        default="provinces",
        help="provinces (with their communes) first, as the reporter's period-end run, "
        "or every commune first",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="provinces asked at a time (provinces order)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        metavar="N",
        help="ask through N figures workers (TTHC_FIGURES_WORKERS=N, as deployed: JSON "
        "replies decoded here) instead of reading in this process (0, the default)",
    )
    parser.add_argument(
        "--communes-in-flight",
        type=int,
        default=1,
        metavar="K",
        help="with --processes: commune requests in flight at once (the reporter: 1)",
    )
    parser.add_argument(
        "--single", type=int, default=300, help="communes timed alone, no cache (0: none)"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--period",
        default=PERIOD,
        help=f"the Decree 09 period timed, e.g. 2025-M06 (default {PERIOD}, the simulated year)",
    )
    parser.add_argument(
        "--history-years",
        type=int,
        default=None,
        metavar="N",
        help="give every commune N years of history before the simulated one, simulated "
        "the same way, the cases that ended (replaces earlier history; 0 removes it). The "
        "cost of a period's figures should not grow with them",
    )
    args = parser.parse_args(argv)
    ensure_database(args.database_url)
    engine = make_engine(args.database_url)
    print_machine(engine)
    if not args.reuse:
        built = build_dataset(engine, args.templates, args.orphans, args.seed)
        print("dataset: " + orjson.dumps(built).decode(), flush=True)
    else:  # a data set from an older schema gets the newer indexes (built once)
        t0 = time.perf_counter()
        migrate(engine)
        analyze(engine)
        print(f"migrated to head and analyzed in {time.perf_counter() - t0:.1f}s", flush=True)
    if args.history_years is not None:
        t0 = time.perf_counter()
        added = add_history(engine, args.history_years, args.templates, args.orphans, args.seed)
        print(
            f"history: {added:,} case rows, {args.history_years} year(s) before the "
            f"simulated one, in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
    print("dataset size: " + orjson.dumps(dataset_size(engine)).decode(), flush=True)
    registry = load_registry()
    for use_cache in (True, False) if not args.processes else (True,):
        if args.processes:
            mode = (
                f"provinces first, {args.processes} figures worker(s), "
                f"{args.threads} province(s) and {args.communes_in_flight} commune(s) in flight"
            )
        elif use_cache:
            mode = f"{args.order} first, {args.threads} thread(s), with the figures cache"
        else:
            mode = f"{args.order} first, {args.threads} thread(s), no cache (every request reads)"
        runs = []
        for i in range(args.runs if use_cache else args.cold_runs):
            if args.processes:
                result = time_appendices_in_workers(
                    args.database_url,
                    registry,
                    args.processes,
                    args.threads,
                    args.communes_in_flight,
                    args.period,
                )
            else:
                result = time_appendices(
                    engine, registry, use_cache, args.order, args.threads, args.period
                )
            runs.append(result)
            workers_cpu = (
                f", workers' CPU {result['cpu_workers']:.2f}s (communes "
                f"{result['cpu_workers_communes']:.2f}s)"
                if "cpu_workers" in result
                else ""
            )
            print(
                f"run {i + 1} ({mode}): all {result['total']:.2f}s (communes "
                f"{result['communes']:.2f}s, provinces {result['provinces']:.2f}s); one commune "
                f"median {result['commune_median_ms']:.1f} ms, p99 "
                f"{result['commune_p99_ms']:.1f} ms, max {result['commune_max_ms']:.1f} ms; "
                f"slowest province {result['province_max_ms']:.0f} ms; "
                f"{result['json_bytes']:,} JSON bytes; CPU {result['cpu']:.2f}s{workers_cpu}; "
                f"load {os.getloadavg()[0]:.2f}",
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
    if args.single:
        single = time_single_communes(engine, registry, args.single, args.seed, args.period)
        print(
            f"one commune alone ({args.single} communes, no cache): median "
            f"{single['median_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms, max "
            f"{single['max_ms']:.1f} ms; load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    print_machine()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
