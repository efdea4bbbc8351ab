"""Appendix layouts (templates): JSON data files describing the official forms, validated on load.

A template names the document's title lines and its tables. A table is one of:

- `rows`: an indicator table (STT / Chỉ tiêu thống kê / Đơn vị tính / Số liệu / Ghi chú);
  each row takes its value from a figure `key`, a `formula`, or an office-supplied
  `input` (services/reporter/office.py), or is a heading;
- `fields`, `agencies`, `communes`: a grid with one line per field (lĩnh vực), per
  agency at the desk, or per commune of a province, and `columns` (each a figure key
  or formula, under optional column groups), with an optional total row.

A file with top-level `rows` (the format of version 1) is one `rows` table. The format
is documented in docs/templates.md; parsing and its messages are in template_parse.py.
Built-in templates live next to this module in `templates/`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.reporter.formula import Formula

TEMPLATE_SCHEMA = "tthc.template/1"
TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = "phu-luc-01b"
TABLE_KINDS = ("rows", "fields", "agencies", "communes")
# Counts of distinct procedure codes (mã TTHC) with a dossier received in the period.
PROCEDURE_NAMES = {
    "proc_received": "received",
    "proc_received_online": "received_online",
    "proc_received_online_partial": "received_online_partial",
    "proc_received_online_full": "received_online_full",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

Values = dict[str, Any]


class TemplateError(ValueError):
    """A template that cannot be used; the message names the file, the row and the fix."""


@dataclass(frozen=True, slots=True)
class TemplateRow:
    stt: str
    label: str
    unit: str
    key: str | None
    formula: Formula | None
    note: str
    styles: frozenset[str]
    input: str | None = None

    @property
    def has_value(self) -> bool:
        return self.key is not None or self.formula is not None or self.input is not None

    @property
    def inputs(self) -> tuple[str, ...]:
        """The office-supplied values this row reads."""
        if self.input is not None:
            return (self.input,)
        if self.formula is not None:
            return tuple(k for k in self.formula.keys if k not in _COMPUTED)
        return ()

    def value(self, values: Values) -> int | float | str | None:
        if self.key is not None:
            return values.get(self.key)
        if self.input is not None:
            return values.get(self.input)
        if self.formula is not None:
            return self.formula.evaluate(values)
        return None


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a grid table: its heading, its groups (outermost first) and its value."""

    heading: str
    group: tuple[str, ...]
    key: str | None
    formula: Formula | None
    unit: str

    def value(self, values: Values) -> int | float | None:
        if self.key is not None:
            return values.get(self.key)
        return self.formula.evaluate(values) if self.formula is not None else None


@dataclass(frozen=True, slots=True)
class TableSpec:
    id: str
    kind: str
    caption: tuple[str, ...]
    rows: tuple[TemplateRow, ...] = ()
    columns: tuple[Column, ...] = ()
    column_heading: str = "Chỉ tiêu thống kê"
    name_heading: str = ""
    total_label: str = ""
    numbered: bool = False
    optional: bool = False
    omit_empty: bool = False
    exclude_selected: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    title: tuple[str, ...]
    description: str
    tables: tuple[TableSpec, ...]
    notes: tuple[str, ...]
    source: str
    orientation: str = "portrait"
    form_code: str = ""
    attached: bool = True

    @property
    def rows(self) -> tuple[TemplateRow, ...]:
        """Every indicator row of the template, table after table."""
        return tuple(row for table in self.tables if table.kind == "rows" for row in table.rows)

    def has_kind(self, kind: str) -> bool:
        return any(table.kind == kind for table in self.tables)


def builtin_names() -> list[str]:
    """Names of the templates shipped with the reporter."""
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.json"))


def load_template(name_or_path: str | Path | None = None) -> Template:
    """A built-in template by name, or a template file by path; TemplateError if unusable."""
    from services.reporter.template_parse import parse_template

    ref = str(name_or_path or DEFAULT_TEMPLATE)
    if _NAME.match(ref) and not ref.endswith(".json") and (TEMPLATES_DIR / f"{ref}.json").exists():
        path = TEMPLATES_DIR / f"{ref}.json"
    else:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise TemplateError(
                f"unknown template {ref!r}: use one of {', '.join(builtin_names())} "
                "or the path of a template file"
            )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"template {path}: cannot be read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"template {path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from exc
    return parse_template(data, source=str(path))


def parse_template(data: Any, source: str = "<template>") -> Template:
    """Validate a template's decoded JSON; TemplateError names the first problem."""
    from services.reporter.template_parse import parse_template as parse

    return parse(data, source)


def _computed() -> frozenset[str]:
    from shared.domain.figures import FIGURE_KEYS

    return frozenset(FIGURE_KEYS) | frozenset(PROCEDURE_NAMES)


_COMPUTED = _computed()
