"""Benchmark: recompute every case from the stored events (issue 6, target 4).

Stores N events (default 1,000,000) in the aggregator's `case_event` table, in the
order they happened (communes interleaved, as a live desk network writes them), then
times, three times each:

- `tthc verify` (fold every case again, compare with its `case_state` row, no drift),
- `tthc rebuild` (rewrite every `case_state` row from the events, one transaction),

and once `tthc verify --deep` (payloads decoded again) and the previous `store.verify`
for comparison. Prints events/s, best and median, and the machine.

The events are realistic desk stories (`tthc simulate`'s generator) of a few template
communes, copied to other communes of the registry under their own codes (simulating
every commune would take longer than the measurement).

    .venv/bin/python bench/rebuild.py                      # SQLite under /tmp
    .venv/bin/python bench/rebuild.py --database-url postgresql+psycopg://postgres@127.0.0.1/tthc_bench_rebuild

Target: >= 50,000 events/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from appendix_scale import NOW, SIM_END, SIM_START, print_machine  # noqa: E402

from bench.benchdb import ensure_database  # noqa: E402
from services.aggregator.storage.engine import make_engine, migrate  # noqa: E402
from services.aggregator.storage.meta import ensure_meta  # noqa: E402
from services.aggregator.storage.rows import EVENT_INSERT_COLUMNS  # noqa: E402
from shared.domain.validation import event_from_payload  # noqa: E402
from shared.handoff import content_digest  # noqa: E402
from shared.registry import load_registry  # noqa: E402

EVENT_COLUMNS = EVENT_INSERT_COLUMNS  # the aggregator's own insert order
_AT = {name: i for i, name in enumerate(EVENT_COLUMNS)}
_RENAMED = ("event_id", "commune_code", "case_id", "payload")  # hold the commune code


def template_events(registry: Any, communes: tuple[str, ...]) -> dict[str, list[tuple]]:
    """Each template commune's events as `case_event` tuples (EVENT_COLUMNS order)."""
    from services.simulator.cli import build_config
    from services.simulator.generate import valid_events

    cfg = build_config(registry, communes, SIM_START, SIM_END, NOW)
    out: dict[str, list[tuple]] = {c: [] for c in communes}
    for payload in valid_events(cfg):
        e = event_from_payload(payload)
        values = {name: getattr(e, name, None) for name in EVENT_COLUMNS}
        raw = orjson.dumps(payload)
        values.update(payload=raw.decode(), stored_at=0, digest=content_digest(raw))
        out[e.commune_code].append(tuple(values[name] for name in EVENT_COLUMNS))
    return out


def moved(row: tuple, src: str, code: str, seq: int | None = None) -> tuple:
    """A template event moved to another commune (ids and payload renamed)."""
    out = list(row)
    for name in _RENAMED:
        out[_AT[name]] = out[_AT[name]].replace(src, code)
    out[_AT["events_seq"]] = seq
    return tuple(out)


def build(engine: Any, n_events: int, templates: int) -> dict[str, Any]:
    registry = load_registry()
    communes = sorted(registry.communes)
    picks = tuple(communes[:: max(1, len(communes) // templates)][:templates])
    t0 = time.perf_counter()
    tpl = template_events(registry, picks)
    rows: list[tuple] = []
    i = 0
    while len(rows) < n_events:
        code = communes[(i * 7) % len(communes)]
        src = picks[i % len(picks)]
        rows.extend(moved(r, src, code) for r in tpl[src])
        i += 1
    del rows[n_events:]  # (the last commune's stories cut short: orphans and open cases)
    occurred = _AT["occurred_at"]
    rows.sort(key=lambda r: r[occurred])  # stored in the order things happened
    rows = [moved(r, "", "", seq) for seq, r in enumerate(rows, 1)]
    t_gen = time.perf_counter() - t0
    migrate(engine)
    ensure_meta(engine)
    t1 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("DELETE FROM case_state")
        cur.execute("DELETE FROM case_event")
        cols = ", ".join(EVENT_COLUMNS)
        if engine.url.get_backend_name() == "sqlite":
            marks = ", ".join("?" * len(EVENT_COLUMNS))
            for k in range(0, len(rows), 20_000):
                cur.executemany(
                    f"INSERT INTO case_event ({cols}) VALUES ({marks})", rows[k : k + 20_000]
                )
        else:
            with cur.copy(f"COPY case_event ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return {
        "events": len(rows),
        "communes": i,
        "template_communes": len(picks),
        "generate_seconds": round(t_gen, 1),
        "insert_seconds": round(time.perf_counter() - t1, 1),
    }


def timed(label: str, fn: Any) -> Any:
    report = fn()
    rate = report.events / report.seconds if report.seconds else 0
    print(
        f"{label}: {report.events:,} events, {report.cases:,} cases, drift {report.drift}, "
        f"rewritten {report.repaired:,} in {report.seconds:.2f}s = {rate:,.0f} events/s",
        flush=True,
    )
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="sqlite:////tmp/tthc-bench/rebuild.sqlite3",
        help="SQLite or PostgreSQL URL (its aggregator tables are emptied and refilled)",
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--templates", type=int, default=8)
    parser.add_argument("--reuse", action="store_true", help="keep the events already stored")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--no-old", action="store_true", help="(kept for old command lines; does nothing)"
    )
    parser.add_argument(
        "--workers", default="1,2", help="worker process counts to time (comma-separated)"
    )
    args = parser.parse_args(argv)

    from services.aggregator.rebuild import rebuild
    from services.aggregator.verify import verify_fast, verify_parallel

    ensure_database(args.database_url)
    engine = make_engine(args.database_url)
    print_machine(engine)
    if not args.reuse:
        print("dataset: " + orjson.dumps(build(engine, args.events, args.templates)).decode())
    registry = load_registry()
    province_of = registry.province_of
    url = engine.url.render_as_string(hide_password=False)
    timed("first rebuild (fills case_state)", lambda: rebuild(engine, province_of))
    results: dict[str, list[float]] = {}
    for workers in (int(w) for w in args.workers.split(",")):
        verify_name, rebuild_name = f"verify, {workers} worker(s)", f"rebuild, {workers} worker(s)"
        results[verify_name], results[rebuild_name] = [], []
        for i in range(args.runs):
            if workers == 1:
                rate = timed(f"run {i + 1} {verify_name}", lambda: verify_fast(engine, province_of))
            else:
                rate = timed(
                    f"run {i + 1} {verify_name}",
                    lambda w=workers: verify_parallel(url, registry, w),
                )
            results[verify_name].append(rate)
            results[rebuild_name].append(
                timed(
                    f"run {i + 1} {rebuild_name}",
                    lambda w=workers: rebuild(engine, province_of, registry=registry, workers=w),
                )
            )
    timed("verify --deep", lambda: verify_fast(engine, province_of, deep=True))
    for name, rates in results.items():
        if rates:
            print(
                f"summary ({engine.url.get_backend_name()}) {name}: best {max(rates):,.0f} "
                f"events/s, median {statistics.median(rates):,.0f} events/s"
            )
    print_machine()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
