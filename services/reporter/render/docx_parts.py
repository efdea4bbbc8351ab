"""Low-level pieces of the DOCX (python-docx and a little OOXML): paragraphs, fixed column
widths, heading rows repeated on each page, rows that never split across pages, lines
drawn under a heading, borderless layout tables."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt

CENTER = WD_ALIGN_PARAGRAPH.CENTER
LEFT = WD_ALIGN_PARAGRAPH.LEFT
RIGHT = WD_ALIGN_PARAGRAPH.RIGHT
JUSTIFY = WD_ALIGN_PARAGRAPH.JUSTIFY


# A paragraph's properties (w:pPr) and its run's (w:rPr) by how it is styled, copied
# from the first paragraph made that way: python-docx finds each property's place in
# the schema's order on every set (a third of a DOCX's time); a copy of the finished
# element is the same XML.
_PARAGRAPH_PROPS: dict[tuple, Any] = {}
_RUN_PROPS: dict[tuple, Any] = {}


def para(
    container,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float | None = None,
    align=CENTER,
    first: bool = False,
    keep: bool = False,
):  # type: ignore[no-untyped-def]
    """A paragraph of one run; `first` reuses a cell's empty first paragraph."""
    p = container.paragraphs[0] if first else container.add_paragraph()
    p_key, r_key = (align, keep), (bold, italic, underline, size)
    p_props, r_props = _PARAGRAPH_PROPS.get(p_key), _RUN_PROPS.get(r_key)
    if p_props is not None and (r_props is not None or not text) and p._p.pPr is None:
        p._p.insert(0, deepcopy(p_props))
        if text:
            run = p.add_run()
            run._r.insert(0, deepcopy(r_props))
            run.text = text
        return p
    p.alignment = align
    if text:
        run = p.add_run(text)
        # Only what is on: a property set to False still writes an element (and time).
        if bold:
            run.bold = True
        if italic:
            run.italic = True
        if underline:
            run.underline = True
        if size:
            run.font.size = Pt(size)
    if keep:
        p.paragraph_format.keep_with_next = True
    if p._p.pPr is not None and len(p._p) == 1 + bool(text):  # a new paragraph
        _PARAGRAPH_PROPS.setdefault(p_key, deepcopy(p._p.pPr))
        if text and run._r.rPr is not None:
            _RUN_PROPS.setdefault(r_key, deepcopy(run._r.rPr))
    return p


def rule(container, width_cm: float, cell_cm: float, first: bool = False):  # type: ignore[no-untyped-def]
    """A solid line `width_cm` long, centred in a cell `cell_cm` wide (Decree 30's rule under
    the issuing body and the motto): an empty paragraph with a bottom border."""
    p = container.paragraphs[0] if first else container.add_paragraph()
    side = max(0.0, (cell_cm - width_cm) / 2)
    p.paragraph_format.left_indent = Cm(side)
    p.paragraph_format.right_indent = Cm(side)
    p.paragraph_format.space_after = Pt(6)
    run = p.add_run()
    run.font.size = Pt(2)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    p._p.get_or_add_pPr().append(borders)
    return p


def no_borders(table) -> None:  # type: ignore[no-untyped-def]
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    table._tbl.tblPr.append(borders)


def layout_table(doc, widths_cm: tuple[float, ...]):  # type: ignore[no-untyped-def]
    """A borderless one-row table for side-by-side blocks (header, signature)."""
    table = doc.add_table(rows=1, cols=len(widths_cm))
    no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_widths(table, tuple(Cm(w) for w in widths_cm))
    cant_split(table.rows[0])
    return table


def set_widths(table, widths) -> None:  # type: ignore[no-untyped-def]
    """Fixed column widths that Word and LibreOffice both honour (grid and cells)."""
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=False):
        col.set(qn("w:w"), str(int(width.twips)))
    for row in table.rows:
        for tc, width in zip(row._tr.tc_lst, _spans(row._tr.tc_lst, widths), strict=False):
            tc.width = width


def _spans(tcs, widths):  # type: ignore[no-untyped-def]
    """The width of each cell of a row, merged cells (gridSpan) adding their columns'."""
    out, idx = [], 0
    for tc in tcs:
        span = tc.grid_span
        out.append(Emu(sum(int(w) for w in widths[idx : idx + span])))
        idx += span
    return out


def _row_flag(row, name: str) -> None:  # type: ignore[no-untyped-def]
    tr_pr = row._tr.get_or_add_trPr()
    if tr_pr.find(qn(name)) is None:
        el = OxmlElement(name)
        el.set(qn("w:val"), "true")
        tr_pr.append(el)


def repeat_header(row) -> None:  # type: ignore[no-untyped-def]
    """The row is repeated at the top of every page the table runs onto."""
    _row_flag(row, "w:tblHeader")


def cant_split(row) -> None:  # type: ignore[no-untyped-def]
    """The row is never split across two pages."""
    _row_flag(row, "w:cantSplit")


def keep_together(rows) -> None:  # type: ignore[no-untyped-def]
    """Each row's paragraphs keep with the next: Word and LibreOffice then move a short table
    (or a table's last rows with what follows, the signature) to the next page whole."""
    for row in rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True


def cell_margins(table, cm: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(int(Cm(cm).twips)))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    table._tbl.tblPr.append(margins)


def vertical_center(cell) -> None:  # type: ignore[no-untyped-def]
    tc_pr = cell._tc.get_or_add_tcPr()
    v = OxmlElement("w:vAlign")
    v.set(qn("w:val"), "center")
    tc_pr.append(v)
