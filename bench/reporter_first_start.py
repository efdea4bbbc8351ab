"""Benchmark: the reporter's first start on a fresh deployment (issue 14, target 7).

A deployment whose desks sent a year of history before the reporter first ran (no
`schedule.json` yet): on its first start the reporter catches up every period that
became due in the look-back (`CATCH_UP_DAYS`), and freezes the forms of
`TTHC_SNAPSHOT_FORMS` (XLSX and DOCX each) only for the units with data in each period:
the communes that sent events and their provinces, never the registry's other 3,000
communes or 30 provinces. Prints the time, the snapshots made by period kind, the
units, the disk used, and the time per unit snapshot.

The data set: `--communes` communes of one province simulated for real from 1 Dec 2024
to 14 Dec 2025 (`tthc simulate`'s generator), folded into `case_state` rows as the
aggregator stores them (bench/appendix_scale.py's builder); the reporter then starts on
10 Jan 2026 with the decree09 calendar, reading the database in process.

    .venv/bin/python bench/reporter_first_start.py                   # 10 communes, SQLite
    .venv/bin/python bench/reporter_first_start.py --communes 3 --kinds month
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from appendix_scale import NOW, insert_rows, print_machine, template_rows  # noqa: E402

from services.aggregator.storage.engine import make_engine, migrate  # noqa: E402
from services.aggregator.storage.meta import ensure_meta  # noqa: E402
from services.aggregator.storage.reader import LocalFiguresSource  # noqa: E402
from services.reporter.service import ReporterService  # noqa: E402
from shared.domain.periods import parse_period  # noqa: E402
from shared.domain.timeutil import to_instant  # noqa: E402
from shared.registry import load_registry  # noqa: E402
from shared.settings import Settings  # noqa: E402


def build(url: str, province: str, communes: int, seed: int) -> dict[str, Any]:
    registry = load_registry()
    codes = tuple(sorted(c for c in registry.communes if registry.province_of(c) == province))
    if not codes:
        raise SystemExit(f"no commune in province {province!r}")
    picks = codes[:communes]
    t0 = time.perf_counter()
    rows = template_rows(registry, picks, 0.002, seed)
    engine = make_engine(url)
    migrate(engine)
    ensure_meta(engine)
    n = insert_rows(engine, iter(rows.values()))
    with engine.begin() as conn:  # as if the aggregator had stored their events
        conn.exec_driver_sql(
            "UPDATE aggregator_meta SET value = ? WHERE key = 'events_stored'", (n * 4,)
        )
    engine.dispose()
    return {
        "province": province,
        "communes_with_data": len(picks),
        "case_rows": n,
        "build_seconds": round(time.perf_counter() - t0, 1),
    }


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


async def first_start(url: str, data_dir: Path, kinds: str) -> dict[str, Any]:
    registry = load_registry()
    settings = Settings.from_env(
        data_dir=data_dir,
        database_url=url,
        metrics_port=0,
        snapshot_kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()),
    )
    source = LocalFiguresSource(url, registry)
    service = ReporterService(settings, registry, clock=lambda: to_instant(NOW), source=source)
    started = time.perf_counter()
    try:
        made = await service.run_due()
    finally:
        source.close()
    seconds = time.perf_counter() - started
    by_kind = Counter(parse_period(r["period"]["label"]).kind for r in made)
    units = Counter(r["unit"]["kind"] for r in made)
    snapshots = data_dir / "snapshots"
    size = disk_bytes(snapshots) if snapshots.exists() else 0
    return {
        "seconds": round(seconds, 1),
        "snapshots": len(made),
        "by_period_kind": dict(sorted(by_kind.items())),
        "by_unit_kind": dict(sorted(units.items())),
        "periods": len({r["period"]["label"] for r in made}),
        "seconds_per_snapshot": round(seconds / max(1, len(made)), 3),
        "disk_mb": round(size / 1e6, 1),
        "disk_kb_per_snapshot": round(size / 1e3 / max(1, len(made)), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--province", default="01", help="province code (default 01, Hà Nội)")
    parser.add_argument("--communes", type=int, default=10, help="communes with data")
    parser.add_argument(
        "--kinds", default="month,quarter,half,nine_months,year", help="TTHC_SNAPSHOT_KINDS"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    print_machine()
    work = Path(tempfile.mkdtemp(prefix="tthc-bench-reporter-"))
    try:
        url = f"sqlite:///{work / 'tthc.sqlite3'}"
        print(f"building {args.communes} communes of province {args.province} ...", flush=True)
        result: dict[str, Any] = {"data": build(url, args.province, args.communes, args.seed)}
        print("reporter first start ...", flush=True)
        result["first_start"] = asyncio.run(first_start(url, work / "data", args.kinds))
        for key, value in result.items():
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:22} {v}")
        if args.json:
            print(orjson.dumps(result).decode())
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
