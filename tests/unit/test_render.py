"""The appendix files read back: CSV with BOM, XLSX (openpyxl) and DOCX (python-docx)."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from docx import Document
from openpyxl import load_workbook

from services.reporter.render import display_stt, render
from tests.kits.reporter import COMMUNE, PROVINCE
from tests.unit.test_appendix import appendix_of


@pytest.fixture(scope="module")
def commune_appendix():
    a = appendix_of("commune", COMMUNE)
    a["figures"]["received_total"] = 1594  # a big number to see the thousands dot
    for row in a["rows"]:
        if row["key"] == "received_total":
            row["value"], row["display"] = 1594, "1.594"
    return a


def test_json_round_trip(commune_appendix):
    """JSON output is the appendix dict, UTF-8, Vietnamese kept as is."""
    data = render(commune_appendix, "json")
    assert orjson.loads(data) == orjson.loads(orjson.dumps(commune_appendix))
    assert "Hoằng Hợp".encode() in data


def test_csv_has_bom_columns_and_vietnamese_numbers(commune_appendix):
    """CSV: UTF-8 with BOM, the five columns, one line per row, Vietnamese display values."""
    data = render(commune_appendix, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert rows[0] == ["STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú"]
    assert len(rows) == 1 + len(commune_appendix["rows"])
    by_stt = {r[0]: r for r in rows}
    assert by_stt["3.3.1"][1:4] == ["Số lượng hồ sơ đã tiếp nhận", "Hồ sơ", "1.594"]
    assert by_stt["BS.10"][3] == "33,33%"
    assert rows[3][0] == "Trong đó"  # the first channel sub-row


def test_display_stt_opens_groups_with_trong_do():
    """An unnumbered indented row after a numbered one reads 'Trong đó'; the next stays blank."""
    rows = [
        {"stt": "1", "style": []},
        {"stt": "", "style": ["indent"]},
        {"stt": "", "style": ["indent"]},
        {"stt": "2", "style": []},
    ]
    assert display_stt(rows) == ["1", "Trong đó", "", "2"]


def _xlsx(appendix):
    return load_workbook(io.BytesIO(render(appendix, "xlsx")))


def test_xlsx_header_block_title_and_period(commune_appendix):
    """XLSX: the national motto block, the title, the unit and the period with its dates."""
    ws = _xlsx(commune_appendix).active
    assert ws["A1"].value == "UỶ BAN NHÂN DÂN"
    assert ws["A2"].value == "XÃ HOẰNG HỢP"
    assert ws["C1"].value == "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert ws["C2"].value == "Độc lập - Tự do - Hạnh phúc"
    assert ws["C3"].value == "Thanh Hóa, ngày 20 tháng 03 năm 2024"
    texts = [c.value for c in ws["A"] if c.value]
    assert "PHỤ LỤC 01b" in texts
    assert "THỐNG KÊ SỐ LIỆU KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in texts
    assert any("từ ngày 15/12/2023 đến ngày 14/03/2024" in t for t in texts)


def test_xlsx_table_numbers_and_footnotes(commune_appendix):
    """XLSX: the table has true numbers with a dot-grouping format, rates as Vietnamese text, borders, and the check footnote."""
    ws = _xlsx(commune_appendix).active
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    header = rows["STT"]
    assert ws.cell(header, 2).value == "Chỉ tiêu thống kê"
    assert ws.cell(header + 1, 3).value == "Đơn vị tính"
    assert ws.cell(header + 1, 4).value == "Số liệu"
    assert ws.cell(header, 5).value == "Ghi chú"
    r = rows["3.3.1"]
    assert ws.cell(r, 4).value == 1594
    assert '"."' in ws.cell(r, 4).number_format
    assert ws.cell(r, 1).border.left.style == "thin"
    assert ws.cell(rows["BS.10"], 4).value == "33,33%"
    texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert any(t.startswith("Kiểm tra:") for t in texts)
    assert any("sự kiện đã nhận" in t for t in texts)


def test_xlsx_province_has_a_communes_sheet():
    """A province's XLSX adds a sheet of its communes' main figures; header says TỈNH."""
    wb = _xlsx(appendix_of("province", PROVINCE))
    assert wb.active["A2"].value == "TỈNH THANH HÓA"
    sheet = wb["Theo xã"]
    assert sheet["A1"].value == "Mã"
    assert [sheet.cell(r, 1).value for r in (2, 3)] == ["16096", "16099"]


def test_docx_reads_back(commune_appendix):
    """DOCX: header block table, title paragraphs, the bordered table with Vietnamese numbers, footnotes."""
    doc = Document(io.BytesIO(render(commune_appendix, "docx")))
    head = doc.tables[0]
    left = [p.text for p in head.cell(0, 0).paragraphs]
    right = [p.text for p in head.cell(0, 1).paragraphs]
    assert left[:2] == ["UỶ BAN NHÂN DÂN", "XÃ HOẰNG HỢP"]
    assert right[:2] == ["CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    paragraphs = [p.text for p in doc.paragraphs]
    assert "PHỤ LỤC 01b" in paragraphs
    assert any("từ ngày 15/12/2023 đến ngày 14/03/2024" in p for p in paragraphs)
    assert any(p.startswith("Kiểm tra: số liệu khớp") for p in paragraphs)
    table = doc.tables[1]
    assert table.style.name == "Table Grid"
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0][0] == "STT" and cells[1][2] == "Đơn vị tính" and cells[1][3] == "Số liệu"
    by_stt = {row[0]: row for row in cells}
    assert by_stt["3.3.1"][1:4] == ["Số lượng hồ sơ đã tiếp nhận", "Hồ sơ", "1.594"]
    assert by_stt["BS.3"][3] == "60%"
    assert len(table.rows) == 2 + len(commune_appendix["rows"])


def test_unknown_format():
    """An unknown format is refused."""
    with pytest.raises(ValueError, match="unknown format"):
        render({}, "pdf")
