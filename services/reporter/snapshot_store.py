"""The snapshot store: frozen revisions as files, written once, never changed (layout in
snapshots.py). `content_hash` decides whether a run makes a new revision."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from services.reporter.appendix import Appendix
from services.reporter.paths import inside, safe_part
from services.reporter.render import render
from shared.domain.events import Instant
from shared.domain.figures import FIGURE_KEYS
from shared.domain.timeutil import format_instant

INDENT = orjson.OPT_INDENT_2
RECORD_SCHEMA = "tthc.snapshot/1"
SNAPSHOT_FORMATS = ("xlsx", "docx")


def content_hash(appendix: dict[str, Any], forms: list[str] | None = None) -> str:
    """sha256 of what a snapshot freezes (not its generation time or watermark)."""
    content = {
        "unit": {k: appendix["unit"].get(k) for k in ("kind", "code")},
        "period": appendix["period"],
        "layout": appendix.get("template", {}).get("name"),
        "forms": forms if forms is not None else appendix.get("forms"),
        "figures": appendix["figures"],
        "by_agency": appendix.get("by_agency"),
        "by_field": appendix.get("by_field"),
        "procedures": appendix.get("procedures"),
        "values": appendix.get("values"),
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
        forms: Sequence[Appendix],
        created_at: Instant,
        formats: tuple[str, ...] = SNAPSHOT_FORMATS,
    ) -> tuple[dict[str, Any], bool]:
        """Freeze a unit's forms (the first is the JSON): (record, True) for a new revision,
        (latest, False) if unchanged."""
        appendix = forms[0].to_json()
        appendix["forms"] = [form.template.name for form in forms]
        unit, period = appendix["unit"], appendix["period"]
        kind, label, code = unit["kind"], period["label"], unit["code"]
        digest = content_hash(appendix)
        with self.locked():
            latest = self.record(kind, label, code)
            if latest is not None and latest["hash"] == digest:
                return latest, False
        # Rendered outside the lock (most of a snapshot's time: 0.1-0.2 s a file), so
        # writers in several processes (the render workers) render at once.
        rendered: list[tuple[str, str, bytes]] = [
            (
                f"{form.template.name}.{fmt}",
                f"{safe_part(form.template.name)}.{fmt}",
                render(form, fmt),
            )
            for form in forms
            for fmt in formats
        ]
        with self.locked():
            latest = self.record(kind, label, code)  # another writer may have saved meanwhile
            if latest is not None and latest["hash"] == digest:
                return latest, False
            revision = 1 if latest is None else int(latest["revision"]) + 1
            base = self.unit_dir(kind, label, code)
            rev_dir = base / f"r{revision:03d}"
            rev_dir.mkdir(parents=True, exist_ok=False)
            files: dict[str, str] = {"json": "appendix.json"}
            _write_once(rev_dir / "appendix.json", orjson.dumps(appendix, option=INDENT))
            for key, name, data in rendered:
                _write_once(rev_dir / name, data)
                files[key] = name
            record = {
                "schema": RECORD_SCHEMA,
                "unit": unit,
                "period": period,
                "revision": revision,
                "layout": appendix.get("template", {}).get("name"),
                "forms": appendix["forms"],
                "complete": appendix.get("complete", True),
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
