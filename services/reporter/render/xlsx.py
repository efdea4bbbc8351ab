"""The appendix as XLSX (openpyxl): what a commune office attaches, printable as it is.

One sheet per printed table (the first also carries the national motto block, the
title, the 'kèm theo' line, the unit and the period; the last ends with the signature
block), then a sheet "Nguồn số liệu" with the provenance (never printed with the form).
Pages are A4 at full size with Decree 30 margins; headings repeat on every page; sub-
rows keep their indentation; counts are numbers with a dot between thousands, rates
are text (96,46%) because a spreadsheet format cannot force a decimal comma.
"""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.reporter.render import xlsx_parts as x
from services.reporter.render.common import (
    column_numbers,
    grid_heading,
    incomplete_line,
    provenance_lines,
)
from services.reporter.tables import BuiltTable

# STT, label (two columns, merged: the header's right block starts at the second),
# unit, value, note: the portrait width.
ROW_WIDTHS = (6.5, 16.5, 17, 9, 8, 9)
LABEL_WIDTH = ROW_WIDTHS[1] + ROW_WIDTHS[2]
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(table: BuiltTable, index: int, used: set[str]) -> str:
    if index == 0:
        name = "Phụ lục"
    elif table.spec.kind == "communes":
        name = "Theo xã"
    else:
        name = _SHEET_BAD.sub(" ", (table.spec.caption or (table.spec.id,))[0])[:28].strip()
    while name in used:
        name = name[:26] + f" {len(used)}"
    used.add(name)
    return name


def _opening(ws: Worksheet, appendix, last: int) -> int:  # type: ignore[no-untyped-def]
    doc = appendix.document
    row = x.header_block(ws, doc, 2, last)
    if appendix.template.form_code:
        x.block(
            ws, row - 1, 1, last, appendix.template.form_code, size=12, bold=True, align="right"
        )
    width = x.width_of(ws, 1, last)
    for i, line in enumerate(appendix.template.title):
        size = 14 if i == 0 else 13
        x.block(ws, row, 1, last, line, size=size, bold=True)
        x.fit_height(ws, row, [(line, width)], size, bold=True)
        row += 1
    if appendix.template.attached:
        x.block(ws, row, 1, last, doc.attached_line, size=13, italic=True)
        x.fit_height(ws, row, [(doc.attached_line, width)], 13)
        row += 1
    x.block(ws, row, 1, last, doc.unit_line, size=13)
    x.fit_height(ws, row, [(doc.unit_line, width)], 13)
    row += 1
    x.block(ws, row, 1, last, doc.period_line, size=13, italic=True)
    x.fit_height(ws, row, [(doc.period_line, width)], 13)
    row += 1
    if not appendix.complete:
        x.block(ws, row, 1, last, incomplete_line(appendix), size=12, italic=True)
        row += 1
    return row + 1


def _caption(ws: Worksheet, row: int, table: BuiltTable, last: int) -> int:
    width = x.width_of(ws, 1, last)
    for i, line in enumerate(table.spec.caption):
        x.block(ws, row, 1, last, line, size=13, bold=i == 0, italic=i > 0)
        x.fit_height(ws, row, [(line, width)], 13, bold=i == 0)
        row += 1
    return row


def _merge_label(ws: Worksheet, row: int) -> None:
    x.merge(ws, row, 2, row, 3)


def _rows_table(ws: Worksheet, row: int, table: BuiltTable) -> int:
    """STT | Chỉ tiêu (columns 2-3, merged) | Đơn vị tính | Số liệu | Ghi chú."""
    top = row
    for col in range(1, 7):
        x.head_cell(ws, top, col, "")
        x.head_cell(ws, top + 1, col, "")
    heads = {1: "STT", 2: table.spec.column_heading, 4: "Kết quả thống kê", 6: "Ghi chú"}
    for col, text in heads.items():
        x.head_cell(ws, top, col, text)
    x.head_cell(ws, top + 1, 4, "Đơn vị tính")
    x.head_cell(ws, top + 1, 5, "Số liệu")
    for first, last in ((1, 1), (2, 3), (6, 6)):
        x.merge(ws, top, first, top + 1, last)
    x.merge(ws, top, 4, top, 5)
    x.fit_height(ws, top, [(table.spec.column_heading, LABEL_WIDTH)], 11, bold=True)
    row = top + 2
    for line in table.rows:
        styles = line.row.styles
        bold = bool({"heading", "bold"} & styles)
        italic = "italic" in styles
        is_int = isinstance(line.value, int) and not isinstance(line.value, bool)
        is_int = is_int and line.row.unit != "%"
        x.body_cell(ws, row, 1, line.stt, bold=bold, align="center", size=11)
        x.body_cell(
            ws,
            row,
            2,
            line.row.label,
            bold=bold,
            italic=italic,
            align="left",
            indent=2 * ("indent" in styles),
        )
        x.body_cell(ws, row, 3, None)
        _merge_label(ws, row)
        x.body_cell(ws, row, 4, line.row.unit, italic=italic, align="center", size=12)
        value = line.value if is_int else line.display
        x.body_cell(ws, row, 5, value, bold=bold, italic=italic, align="right", number=is_int)
        x.body_cell(ws, row, 6, line.row.note, size=11)
        label_width = LABEL_WIDTH - (4 if "indent" in styles else 0)
        x.fit_height(
            ws,
            row,
            [(line.row.label, label_width), (line.row.note, ROW_WIDTHS[5]), (line.stt, 6)],
        )
        row += 1
    ws.print_title_rows = f"{top}:{top + 1}"
    return row


def _grid_widths(table: BuiltTable, units: int) -> list[float]:
    n = len(table.spec.columns)
    name = 18.0 if n <= 9 else 20.0
    value = min(9.0, (units - 4.5 - name) / max(1, n))
    return [4.5, name, *([value] * n)]


def _grid_table(ws: Worksheet, row: int, table: BuiltTable, widths: list[float]) -> int:
    depth, cells = grid_heading(table.spec)
    top = row
    for r in range(depth):
        for c in range(len(widths)):
            x.head_cell(ws, top + r, c + 1, "")
    for cell in cells:
        x.head_cell(ws, top + cell.row, cell.col + 1, cell.text, size=10)
        if cell.rows > 1 or cell.cols > 1:
            bottom = top + cell.row + cell.rows - 1
            x.merge(ws, top + cell.row, cell.col + 1, bottom, cell.col + cell.cols)
    for r in range(depth):
        texts = [(c.text, sum(widths[c.col : c.col + c.cols])) for c in cells if c.row == r]
        single = [
            (t, w)
            for t, w in texts
            if any(c.row == r and c.rows == 1 and c.text == t for c in cells)
        ]
        x.fit_height(ws, top + r, single or [("", 1)], 10, bold=True)
    row = top + depth
    if table.spec.numbered:
        for c, text in enumerate(column_numbers(table.spec), start=1):
            x.body_cell(ws, row, c, text, italic=True, align="center", size=11)
        row += 1
    ws.print_title_rows = f"{top}:{row - 1}"
    for line in table.lines:
        bold = line.total
        x.body_cell(ws, row, 1, line.stt, align="center", bold=bold)
        x.body_cell(ws, row, 2, line.name, bold=bold, align="left")
        for c, (value, display) in enumerate(zip(line.values, line.displays, strict=True), 3):
            is_int = isinstance(value, int) and not isinstance(value, bool)
            x.body_cell(
                ws, row, c, value if is_int else display, align="right", bold=bold, number=is_int
            )
        x.fit_height(ws, row, [(line.name, widths[1])])
        row += 1
    if table.footer:
        x.block(ws, row, 1, len(widths), table.footer, size=12, italic=True, align="left")
        row += 1
    return row


def _table_sheet(ws: Worksheet, appendix, table: BuiltTable, first: bool) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    landscape = appendix.template.orientation == "landscape" or table.spec.kind != "rows"
    if table.spec.kind == "rows":
        widths: list[float] = list(ROW_WIDTHS)
    else:
        widths = _grid_widths(table, x.LANDSCAPE_UNITS if landscape else x.PORTRAIT_UNITS)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    last = len(widths)
    row = _opening(ws, appendix, last) if first else 1
    if not first:
        x.block(ws, row, 1, last, appendix.document.period_line, size=12, italic=True)
        row += 2
    row = _caption(ws, row, table, last)
    if table.spec.kind == "rows":
        row = _rows_table(ws, row, table)
    else:
        row = _grid_table(ws, row, table, widths)
    for note in table.spec.notes:
        x.block(ws, row, 1, last, note, size=11, italic=True, align="left")
        row += 1
    x.page_setup(ws, landscape, ws.print_title_rows)
    return row + 1, last


def _provenance_sheet(wb: Workbook, appendix) -> None:  # type: ignore[no-untyped-def]
    ws = wb.create_sheet("Nguồn số liệu")
    ws.column_dimensions["A"].width = x.PORTRAIT_UNITS
    lines = provenance_lines(appendix)
    for case in (appendix.anomalies or {}).get("cases") or []:
        lines.append(
            f"Bất thường: hồ sơ {case.get('case_id')} ({case.get('commune_code')}), "
            f"{case.get('kind')}, sự kiện {case.get('event_id')} lúc {case.get('occurred_at')}"
        )
    for r, line in enumerate(lines, start=1):
        cell = x.put(ws, r, 1, line)
        cell.font = x.font(11, bold=line.startswith("Kiểm tra") and not appendix.check.get("ok"))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        x.fit_height(ws, r, [(line, x.PORTRAIT_UNITS)], 11)
    x.page_setup(ws, False, None)
    ws.print_options.horizontalCentered = False


def render_xlsx(appendix) -> bytes:  # type: ignore[no-untyped-def]
    wb = Workbook()
    tables = appendix.printed_tables()
    used: set[str] = set()
    row, last = 1, 6
    ws = wb.active
    for index, table in enumerate(tables):
        ws = wb.active if index == 0 else wb.create_sheet()
        ws.title = _sheet_name(table, index, used)
        row, last = _table_sheet(ws, appendix, table, index == 0)
    split = 2 if last <= 6 else max(2, last // 2)
    row = x.signature_block(ws, row + 1, appendix.document.signature, split, last)
    ws.print_area = f"A1:{get_column_letter(last)}{row}"
    _provenance_sheet(wb, appendix)
    props = wb.properties
    props.title = " ".join(appendix.template.title)
    props.subject = f"{appendix.unit['name']} - {appendix.period.label}"
    props.creator = "tthc"
    props.keywords = f"{appendix.unit['kind']}:{appendix.unit['code']} {appendix.period.label}"
    props.description = "\n".join(provenance_lines(appendix))[:2000]
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
