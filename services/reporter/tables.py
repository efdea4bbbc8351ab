"""The template's tables laid over one unit's figures: pure, no I/O, no formatting choices
beyond the Vietnamese display text of each value.

- `rows` tables give `RowLine`s (one per template row);
- `fields`, `agencies`, `communes` tables give `GridLine`s: one per field, agency or
  commune with data, in the names file's order, then the total row when the table has
  a `total_label`. A `communes` table also counts the communes without data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.reporter.labels import Labels
from services.reporter.numfmt import format_value
from services.reporter.templates import TableSpec, Template, TemplateRow
from shared.domain.figures import has_data, sum_figures

GROUP_LABEL = "Trong đó"


@dataclass(frozen=True, slots=True)
class RowLine:
    table: str
    row: TemplateRow
    stt: str  # as printed: "Trong đó" opens a group of unnumbered sub-rows
    value: Any
    display: str

    def as_dict(self) -> dict[str, Any]:
        row = self.row
        return {
            "stt": row.stt,
            "label": row.label,
            "unit": row.unit,
            "key": row.key,
            "formula": row.formula.text if row.formula else None,
            "input": row.input,
            "value": self.value,
            "display": self.display,
            "note": row.note,
            "style": sorted(row.styles),
            "table": self.table,
        }


@dataclass(frozen=True, slots=True)
class GridLine:
    stt: str
    slug: str
    name: str
    values: tuple[Any, ...]
    displays: tuple[str, ...]
    total: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"stt": self.stt, "slug": self.slug, "name": self.name, "values": list(self.values)}


@dataclass(frozen=True, slots=True)
class BuiltTable:
    spec: TableSpec
    rows: tuple[RowLine, ...] = ()
    lines: tuple[GridLine, ...] = ()
    footer: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.rows and not [line for line in self.lines if not line.total]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.spec.id,
            "kind": self.spec.kind,
            "caption": list(self.spec.caption),
            "optional": self.spec.optional,
        }
        if self.spec.kind == "rows":
            out["stts"] = [line.row.stt for line in self.rows]
        else:
            out["columns"] = [c.heading for c in self.spec.columns]
            out["lines"] = [line.as_dict() for line in self.lines if not line.total]
            total = [line for line in self.lines if line.total]
            out["total"] = total[0].as_dict() if total else None
            out["footer"] = self.footer
        return out


@dataclass(frozen=True, slots=True)
class Sources:
    """What the tables read: the unit's figures and breakdowns, and the office's values."""

    unit_kind: str
    agency: str
    values: dict[str, Any]  # figures, proc_* counts and office-supplied values
    by_agency: Mapping[str, Mapping[str, Any]]
    by_field: Mapping[str, Mapping[str, Any]]
    communes: tuple[dict[str, Any], ...]  # {code, name, figures}
    labels: Labels


def display_stt(rows: list[dict[str, Any]]) -> list[str]:
    """STT as printed: an indented sub-row without its own number opens with "Trong đó"."""
    out: list[str] = []
    previous_indent = False
    for row in rows:
        indent = "indent" in row.get("style", [])
        stt = row["stt"]
        if not stt and indent and not previous_indent:
            stt = GROUP_LABEL
        out.append(stt)
        previous_indent = indent
    return out


def row_lines(spec: TableSpec, values: dict[str, Any]) -> tuple[RowLine, ...]:
    stts = display_stt([{"stt": r.stt, "style": r.styles} for r in spec.rows])
    lines = []
    for stt, row in zip(stts, spec.rows, strict=True):
        missing = any(values.get(name) is None for name in row.inputs)
        value = None if missing or not row.has_value else row.value(values)
        if not row.has_value or missing:
            display = ""
        elif isinstance(value, str):
            display = value
        else:
            display = format_value(value, row.unit)
        lines.append(RowLine(spec.id, row, stt, value, display))
    return tuple(lines)


def _grid_line(spec: TableSpec, stt: str, slug: str, name: str, figures, total=False) -> GridLine:
    values = tuple(column.value(figures) for column in spec.columns)
    displays = tuple(
        format_value(v, column.unit) for v, column in zip(values, spec.columns, strict=True)
    )
    return GridLine(stt, slug, name, values, displays, total)


def _entries(spec: TableSpec, src: Sources) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(slug, name, figures) of each line of a grid table, in order, with data only."""
    if spec.kind == "fields":
        slugs = src.labels.order("fields", [s for s, f in src.by_field.items() if has_data(f)])
        return [(s, src.labels.field(s, src.unit_kind), src.by_field[s]) for s in slugs]
    if spec.kind == "agencies":
        skip = {src.agency} if spec.exclude_selected else set()
        chosen = [s for s, f in src.by_agency.items() if has_data(f) and s not in skip]
        slugs = src.labels.order("agencies", chosen)
        return [(s, src.labels.agency(s, src.unit_kind), src.by_agency[s]) for s in slugs]
    return [(c["code"], c["name"], c["figures"]) for c in src.communes if has_data(c["figures"])]


def grid_table(spec: TableSpec, src: Sources) -> BuiltTable:
    entries = _entries(spec, src)
    lines = [
        _grid_line(spec, str(i), slug, name, figures)
        for i, (slug, name, figures) in enumerate(entries, start=1)
    ]
    if spec.total_label:
        if spec.kind == "fields" and not src.by_field:
            total = src.values  # a source without breakdowns: the unit's own figures
        else:
            total = sum_figures(figures for _, _, figures in entries)
        lines.append(_grid_line(spec, "", "total", spec.total_label, total, total=True))
    footer = ""
    if spec.kind == "communes":
        without = len(src.communes) - len(entries)
        if without:
            footer = f"Có {without} xã, phường không phát sinh hồ sơ trong kỳ (không liệt kê)."
    return BuiltTable(spec, lines=tuple(lines), footer=footer)


def build_tables(template: Template, src: Sources) -> tuple[BuiltTable, ...]:
    """Every table of the template for this unit (a `communes` table only for a province)."""
    built = []
    for spec in template.tables:
        if spec.kind == "rows":
            built.append(BuiltTable(spec, rows=row_lines(spec, src.values)))
        elif spec.kind == "communes" and src.unit_kind != "province":
            continue
        else:
            built.append(grid_table(spec, src))
    return tuple(built)
