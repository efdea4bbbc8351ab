"""The appendix as plain text for a terminal (`tthc appendix --format text`, `tthc demo`).

The rows of each indicator table as aligned columns (STT, Chỉ tiêu thống kê, Đơn vị,
Số liệu, Ghi chú), grid tables with one line per field, agency or commune, then the
check line and the number of anomalies. Unlike the files, it names the period's label:
a terminal is for the people who run the system.
"""

from __future__ import annotations

import textwrap

from services.reporter.numfmt import period_line
from services.reporter.tables import BuiltTable

W_STT, W_LABEL, W_UNIT, W_VALUE = 6, 58, 7, 10
RULE = "-" * (W_STT + W_LABEL + W_UNIT + W_VALUE + 30)


def _rows_table(table: BuiltTable) -> list[str]:
    lines = [
        f"{'STT':<{W_STT}} {table.spec.column_heading[:W_LABEL]:<{W_LABEL}} "
        f"{'Đơn vị':<{W_UNIT}} {'Số liệu':>{W_VALUE}}  Ghi chú",
        RULE,
    ]
    for line in table.rows:
        row = line.row
        indent = "  " if "indent" in row.styles else ""
        label = textwrap.wrap(indent + row.label, W_LABEL) or [""]
        lines.append(
            f"{line.stt:<{W_STT}} {label[0]:<{W_LABEL}} {row.unit:<{W_UNIT}} "
            f"{line.display:>{W_VALUE}}  {row.note}"
        )
        lines += [f"{'':<{W_STT}} {more}" for more in label[1:]]
    return [*lines, RULE]


def _grid_table(table: BuiltTable) -> list[str]:
    heads = [c.heading for c in table.spec.columns]
    width = max(8, *(len(h) for h in heads)) if heads else 8
    width = min(width, 12)
    lines = [
        f"{'STT':<4} {table.spec.name_heading:<30} "
        + " ".join(f"{h[:width]:>{width}}" for h in heads)
    ]
    for line in table.lines:
        lines.append(
            f"{line.stt:<4} {line.name[:30]:<30} "
            + " ".join(f"{d:>{width}}" for d in line.displays)
        )
    if table.footer:
        lines.append(table.footer)
    return lines


def render_text(appendix) -> str:  # type: ignore[no-untyped-def]
    """The appendix as plain text."""
    unit = appendix.unit
    name = unit.get("name") or unit.get("code")
    lines = [
        *appendix.template.title,
        f"Đơn vị: {name} ({unit.get('code')})",
        period_line(appendix.period),
        "",
    ]
    for table in appendix.printed_tables():
        lines.extend(table.spec.caption)
        lines.extend(_rows_table(table) if table.spec.kind == "rows" else _grid_table(table))
        lines.append("")
    if appendix.check.get("text"):
        lines.append(appendix.check["text"])
    total = (appendix.anomalies or {}).get("total")
    if total:
        lines.append(f"Bất thường (anomalies): {total}")
    return "\n".join(lines)
