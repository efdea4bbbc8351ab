"""Values the office supplies (số liệu do đơn vị cung cấp) for rows that events cannot give.

Numbers of procedures in force, disclosures, complaints (PAKN) and the like are not in
any case event. A template row with `"input": "<name>"` takes its value from here,
and is shown empty, never invented, when the office supplied nothing.

A values file (docs/templates.md, "Office-supplied values"):

    {"schema": "tthc.values/1",
     "values": [
       {"unit": "16096", "period": "2023", "values": {"tthc_dang_ap_dung": 212}},
       {"unit": "16096", "period": "*", "values": {"tthc_lien_thong_cung_cap": 2}}]}

`unit` is a commune or province code; `period` a period label, or `*` for every
period. An entry for the exact period wins over `*`; `--value NAME=VALUE` on the
command line wins over both. A value is a number or short text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

VALUES_SCHEMA = "tthc.values/1"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
MAX_TEXT = 200

Value = int | float | str


class OfficeValuesError(ValueError):
    """A values file or a --value that cannot be used (one line, naming the fault)."""


def parse_value(text: str) -> Value:
    """'212' -> 212, '96,5' or '96.5' -> 96.5, anything else stays text."""
    text = text.strip()
    if _NUMBER.match(text):
        number = text.replace(",", ".")
        return float(number) if "." in number else int(number)
    if len(text) > MAX_TEXT:
        raise OfficeValuesError(f"value too long ({len(text)} characters, at most {MAX_TEXT})")
    return text


def parse_assignments(items: Iterable[str]) -> dict[str, Value]:
    """`--value NAME=VALUE` items as a dict."""
    out: dict[str, Value] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise OfficeValuesError(
                f"--value {item!r}: use NAME=VALUE, NAME like tthc_dang_ap_dung"
            )
        out[name] = parse_value(text)
    return out


def _checked(raw: Any, where: str) -> dict[str, Value]:
    if not isinstance(raw, dict):
        raise OfficeValuesError(f"{where}: 'values' must be an object of NAME: value")
    out: dict[str, Value] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise OfficeValuesError(f"{where}: bad value name {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise OfficeValuesError(f"{where}: {name} must be a number or text")
        out[name] = parse_value(value) if isinstance(value, str) else value
    return out


def load_values_file(path: str | Path) -> list[dict[str, Any]]:
    """The entries of a values file, checked."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OfficeValuesError(f"values file {path}: cannot be read: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema", VALUES_SCHEMA) != VALUES_SCHEMA:
        raise OfficeValuesError(
            f"values file {path}: expected {{'schema': '{VALUES_SCHEMA}', ...}}"
        )
    entries = data.get("values")
    if not isinstance(entries, list):
        raise OfficeValuesError(f"values file {path}: 'values' must be a list")
    out = []
    for index, entry in enumerate(entries, start=1):
        where = f"values file {path}: entry {index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("unit"), str):
            raise OfficeValuesError(f"{where}: needs 'unit' (a code), 'period' and 'values'")
        period = entry.get("period", "*")
        if not isinstance(period, str):
            raise OfficeValuesError(f"{where}: 'period' must be a label or '*'")
        out.append(
            {
                "unit": entry["unit"],
                "period": period,
                "values": _checked(entry.get("values"), where),
            }
        )
    return out


def values_for(
    entries: Iterable[dict[str, Any]],
    unit_code: str,
    period_label: str,
    overrides: dict[str, Value] | None = None,
) -> dict[str, Value]:
    """The values of one unit and period: `*` entries, then the period's, then overrides."""
    entries = [e for e in entries if e["unit"] == unit_code]
    values: dict[str, Value] = {}
    for entry in entries:
        if entry["period"] == "*":
            values.update(entry["values"])
    for entry in entries:
        if entry["period"] == period_label:
            values.update(entry["values"])
    values.update(overrides or {})
    return values
