"""The renderers' style caches change nothing in the files they write.

XLSX: a cell styled as one before takes that one's style (`xlsx_parts.styled`), a merge
like one before the styles it left (`xlsx_parts.merge`); DOCX: a
paragraph styled as one before takes copies of its properties (`docx_parts.para`).
Each form is rendered with the cache and without it, and every part of the file is
compared (the XLSX's creation time aside).
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from services.reporter.render import docx_parts, xlsx_parts
from services.reporter.render.docx import render_docx
from services.reporter.render.xlsx import render_xlsx
from tests.kits.reporter import BIG, PROVINCE, kit_appendix

FORMS = ("phu-luc-01b", "bieu-mau-3", "bieu-06-vpcp")
STAMP = re.compile(rb"<dcterms:(created|modified)[^<]*</dcterms:\w+>")


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: STAMP.sub(b"", z.read(n)) for n in z.namelist()}


def appendices():
    for form in FORMS:
        yield kit_appendix(template=form)
        yield kit_appendix("province", PROVINCE, template=form, bump=BIG)


@pytest.mark.parametrize("index", range(2 * len(FORMS)))
def test_xlsx_is_the_same_with_the_style_cache(index, monkeypatch):
    appendix = list(appendices())[index]
    cached = render_xlsx(appendix)

    def uncached(cell, key, apply):
        apply(cell)
        return cell

    def merged(ws, top, left, bottom, right):
        ws.merge_cells(start_row=top, start_column=left, end_row=bottom, end_column=right)

    monkeypatch.setattr(xlsx_parts, "styled", uncached)
    monkeypatch.setattr(xlsx_parts, "merge", merged)
    plain = render_xlsx(appendix)
    assert parts(cached) == parts(plain)
    assert len(parts(plain)) > 5


@pytest.mark.parametrize("index", range(2 * len(FORMS)))
def test_docx_is_the_same_with_the_paragraph_cache(index, monkeypatch):
    appendix = list(appendices())[index]
    monkeypatch.setattr(docx_parts, "_PARAGRAPH_PROPS", {})
    monkeypatch.setattr(docx_parts, "_RUN_PROPS", {})
    first = render_docx(appendix)  # fills the cache as it goes
    assert docx_parts._PARAGRAPH_PROPS and docx_parts._RUN_PROPS
    again = render_docx(appendix)  # every paragraph from the cache
    assert parts(again) == parts(first)


def test_docx_cached_paragraphs_keep_their_text_and_style():
    """A cached paragraph keeps its own text (tabs and line breaks as Word wants them)."""
    from docx import Document

    doc = Document()
    docx_parts.para(doc, "first", bold=True, size=13, keep=True)
    p = docx_parts.para(doc, "two\nlines\there", bold=True, size=13, keep=True)
    assert p.text == "two\nlines\there"
    assert p.runs[0].bold and p.runs[0].font.size.pt == 13
    assert p.paragraph_format.keep_with_next
    xml = p._p.xml
    assert "<w:br/>" in xml and "<w:tab/>" in xml


def test_a_merge_depends_on_both_corners():
    """Two merges of the same shape and top-left style whose bottom-right cells differ
    leave what openpyxl's own merge leaves."""
    from openpyxl import Workbook
    from openpyxl.styles import Border, Side

    def build(merge):
        wb = Workbook()
        ws = wb.active
        thick = Border(right=Side(style="thick"), bottom=Side(style="double"))
        for row in (1, 3):  # styled alike, no border of their own
            xlsx_parts.put(ws, row, 1, "x").font = xlsx_parts.font(12, bold=True)
        ws.cell(row=4, column=3).border = thick  # the second range's bottom-right corner
        merge(ws, 1, 1, 2, 3)
        merge(ws, 3, 1, 4, 3)
        return {
            coord: tuple(cell._style) for coord, cell in ws._cells.items()
        }, wb._borders

    def plain(ws, top, left, bottom, right):
        ws.merge_cells(start_row=top, start_column=left, end_row=bottom, end_column=right)

    cached_styles, cached_borders = build(xlsx_parts.merge)
    plain_styles, plain_borders = build(plain)
    assert cached_styles == plain_styles
    assert list(cached_borders) == list(plain_borders)
