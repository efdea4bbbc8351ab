"""The DOCX read back (python-docx): Decree 30 page and fonts, tables that print well, the
signature block, and nothing technical on the page."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document
from docx.oxml.ns import qn

from services.reporter.appendix import Presentation
from services.reporter.deployment import Deployment
from services.reporter.render import render
from tests.kits.reporter import BIG, PROVINCE, kit_appendix

CODES = re.compile(r"\b(16096|16099|38|2024-Q1|TTHC_EVENTS)\b|\(mã |sự kiện")


@pytest.fixture(scope="module")
def commune_appendix():
    return kit_appendix(bump=BIG, presentation=Presentation(explain=True))


def _cm(*lengths):
    return tuple(round(length.cm, 2) for length in lengths)


def _doc(appendix):
    return Document(io.BytesIO(render(appendix, "docx")))


def _table_with(doc, stt):
    return next(t for t in doc.tables if any(r.cells[0].text == stt for r in t.rows))


def _visible_text(doc):
    texts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                texts.extend(p.text for p in cell.paragraphs)
    return [t for t in texts if t]


def test_docx_reads_back(commune_appendix):
    """DOCX: header block table, title paragraphs, the bordered table with Vietnamese numbers;
    the check line is in the file's properties."""
    doc = _doc(commune_appendix)
    head = doc.tables[0]
    left = [p.text for p in head.cell(0, 0).paragraphs]
    right = [p.text for p in head.cell(0, 1).paragraphs]
    assert left[:2] == ["UỶ BAN NHÂN DÂN", "XÃ HOẰNG HỢP"]
    assert right[:2] == ["CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert "Hoằng Hợp, ngày 20 tháng 3 năm 2024" in right
    paragraphs = [p.text for p in doc.paragraphs]
    assert "PHỤ LỤC 01b" in paragraphs
    assert any("từ ngày 15/12/2023 đến ngày 14/03/2024" in p for p in paragraphs)
    assert "Kiểm tra: số liệu khớp" in doc.core_properties.comments
    table = doc.tables[1]
    assert table.style.name == "Table Grid"
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0][0] == "STT" and cells[1][2] == "Đơn vị tính" and cells[1][3] == "Số liệu"
    by_stt = {row[0]: row for row in cells}
    assert by_stt["3.3.1"][1:4] == ["Số lượng hồ sơ đã tiếp nhận", "Hồ sơ", "1.594"]
    official = [r for r in commune_appendix.rows if r["table"] == "muc-3"]
    assert len(table.rows) == 2 + len(official)
    notes = _table_with(doc, "BS.3")
    assert {row.cells[0].text: row.cells[3].text for row in notes.rows}["BS.3"] == "60%"


def test_page_and_fonts_follow_decree_30(commune_appendix):
    """A4 portrait, margins top/bottom 2 cm, left 3 cm, right 1,5 cm; Times New Roman 14 pt;
    motto 12 pt bold and 13 pt bold; the place-and-date line in italics."""
    doc = _doc(commune_appendix)
    section = doc.sections[0]
    assert _cm(section.page_width, section.page_height) == (21.0, 29.7)
    assert _cm(section.top_margin, section.bottom_margin) == (2.0, 2.0)
    assert _cm(section.left_margin, section.right_margin) == (3.0, 1.5)
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size.pt == 14
    right = doc.tables[0].cell(0, 1).paragraphs
    motto, slogan = right[0].runs[0], right[1].runs[0]
    assert motto.bold and motto.font.size.pt == 12
    assert slogan.bold and slogan.font.size.pt == 13
    place = next(p for p in right if p.text.startswith("Hoằng Hợp, ngày"))
    assert place.runs[0].italic and place.runs[0].font.size.pt >= 13


def test_wide_forms_are_landscape():
    """Biểu 06 (thirteen columns) is printed on A4 landscape."""
    section = _doc(kit_appendix(template="bieu-06-vpcp")).sections[0]
    assert _cm(section.page_width, section.page_height) == (29.7, 21.0)


def test_heading_rows_repeat_and_no_row_splits(commune_appendix):
    """Every table's heading rows repeat on each page; no row is split across pages."""
    doc = _doc(commune_appendix)
    for table in doc.tables[1:-1]:
        rows = table.rows
        assert rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
        for row in rows:
            assert row._tr.trPr.find(qn("w:cantSplit")) is not None


def test_signature_block_with_names_from_the_deployment():
    """TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH and Người lập biểu, names from the deployment file."""
    deployment = Deployment(units={"16096": {"signer_name": "Lê Văn Phượng", "preparer_name": "Trần Thị Lan"}})
    doc = _doc(kit_appendix(presentation=Presentation(deployment=deployment)))
    block = doc.tables[-1]
    left = [p.text for p in block.cell(0, 0).paragraphs if p.text]
    right = [p.text for p in block.cell(0, 1).paragraphs if p.text]
    assert left == ["NGƯỜI LẬP BIỂU", "(Ký, ghi rõ họ tên)", "Trần Thị Lan"]
    assert right == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Lê Văn Phượng"]
    assert block.rows[0]._tr.trPr.find(qn("w:cantSplit")) is not None


def test_no_codes_or_technical_lines_in_the_visible_document(commune_appendix):
    """No unit code, period label, stream position or event count on the page; they are in
    the file's properties."""
    doc = _doc(commune_appendix)
    assert [t for t in _visible_text(doc) if CODES.search(t)] == []
    comments = doc.core_properties.comments
    assert "16096" in comments and "2024-Q1" in comments and "TTHC_EVENTS" in comments


def test_settable_date_number_and_attached_line():
    """--date, --report-number and --report-date reach the number, place and 'kèm theo' lines."""
    from services.reporter.document import DocDate, DocumentOptions

    options = DocumentOptions(DocDate(2023, 12, 15), "215/BC-UBND", DocDate(2023, 12, 5))
    doc = _doc(kit_appendix(presentation=Presentation(document=options)))
    left = [p.text for p in doc.tables[0].cell(0, 0).paragraphs]
    right = [p.text for p in doc.tables[0].cell(0, 1).paragraphs]
    assert "Số: 215/BC-UBND" in left
    assert "Hoằng Hợp, ngày 15 tháng 12 năm 2023" in right
    assert (
        "(Kèm theo Báo cáo số 215/BC-UBND ngày 05 tháng 12 năm 2023 của UBND xã Hoằng Hợp)"
        in [p.text for p in doc.paragraphs]
    )


def test_province_docx_has_its_per_commune_table():
    """A province's DOCX has the per-commune table: STT, names, main figures, total row."""
    doc = _doc(kit_appendix("province", PROVINCE))
    paragraphs = [p.text for p in doc.paragraphs]
    assert "Số liệu chủ yếu theo xã, phường" in paragraphs
    table = _table_with(doc, "1")
    names = [row.cells[1].text for row in table.rows]
    assert names[-3:] == ["Xã Hoằng Hợp", "Xã Hoằng Thanh", "Tổng cộng"]
    assert table.rows[-1].cells[2].text == "10"
