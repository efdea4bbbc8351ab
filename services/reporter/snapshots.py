"""Frozen period-end appendices (snapshots): files under TTHC_DATA_DIR/snapshots, no database.

Layout (every component sanitised, see paths.py):

    snapshots/<unit kind>/<period label>/<unit code>/index.json      revisions, oldest first
    snapshots/<unit kind>/<period label>/<unit code>/r001/record.json the snapshot record
    snapshots/<unit kind>/<period label>/<unit code>/r001/appendix.json, appendix.xlsx
    snapshots/schedule.json                                          the schedule's progress

A revision directory is written once (files made read-only) and never changed. A new
revision is made only when the content hash differs from the latest one: the hash
covers unit, period, layout, figures and the rows' values, not the generation time or
the watermark, so a re-run over the same figures makes nothing new. Each record keeps
its diff against the previous revision. `index.json` is derived (rewritten atomically).
A lock file serialises writers (the service and `tthc snapshots make`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from services.reporter.appendix import build_appendix, has_data, unit_info
from services.reporter.figsource import fetch
from services.reporter.paths import inside, safe_part
from services.reporter.render import render
from services.reporter.templates import Template
from shared.domain.events import Instant
from shared.domain.figures import FIGURE_KEYS
from shared.domain.periods import Period
from shared.domain.timeutil import format_instant
from shared.ports import FiguresReply, FiguresRequest, FiguresSource
from shared.registry import UnitRegistry

RECORD_SCHEMA = "tthc.snapshot/1"
SNAPSHOT_FORMATS = ("json", "xlsx")
# Province figure requests of a period-end run in flight at once (2 cores measured).
PROVINCES_IN_FLIGHT = 2


def content_hash(appendix: dict[str, Any]) -> str:
    """sha256 of what a snapshot freezes (not its generation time or watermark)."""
    content = {
        "unit": {k: appendix["unit"].get(k) for k in ("kind", "code")},
        "period": appendix["period"],
        "layout": appendix.get("template", {}).get("name"),
        "figures": appendix["figures"],
        "rows": [[r["stt"], r["label"], r["unit"], r["value"]] for r in appendix["rows"]],
    }
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"sha256:{digest}"


def diff_figures(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The figure keys whose value changed: {key: {"from": old, "to": new}}."""
    old = old or {}
    return {
        key: {"from": old.get(key), "to": new.get(key)}
        for key in FIGURE_KEYS
        if old.get(key) != new.get(key)
    }


class SnapshotStore:
    """Snapshot records and files under one directory (TTHC_DATA_DIR/snapshots)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> SnapshotStore:
        return cls(Path(data_dir) / "snapshots")

    def unit_dir(self, kind: str, label: str, code: str) -> Path:
        return inside(self.root, kind, label, code)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def index(self, kind: str, label: str, code: str) -> list[dict[str, Any]]:
        path = self.unit_dir(kind, label, code) / "index.json"
        if not path.exists():
            return []
        return list(orjson.loads(path.read_bytes()).get("revisions", []))

    def record(self, kind: str, label: str, code: str, revision: int | None = None) -> dict | None:
        """A revision's record (the latest when `revision` is None), or None."""
        entries = self.index(kind, label, code)
        if not entries:
            return None
        if revision is None:
            revision = int(entries[-1]["revision"])
        path = self.unit_dir(kind, label, code) / f"r{int(revision):03d}" / "record.json"
        if not path.exists():
            return None
        return dict(orjson.loads(path.read_bytes()))

    def list(
        self, kind: str | None = None, label: str | None = None, code: str | None = None
    ) -> list[dict[str, Any]]:
        """Latest revision of each snapshot (filtered), sorted by kind, label, code."""
        out: list[dict[str, Any]] = []
        if not self.root.exists():
            return out
        for index in sorted(self.root.glob("*/*/*/index.json")):
            k, lab, c = index.parts[-4:-1]
            if (kind and k != safe_part(kind)) or (label and lab != safe_part(label)):
                continue
            if code and c != safe_part(code):
                continue
            revisions = orjson.loads(index.read_bytes()).get("revisions", [])
            if revisions:
                latest = dict(revisions[-1])
                latest.update({"unit_kind": k, "unit_code": c, "period_label": lab})
                latest["revisions"] = len(revisions)
                out.append(latest)
        return out

    def save(
        self,
        appendix: dict[str, Any],
        created_at: Instant,
        formats: tuple[str, ...] = SNAPSHOT_FORMATS,
    ) -> tuple[dict[str, Any], bool]:
        """Freeze an appendix: (record, True) for a new revision, (latest, False) if unchanged."""
        unit, period = appendix["unit"], appendix["period"]
        kind, label, code = unit["kind"], period["label"], unit["code"]
        digest = content_hash(appendix)
        with self.locked():
            latest = self.record(kind, label, code)
            if latest is not None and latest["hash"] == digest:
                return latest, False
            revision = 1 if latest is None else int(latest["revision"]) + 1
            base = self.unit_dir(kind, label, code)
            rev_dir = base / f"r{revision:03d}"
            rev_dir.mkdir(parents=True, exist_ok=False)
            files: dict[str, str] = {}
            for fmt in formats:
                name = f"appendix.{fmt}"
                _write_once(rev_dir / name, render(appendix, fmt))
                files[fmt] = name
            record = {
                "schema": RECORD_SCHEMA,
                "unit": unit,
                "period": period,
                "revision": revision,
                "layout": appendix.get("template", {}).get("name"),
                "hash": digest,
                "watermark": appendix.get("watermark", {}),
                "figures": appendix["figures"],
                "check_ok": appendix.get("check", {}).get("ok"),
                "anomalies_total": (appendix.get("anomalies") or {}).get("total"),
                "created_at": format_instant(created_at),
                "generated_at": appendix.get("generated_at"),
                "files": files,
                "path": str(rev_dir),
                "previous": None
                if latest is None
                else {"revision": latest["revision"], "hash": latest["hash"]},
                "diff": diff_figures(latest["figures"] if latest else None, appendix["figures"])
                if latest is not None
                else {},
            }
            _write_once(rev_dir / "record.json", orjson.dumps(record, option=orjson.OPT_INDENT_2))
            entries = self.index(kind, label, code)
            entries.append(
                {
                    "revision": revision,
                    "hash": digest,
                    "created_at": record["created_at"],
                    "watermark": record["watermark"],
                    "layout": record["layout"],
                    "changed": sorted(record["diff"]),
                }
            )
            _replace(
                base / "index.json",
                orjson.dumps({"revisions": entries}, option=orjson.OPT_INDENT_2),
            )
            return record, True

    def verify(self, record: dict[str, Any]) -> bool:
        """Whether a revision's frozen appendix.json still hashes to its record's hash."""
        path = Path(record["path"]) / "appendix.json"
        try:
            return content_hash(orjson.loads(path.read_bytes())) == record["hash"]
        except (OSError, ValueError, KeyError):
            return False


def _write_once(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, 0o444)


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


async def make_period_snapshots(
    period: Period,
    source: FiguresSource,
    store: SnapshotStore,
    registry: UnitRegistry,
    template: Template,
    now: Instant,
    only: tuple[str, str] | None = None,
    on_saved: Callable[[dict[str, Any], bool], Any] | None = None,
) -> list[tuple[dict[str, Any], bool]]:
    """Freeze the period's appendix of every commune with data and of every province.

    Nothing is made when no unit has any data in the period (before the first event).
    `only=(kind, code)` freezes one unit. Returns (record, created) per unit.
    """
    start, end = period.start_instant, period.end_instant

    async def ask(kind: str, code: str, with_communes: bool = False) -> FiguresReply:
        return await fetch(source, FiguresRequest(kind, code, start, end, now, with_communes))

    results: list[tuple[dict[str, Any], bool]] = []

    def save(kind: str, code: str, reply: FiguresReply) -> None:
        appendix = build_appendix(
            unit_info(registry, kind, code), period, reply, template, now, registry
        )
        record, created = store.save(appendix, now)
        results.append((record, created))
        if on_saved is not None:
            on_saved(record, created)

    async def save_off_loop(kind: str, code: str, reply: FiguresReply) -> None:
        # Rendering (openpyxl) and writing files take CPU and disk time: off the event
        # loop, so services sharing the process (`tthc run all`) keep consuming.
        await asyncio.to_thread(save, kind, code, reply)

    if only is not None:
        kind, code = only
        await save_off_loop(kind, code, await ask(kind, code, kind == "province"))
        return results

    # Every province with its communes first (the aggregator reads a province's communes
    # in one pass and keeps each commune's figures, so the commune requests below read
    # nothing), PROVINCES_IN_FLIGHT at a time: a source reading PostgreSQL in process
    # (`tthc snapshots make`) then works on one reply while the server reads the next
    # (docs/performance.md: 15 s -> 8.4 s for the national appendix).
    codes = sorted(registry.provinces)
    limit = asyncio.Semaphore(PROVINCES_IN_FLIGHT)

    async def ask_province(code: str) -> FiguresReply:
        async with limit:
            return await ask("province", code, with_communes=True)

    tasks = [asyncio.ensure_future(ask_province(code)) for code in codes]
    try:
        replies = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    provinces: dict[str, FiguresReply] = dict(zip(codes, replies, strict=True))
    if any(reply.watermark.get("accepted_events") == 0 for reply in replies):
        return results  # no events at all yet
    if not any(has_data(reply.figures) for reply in provinces.values()):
        return results
    for reply in provinces.values():
        for commune_code in sorted(reply.communes):
            if has_data(reply.communes[commune_code]):
                await save_off_loop("commune", commune_code, await ask("commune", commune_code))
    for code, reply in provinces.items():
        await save_off_loop("province", code, reply)
    return results
