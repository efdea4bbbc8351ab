"""The appendix as DOCX (python-docx): a document ready to sign, laid out per Decree 30/2020.

A4 (portrait, or landscape for wide forms), margins top and bottom 2 cm, left 3 cm,
right 1,5 cm; Times New Roman, 14 pt text, 12-13 pt motto and issuing body, 11-12 pt
tables. The header block (issuing body and number | motto and place-and-date), the
title, the 'kèm theo' line, the unit and the period in words, each table with its
caption (heading rows repeated on every page, no row split across pages), then the
signature block. Provenance goes into the file's properties, not onto the page.
"""

from __future__ import annotations

import io
from datetime import datetime

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from services.reporter.render import docx_parts as d
from services.reporter.render.common import (
    FONT,
    column_numbers,
    grid_heading,
    incomplete_line,
    provenance_lines,
)
from services.reporter.tables import BuiltTable
from shared.domain.timeutil import from_instant

PAGE = (21.0, 29.7)
MARGINS = {"top": 2.0, "bottom": 2.0, "left": 3.0, "right": 1.5}
ROW_WIDTHS = (1.5, 8.5, 2.3, 2.0, 2.2)  # sums to 16,5 cm, the portrait text width
SHORT_TABLE = 15  # rows: a table this short is kept on one page


def _setup(doc, landscape: bool) -> float:  # type: ignore[no-untyped-def]
    """Page, margins and the Normal style; returns the text width in cm."""
    section = doc.sections[0]
    width, height = PAGE[::-1] if landscape else PAGE
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(width), Cm(height)
    section.top_margin, section.bottom_margin = Cm(MARGINS["top"]), Cm(MARGINS["bottom"])
    section.left_margin, section.right_margin = Cm(MARGINS["left"]), Cm(MARGINS["right"])
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    return width - MARGINS["left"] - MARGINS["right"]


def _header(doc, appendix, text_width: float) -> None:  # type: ignore[no-untyped-def]
    left_w = 6.0 if text_width < 20 else 8.5
    right_w = text_width - left_w
    head = d.layout_table(doc, (left_w, right_w))
    lc, rc = head.rows[0].cells
    info = appendix.document
    d.para(lc, info.issuer[0], bold=True, size=13, first=True)
    d.para(lc, info.issuer[1], bold=True, size=13)
    d.rule(lc, 1.8, left_w)
    d.para(lc, info.number_line, size=13)
    d.para(rc, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=12, first=True)
    d.para(rc, "Độc lập - Tự do - Hạnh phúc", bold=True, size=13)
    d.rule(rc, 6.0, right_w)
    d.para(rc, info.place_date, italic=True, size=14)


def _opening(doc, appendix) -> None:  # type: ignore[no-untyped-def]
    if appendix.template.form_code:
        d.para(doc, appendix.template.form_code, bold=True, size=13, align=d.RIGHT, keep=True)
    else:
        doc.add_paragraph()
    for line in appendix.template.title:
        d.para(doc, line, bold=True, size=14, keep=True)
    info = appendix.document
    if appendix.template.attached:
        d.para(doc, info.attached_line, italic=True, size=14, keep=True)
    d.para(doc, info.unit_line, size=14, keep=True)
    d.para(doc, info.period_line, italic=True, size=14, keep=True)
    if not appendix.complete:
        d.para(doc, incomplete_line(appendix), italic=True, size=13, keep=True)


def _caption(doc, table: BuiltTable) -> None:  # type: ignore[no-untyped-def]
    doc.add_paragraph().paragraph_format.keep_with_next = True
    for i, line in enumerate(table.spec.caption):
        d.para(doc, line, bold=i == 0, italic=i > 0, size=13, keep=True)
    if table.spec.caption:
        doc.add_paragraph().paragraph_format.keep_with_next = True


def _cell(cell, text: str, size: float, **style) -> None:  # type: ignore[no-untyped-def]
    indent = style.pop("indent", False)
    p = d.para(cell, text, size=size, first=True, **style)
    if indent:
        p.paragraph_format.left_indent = Cm(0.5)
    d.vertical_center(cell)


def _rows_table(doc, table: BuiltTable, text_width: float, last: bool) -> None:  # type: ignore[no-untyped-def]
    scale = text_width / sum(ROW_WIDTHS)
    grid = doc.add_table(rows=2, cols=5)
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    h0, h1 = grid.rows[0].cells, grid.rows[1].cells
    for idx in (0, 1, 4):
        h0[idx].merge(h1[idx])
    top = h0[2].merge(h0[3])
    texts = {0: "STT", 1: table.spec.column_heading, 4: "Ghi chú"}
    for idx, text in texts.items():
        _cell(h0[idx], text, 12, bold=True)
    _cell(top, "Kết quả thống kê", 12, bold=True)
    _cell(h1[2], "Đơn vị tính", 12, bold=True)
    _cell(h1[3], "Số liệu", 12, bold=True)
    for row in grid.rows[:2]:
        d.repeat_header(row)
        d.cant_split(row)
    for line in table.rows:
        styles = line.row.styles
        bold = bool({"heading", "bold"} & styles)
        italic = "italic" in styles
        row = grid.add_row()
        cells = row.cells
        _cell(cells[0], line.stt, 12, bold=bold)
        _cell(cells[1], line.row.label, 12, bold=bold, italic=italic, align=d.LEFT,
              indent="indent" in styles)  # fmt: skip
        _cell(cells[2], line.row.unit, 12, italic=italic)
        _cell(cells[3], line.display, 12, bold=bold, italic=italic, align=d.RIGHT)
        _cell(cells[4], line.row.note, 11, align=d.LEFT)
        d.cant_split(row)
    d.set_widths(grid, tuple(Cm(w * scale) for w in ROW_WIDTHS))
    _keep(grid, len(table.rows), last)


def _grid_widths(table: BuiltTable, text_width: float) -> tuple[float, ...]:
    """STT 1 cm, value columns as wide as they may be (at most 2,6 cm), the name the rest."""
    n = max(1, len(table.spec.columns))
    stt, least_name = 1.0, 3.0 if text_width < 20 else 4.0
    value = min(2.6 if text_width < 20 else 1.75, (text_width - stt - least_name) / n)
    return (stt, text_width - stt - n * value, *([value] * n))


def _keep(grid, lines: int, last: bool) -> None:  # type: ignore[no-untyped-def]
    """A short table stays on one page (each row but the last keeps with the next); the
    last table also keeps its last rows with the signature block that follows."""
    rows = list(grid.rows)
    kept = rows[:-1] if lines <= SHORT_TABLE else []
    if last:
        kept = rows if lines <= SHORT_TABLE else rows[-2:]
    d.keep_together(kept)


def _grid_table(doc, table: BuiltTable, text_width: float, last: bool) -> None:  # type: ignore[no-untyped-def]
    depth, heads = grid_heading(table.spec)
    ncols = len(table.spec.columns) + 2
    size = 11
    grid = doc.add_table(rows=depth, cols=ncols)
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    d.cell_margins(grid, 0.08)
    for head in heads:
        cell = grid.cell(head.row, head.col)
        if head.rows > 1 or head.cols > 1:
            cell = cell.merge(grid.cell(head.row + head.rows - 1, head.col + head.cols - 1))
        _cell(cell, head.text, 10, bold=True)
    if table.spec.numbered:
        numbers = grid.add_row()
        for cell, text in zip(numbers.cells, column_numbers(table.spec), strict=True):
            _cell(cell, text, size - 1, italic=True)
    for row in grid.rows:
        d.repeat_header(row)
        d.cant_split(row)
    for line in table.lines:
        row = grid.add_row()
        _cell(row.cells[0], line.stt, size, bold=line.total)
        _cell(row.cells[1], line.name, size, bold=line.total, align=d.LEFT)
        for cell, text in zip(row.cells[2:], line.displays, strict=True):
            _cell(cell, text, size, bold=line.total, align=d.RIGHT)
        d.cant_split(row)
    d.set_widths(grid, tuple(Cm(w) for w in _grid_widths(table, text_width)))
    _keep(grid, len(table.lines), last)
    if table.footer:
        d.para(doc, table.footer, italic=True, size=13, align=d.LEFT, keep=last)


def _signature(doc, appendix, text_width: float) -> None:  # type: ignore[no-untyped-def]
    sig = appendix.document.signature
    doc.add_paragraph().paragraph_format.keep_with_next = True
    block = d.layout_table(doc, (text_width / 2, text_width / 2))
    left, right = block.rows[0].cells
    d.para(left, sig.preparer_title, bold=True, size=13, first=True)
    d.para(left, "(Ký, ghi rõ họ tên)", italic=True, size=12)
    d.para(right, sig.on_behalf, bold=True, size=13, first=True)
    d.para(right, sig.signer_title, bold=True, size=13)
    for cell in (left, right):
        for _ in range(4):
            d.para(cell, "")
    d.para(left, sig.preparer_name, bold=True, size=14)
    d.para(right, sig.signer_name, bold=True, size=14)


def _properties(doc, appendix) -> None:  # type: ignore[no-untyped-def]
    props = doc.core_properties
    props.title = " ".join(appendix.template.title)[:250]
    props.subject = f"{appendix.unit['name']} - {appendix.period.label}"
    props.author = "tthc"
    props.category = appendix.template.name
    props.keywords = f"{appendix.unit['kind']}:{appendix.unit['code']} {appendix.period.label}"
    # The provenance, whole (python-docx's setter stops at 255 characters).
    props._element._get_or_add("description").text = "\n".join(provenance_lines(appendix))
    props.created = from_instant(appendix.generated_at).replace(tzinfo=None)
    props.modified = datetime(2000, 1, 1)  # fixed: the same appendix gives the same file
    props.last_modified_by = "tthc"


def render_docx(appendix) -> bytes:  # type: ignore[no-untyped-def]
    doc = Document()
    text_width = _setup(doc, appendix.template.orientation == "landscape")
    _header(doc, appendix, text_width)
    _opening(doc, appendix)
    tables = appendix.printed_tables()
    for index, table in enumerate(tables):
        _caption(doc, table)
        last = index == len(tables) - 1
        if table.spec.kind == "rows":
            _rows_table(doc, table, text_width, last)
        else:
            _grid_table(doc, table, text_width, last)
        for note in table.spec.notes:
            p = d.para(doc, note, italic=True, size=12, align=d.JUSTIFY, keep=last)
            p.paragraph_format.space_before = Pt(3)
    _signature(doc, appendix, text_width)
    _properties(doc, appendix)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
