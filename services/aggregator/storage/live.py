"""Live figures for the Prometheus gauges: every rule at the moment of asking, per unit.

Computed in the database from the same rule table as every other figure
(`sqlrules.live_rules_sql`), over all cases, for the window from the beginning of time
to `now`, per unit (province or commune) and channel; then the newest event and the
anomalies by kind per unit.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import Engine, text

from services.aggregator.storage.sqlrules import live_rules_sql
from shared.domain.figures.rules import LATENESS

UNKNOWN_UNIT = "unknown"
BEGINNING = -(2**62)  # an instant before every case
_UNIT_COLUMN = {"province": "province_code", "commune": "commune_code"}
_SUMMED = {
    "open": "open_at_end",
    "open_overdue": "open_overdue_at_end",
    "overdue_without_apology": "open_overdue_without_apology_at_end",
    "awaiting_supplement": "awaiting_supplement_at_end",
    "paused": "paused_at_end",
    "apologies": "apologies_sent",
}


def live_figures(engine: Engine, unit_label: str, now: int) -> dict[str, dict[Any, float]]:
    """All-time and current figures per unit, from the case rows, asked at `now`."""
    column = _UNIT_COLUMN[unit_label]
    out: dict[str, dict[Any, float]] = defaultdict(dict)
    with engine.connect() as conn:
        result = conn.execute(text(live_rules_sql(column)), {"start": BEGINNING, "end": now})
        names = list(result.keys())
        for row in result:
            f = dict(zip(names, row, strict=True))
            unit, channel = f["unit"] or UNKNOWN_UNIT, f["channel"]
            out["received"][(unit, channel)] = f["received_total"]
            for lateness in LATENESS:
                out["resolved"][(unit, channel, lateness)] = f[f"resolved_{lateness}"]
            for gauge, key in _SUMMED.items():
                out[gauge][unit] = out[gauge].get(unit, 0) + (f[key] or 0)
        for unit, last in conn.execute(
            text(f"SELECT {column}, max(last_event_at) FROM case_state GROUP BY {column}")
        ):
            out["last_event"][unit or UNKNOWN_UNIT] = (last or 0) / 1_000_000
        for unit, raw in conn.execute(
            text(f"SELECT {column}, summary FROM case_state WHERE anomaly_count > 0")
        ):
            key = unit or UNKNOWN_UNIT
            for kind, _eid, _t in orjson.loads(raw)["x"] if raw else []:
                out["anomalies"][(key, kind)] = out["anomalies"].get((key, kind), 0) + 1
    return out
