"""Human-facing names of agencies (cơ quan) and fields (lĩnh vực), from data.

The names ship in `labels.json`; a deployment file may add or replace names
(services/reporter/deployment.py). A slug without a name is shown readably, never
dropped: `thue_xa` -> `Thue xa` (agency), `Lĩnh vực tai nguyen` (field).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

LABELS_FILE = Path(__file__).parent / "labels.json"
ORDER_LAST = ("other", "unspecified")


@cache
def builtin_labels() -> dict[str, dict[str, Any]]:
    return json.loads(LABELS_FILE.read_text(encoding="utf-8"))


class Labels:
    """Agency and field names; `extra` (a deployment's own) wins over the built-in ones."""

    def __init__(self, extra: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        base = builtin_labels()
        self._names = {
            kind: {**base.get(kind, {}), **dict((extra or {}).get(kind, {}))}
            for kind in ("agencies", "fields")
        }

    def _name(self, kind: str, slug: str, unit_kind: str) -> str | None:
        entry = self._names[kind].get(slug)
        if isinstance(entry, dict):
            return entry.get(unit_kind) or entry.get("commune")
        return entry

    def agency(self, slug: str, unit_kind: str = "commune") -> str:
        return self._name("agencies", slug, unit_kind) or slug.replace("_", " ").capitalize()

    def field(self, slug: str, unit_kind: str = "commune") -> str:
        return self._name("fields", slug, unit_kind) or f"Lĩnh vực {slug.replace('_', ' ')}"

    def order(self, kind: str, slugs: list[str]) -> list[str]:
        """Slugs in the order of the names file, unknown ones by name, other/unspecified last."""
        known = list(self._names[kind])

        def key(slug: str) -> tuple[int, int, str]:
            last = ORDER_LAST.index(slug) + 1 if slug in ORDER_LAST else 0
            pos = known.index(slug) if slug in known else len(known)
            return (last, pos, slug)

        return sorted(slugs, key=key)
