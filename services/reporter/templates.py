"""Appendix layouts (templates): JSON data files mapping rows to figures, validated on load.

A template names the document's title lines and its rows, each row: `stt` (số thứ tự),
`label` (chỉ tiêu thống kê), `unit` (đơn vị tính), one of `key` (a figure key) or
`formula` (see services/reporter/formula.py), optional `note` (ghi chú) and `style`
(`heading`, `indent`, `italic`, `bold`, or a list of them). The format is documented in
docs/templates.md. Built-in templates live next to this module in `templates/`;
`load_template` takes a built-in name or a path to a province's own file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.reporter.formula import Formula, FormulaError, parse_formula
from shared.domain.figures import FIGURE_KEYS

TEMPLATE_SCHEMA = "tthc.template/1"
TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = "phu-luc-01b"
STYLES = frozenset({"heading", "indent", "italic", "bold"})
_ROW_FIELDS = frozenset({"stt", "label", "unit", "key", "formula", "note", "style"})
_TOP_FIELDS = frozenset({"schema", "name", "title", "description", "rows", "notes"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


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

    @property
    def has_value(self) -> bool:
        return self.key is not None or self.formula is not None

    def value(self, figures: dict[str, Any]) -> int | float | None:
        if self.key is not None:
            return figures.get(self.key)
        if self.formula is not None:
            return self.formula.evaluate(figures)
        return None


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    title: tuple[str, ...]
    description: str
    rows: tuple[TemplateRow, ...]
    notes: tuple[str, ...]
    source: str


def builtin_names() -> list[str]:
    """Names of the templates shipped with the reporter."""
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.json"))


def load_template(name_or_path: str | Path | None = None) -> Template:
    """A built-in template by name, or a template file by path; TemplateError if unusable."""
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

    def fail(message: str) -> TemplateError:
        return TemplateError(f"template {source}: {message}")

    if not isinstance(data, dict):
        raise fail("expected a JSON object with 'name', 'title' and 'rows'")
    unknown = sorted(set(data) - _TOP_FIELDS)
    if unknown:
        raise fail(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_TOP_FIELDS))}"
        )
    schema = data.get("schema", TEMPLATE_SCHEMA)
    if schema != TEMPLATE_SCHEMA:
        raise fail(f"schema {schema!r} is not {TEMPLATE_SCHEMA!r}")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("'name' must be a short slug (lower-case letters, digits, '-', '_', '.')")
    title = data.get("title")
    if isinstance(title, str):
        title = [title]
    if (
        not isinstance(title, list)
        or not title
        or not all(isinstance(t, str) and t.strip() for t in title)
    ):
        raise fail("'title' must be a non-empty list of non-empty lines")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("'description' must be text")
    notes = data.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise fail("'notes' must be a list of lines")
    rows_data = data.get("rows")
    if not isinstance(rows_data, list) or not rows_data:
        raise fail("'rows' must be a non-empty list")

    known = frozenset(FIGURE_KEYS)
    rows: list[TemplateRow] = []
    seen_stt: dict[str, int] = {}
    for index, raw in enumerate(rows_data, start=1):
        where = f"row {index}"
        if not isinstance(raw, dict):
            raise fail(f"{where}: expected an object")
        if isinstance(raw.get("stt"), str) and raw["stt"].strip():
            where = f"row {index} (STT {raw['stt'].strip()})"
        unknown = sorted(set(raw) - _ROW_FIELDS)
        if unknown:
            raise fail(f"{where}: unknown field(s) {', '.join(unknown)}")
        style = raw.get("style", [])
        if isinstance(style, str):
            style = [style]
        if not isinstance(style, list) or not all(isinstance(s, str) for s in style):
            raise fail(f"{where}: 'style' must be a style name or a list of them")
        bad_styles = sorted(set(style) - STYLES)
        if bad_styles:
            raise fail(
                f"{where}: unknown style {', '.join(bad_styles)}; use {', '.join(sorted(STYLES))}"
            )
        styles = frozenset(style)
        stt = raw.get("stt", "")
        if not isinstance(stt, str):
            raise fail(f"{where}: 'stt' must be text, for example \"3.3.1\"")
        stt = stt.strip()
        if not stt and "indent" not in styles:
            raise fail(f"{where}: missing 'stt' (only 'indent' sub-rows may leave it empty)")
        if stt:
            if stt in seen_stt:
                raise fail(f"{where}: duplicate STT {stt!r} (also row {seen_stt[stt]})")
            seen_stt[stt] = index
        label = raw.get("label")
        if not isinstance(label, str) or not label.strip():
            raise fail(f"{where}: missing 'label'")
        key, formula_text = raw.get("key"), raw.get("formula")
        if key is not None and formula_text is not None:
            raise fail(f"{where}: give 'key' or 'formula', not both")
        formula: Formula | None = None
        if key is not None:
            if not isinstance(key, str) or key not in known:
                raise fail(
                    f"{where}: unknown figure key {key!r}; known keys: {', '.join(FIGURE_KEYS)}"
                )
        elif formula_text is not None:
            if not isinstance(formula_text, str):
                raise fail(f"{where}: 'formula' must be text")
            try:
                formula = parse_formula(formula_text, known)
            except FormulaError as exc:
                raise fail(f"{where}: bad formula {formula_text!r}: {exc}") from exc
        elif "heading" not in styles:
            raise fail(f"{where}: needs a 'key' or a 'formula' (or style 'heading')")
        unit = raw.get("unit", "")
        if not isinstance(unit, str):
            raise fail(f"{where}: 'unit' must be text")
        if (key is not None or formula is not None) and not unit.strip():
            raise fail(f'{where}: missing \'unit\' (đơn vị tính), for example "Hồ sơ" or "%"')
        note = raw.get("note", "")
        if not isinstance(note, str):
            raise fail(f"{where}: 'note' must be text")
        rows.append(
            TemplateRow(stt, label.strip(), unit.strip(), key, formula, note.strip(), styles)
        )
    return Template(
        name=name,
        title=tuple(t.strip() for t in title),
        description=description.strip(),
        rows=tuple(rows),
        notes=tuple(notes),
        source=source,
    )
