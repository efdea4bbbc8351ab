"""Reading a template file's JSON into a `Template`, with one-line messages naming the fault.

Messages name the file, the table (when the file has several), the row and what to
fix, for example `template mine.json: row 4 (STT 3.3.2): unknown figure key ...`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from services.reporter.formula import Formula, FormulaError, parse_formula
from services.reporter.templates import (
    PROCEDURE_NAMES,
    TABLE_KINDS,
    TEMPLATE_SCHEMA,
    Column,
    TableSpec,
    Template,
    TemplateError,
    TemplateRow,
)
from shared.domain.figures import FIGURE_KEYS

STYLES = frozenset({"heading", "indent", "italic", "bold"})
_ROW_FIELDS = frozenset({"stt", "label", "unit", "key", "formula", "input", "note", "style"})
_TOP_FIELDS = frozenset(
    {"schema", "name", "title", "description", "rows", "tables", "notes", "orientation"}
    | {"form_code", "attached"}
)
_TABLE_FIELDS = frozenset(
    {"id", "kind", "caption", "rows", "columns", "column_heading", "name_heading"}
    | {"total_label", "numbered", "optional", "omit_empty", "exclude_selected", "notes"}
)
_COLUMN_FIELDS = frozenset({"heading", "group", "key", "formula", "unit"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_INPUT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_COMPUTED = frozenset(FIGURE_KEYS) | frozenset(PROCEDURE_NAMES)

Fail = Callable[[str], TemplateError]


def parse_template(data: Any, source: str = "<template>") -> Template:
    """Validate a template's decoded JSON; TemplateError names the first problem."""

    def fail(message: str) -> TemplateError:
        return TemplateError(f"template {source}: {message}")

    if not isinstance(data, dict):
        raise fail("expected a JSON object with 'name', 'title' and 'rows' or 'tables'")
    _check_fields(data, _TOP_FIELDS, "", fail)
    schema = data.get("schema", TEMPLATE_SCHEMA)
    if schema != TEMPLATE_SCHEMA:
        raise fail(f"schema {schema!r} is not {TEMPLATE_SCHEMA!r}")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("'name' must be a short slug (lower-case letters, digits, '-', '_', '.')")
    title = _lines(data.get("title"), "'title' must be a non-empty list of non-empty lines", fail)
    description = _text(data, "description", "", fail)
    notes = data.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise fail("'notes' must be a list of lines")
    orientation = data.get("orientation", "portrait")
    if orientation not in ("portrait", "landscape"):
        raise fail("'orientation' must be 'portrait' or 'landscape'")
    tables = _tables(data, fail)
    return Template(
        name=name,
        title=title,
        description=description.strip(),
        tables=tables,
        notes=tuple(notes),
        source=source,
        orientation=orientation,
        form_code=_text(data, "form_code", "", fail).strip(),
        attached=_flag(data, "attached", True, fail),
    )


def _tables(data: dict[str, Any], fail: Fail) -> tuple[TableSpec, ...]:
    if "rows" in data and "tables" in data:
        raise fail("give 'rows' (one table) or 'tables', not both")
    if "tables" not in data:
        rows_data = data.get("rows")
        if not isinstance(rows_data, list) or not rows_data:
            raise fail("'rows' must be a non-empty list")
        inputs = _declared_inputs(rows_data)
        rows = _rows(rows_data, inputs, "", fail)
        return (TableSpec(id="main", kind="rows", caption=(), rows=rows),)
    tables_data = data["tables"]
    if not isinstance(tables_data, list) or not tables_data:
        raise fail("'tables' must be a non-empty list")
    inputs: set[str] = set()
    for raw in tables_data:
        if isinstance(raw, dict) and isinstance(raw.get("rows"), list):
            inputs |= _declared_inputs(raw["rows"])
    seen: set[str] = set()
    tables = []
    for index, raw in enumerate(tables_data, start=1):
        table = _table(raw, index, frozenset(inputs), fail)
        if table.id in seen:
            raise fail(f"table {index}: duplicate table id {table.id!r}")
        seen.add(table.id)
        tables.append(table)
    return tuple(tables)


def _table(raw: Any, index: int, inputs: frozenset[str], fail: Fail) -> TableSpec:
    where = f"table {index}"
    if not isinstance(raw, dict):
        raise fail(f"{where}: expected an object")
    table_id = raw.get("id")
    if not isinstance(table_id, str) or not _NAME.match(table_id):
        raise fail(f"{where}: 'id' must be a short slug")
    where = f"table {index} ({table_id})"
    _check_fields(raw, _TABLE_FIELDS, f"{where}: ", fail)
    kind = raw.get("kind", "rows")
    if kind not in TABLE_KINDS:
        raise fail(f"{where}: unknown kind {kind!r}; use {', '.join(TABLE_KINDS)}")
    caption = raw.get("caption", [])
    caption = (
        _lines(caption, f"{where}: 'caption' must be a list of lines", fail) if caption else ()
    )
    common: dict[str, Any] = {
        "id": table_id,
        "kind": kind,
        "caption": caption,
        "optional": _flag(raw, "optional", False, fail),
        "notes": tuple(_lines(raw["notes"], f"{where}: bad 'notes'", fail))
        if raw.get("notes")
        else (),
    }
    if kind == "rows":
        rows_data = raw.get("rows")
        if not isinstance(rows_data, list) or not rows_data:
            raise fail(f"{where}: 'rows' must be a non-empty list")
        heading = _text(raw, "column_heading", "Chỉ tiêu thống kê", fail)
        return TableSpec(
            **common, rows=_rows(rows_data, inputs, f"{where}: ", fail), column_heading=heading
        )
    columns_data = raw.get("columns")
    if not isinstance(columns_data, list) or not columns_data:
        raise fail(f"{where}: 'columns' must be a non-empty list")
    columns = tuple(_column(c, i, f"{where}: ", fail) for i, c in enumerate(columns_data, 1))
    default_name = {"fields": "Lĩnh vực", "agencies": "Cơ quan", "communes": "Xã, phường"}[kind]
    return TableSpec(
        **common,
        columns=columns,
        name_heading=_text(raw, "name_heading", default_name, fail),
        total_label=_text(raw, "total_label", "", fail),
        numbered=_flag(raw, "numbered", False, fail),
        omit_empty=_flag(raw, "omit_empty", False, fail),
        exclude_selected=_flag(raw, "exclude_selected", False, fail),
    )


def _declared_inputs(rows_data: list[Any]) -> set[str]:
    return {
        r["input"] for r in rows_data if isinstance(r, dict) and isinstance(r.get("input"), str)
    }


def _rows(
    rows_data: list[Any], inputs: set[str] | frozenset[str], prefix: str, fail: Fail
) -> tuple[TemplateRow, ...]:
    known = _COMPUTED | frozenset(inputs)
    rows: list[TemplateRow] = []
    seen_stt: dict[str, int] = {}
    for index, raw in enumerate(rows_data, start=1):
        where = f"{prefix}row {index}"
        if not isinstance(raw, dict):
            raise fail(f"{where}: expected an object")
        if isinstance(raw.get("stt"), str) and raw["stt"].strip():
            where = f"{prefix}row {index} (STT {raw['stt'].strip()})"
        rows.append(_row(raw, where, known, fail))
        stt = rows[-1].stt
        if stt:
            if stt in seen_stt:
                raise fail(f"{where}: duplicate STT {stt!r} (also row {seen_stt[stt]})")
            seen_stt[stt] = index
    return tuple(rows)


def _row(raw: dict[str, Any], where: str, known: frozenset[str], fail: Fail) -> TemplateRow:
    unknown = sorted(set(raw) - _ROW_FIELDS)
    if unknown:
        raise fail(f"{where}: unknown field(s) {', '.join(unknown)}")
    styles = _styles(raw.get("style", []), where, fail)
    stt = raw.get("stt", "")
    if not isinstance(stt, str):
        raise fail(f"{where}: 'stt' must be text, for example \"3.3.1\"")
    stt = stt.strip()
    if not stt and "indent" not in styles:
        raise fail(f"{where}: missing 'stt' (only 'indent' sub-rows may leave it empty)")
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise fail(f"{where}: missing 'label'")
    key, formula, input_name = _value_source(raw, where, known, fail)
    if key is None and formula is None and input_name is None and "heading" not in styles:
        raise fail(f"{where}: needs a 'key' or a 'formula' (or an 'input', or style 'heading')")
    unit = _text(raw, "unit", "", fail, where)
    has_value = key is not None or formula is not None or input_name is not None
    if has_value and not unit.strip():
        raise fail(f'{where}: missing \'unit\' (đơn vị tính), for example "Hồ sơ" or "%"')
    note = _text(raw, "note", "", fail, where)
    return TemplateRow(
        stt, label.strip(), unit.strip(), key, formula, note.strip(), styles, input_name
    )


def _value_source(
    raw: dict[str, Any], where: str, known: frozenset[str], fail: Fail
) -> tuple[str | None, Formula | None, str | None]:
    key, formula_text, input_name = raw.get("key"), raw.get("formula"), raw.get("input")
    if sum(v is not None for v in (key, formula_text, input_name)) > 1:
        raise fail(f"{where}: give one of 'key', 'formula' and 'input', not both")
    if key is not None and (not isinstance(key, str) or key not in _COMPUTED):
        raise fail(f"{where}: unknown figure key {key!r}; known keys: {', '.join(FIGURE_KEYS)}")
    if input_name is not None and (
        not isinstance(input_name, str) or not _INPUT.match(input_name) or input_name in _COMPUTED
    ):
        raise fail(f"{where}: 'input' must be a slug (a-z, 0-9, _) that is not a figure key")
    return key, _formula(formula_text, where, known, fail), input_name


def _formula(text: Any, where: str, known: frozenset[str], fail: Fail) -> Formula | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise fail(f"{where}: 'formula' must be text")
    try:
        return parse_formula(text, known)
    except FormulaError as exc:
        raise fail(f"{where}: bad formula {text!r}: {exc}") from exc


def _column(raw: Any, index: int, prefix: str, fail: Fail) -> Column:
    where = f"{prefix}column {index}"
    if not isinstance(raw, dict):
        raise fail(f"{where}: expected an object")
    _check_fields(raw, _COLUMN_FIELDS, f"{where}: ", fail)
    heading = raw.get("heading")
    if not isinstance(heading, str) or not heading.strip():
        raise fail(f"{where}: missing 'heading'")
    group = raw.get("group", [])
    group = [group] if isinstance(group, str) else group
    if not isinstance(group, list) or not all(isinstance(g, str) and g.strip() for g in group):
        raise fail(f"{where}: 'group' must be a heading or a list of headings, outermost first")
    key, formula_text = raw.get("key"), raw.get("formula")
    if (key is None) == (formula_text is None):
        raise fail(f"{where}: give exactly one of 'key' and 'formula'")
    if key is not None and key not in FIGURE_KEYS:
        raise fail(f"{where}: unknown figure key {key!r}")
    formula = _formula(formula_text, where, frozenset(FIGURE_KEYS), fail)
    unit = _text(raw, "unit", "", fail, where)
    return Column(heading.strip(), tuple(g.strip() for g in group), key, formula, unit.strip())


def _styles(style: Any, where: str, fail: Fail) -> frozenset[str]:
    if isinstance(style, str):
        style = [style]
    if not isinstance(style, list) or not all(isinstance(s, str) for s in style):
        raise fail(f"{where}: 'style' must be a style name or a list of them")
    bad = sorted(set(style) - STYLES)
    if bad:
        raise fail(f"{where}: unknown style {', '.join(bad)}; use {', '.join(sorted(STYLES))}")
    return frozenset(style)


def _check_fields(raw: dict[str, Any], allowed: frozenset[str], where: str, fail: Fail) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise fail(
            f"{where}unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _lines(value: Any, message: str, fail: Fail) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise fail(message)
    if not all(isinstance(t, str) and t.strip() for t in value):
        raise fail(message)
    return tuple(t.strip() for t in value)


def _text(raw: dict[str, Any], name: str, default: str, fail: Fail, where: str = "") -> str:
    value = raw.get(name, default)
    if not isinstance(value, str):
        raise fail(f"{where + ': ' if where else ''}'{name}' must be text")
    return value


def _flag(raw: dict[str, Any], name: str, default: bool, fail: Fail) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise fail(f"'{name}' must be true or false")
    return value
