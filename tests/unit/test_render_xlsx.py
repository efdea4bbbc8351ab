"""The XLSX read back (openpyxl): the form as printed, its page setup, its provenance sheet."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from services.reporter.appendix import Presentation
from services.reporter.render import render
from tests.kits.reporter import BIG, COMMUNE, PROVINCE, kit_appendix

CODES = re.compile(r"\b(16096|16099|2024-Q1|TTHC_EVENTS)\b|\(mã ")


@pytest.fixture(scope="module")
def commune_appendix():
    return kit_appendix(bump=BIG, presentation=Presentation(explain=True))


def _xlsx(appendix):
    return load_workbook(io.BytesIO(render(appendix, "xlsx")))


def _texts(ws):
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def _by_first_column(ws):
    return {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}


def test_xlsx_header_block_title_and_period(commune_appendix):
    """XLSX: the national motto block, the commune's own place and date, the title, the period."""
    ws = _xlsx(commune_appendix).active
    assert ws["A1"].value == "UỶ BAN NHÂN DÂN"
    assert ws["A2"].value == "XÃ HOẰNG HỢP"
    assert ws["C1"].value == "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert ws["C2"].value == "Độc lập - Tự do - Hạnh phúc"
    assert ws["C3"].value == "Hoằng Hợp, ngày 20 tháng 3 năm 2024"
    assert ws["A3"].value.startswith("Số: ") and ws["A3"].value.endswith("/BC-UBND")
    texts = [c.value for c in ws["A"] if c.value]
    assert "PHỤ LỤC 01b" in texts
    assert "THỐNG KÊ SỐ LIỆU KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in texts
    assert any("từ ngày 15/12/2023 đến ngày 14/03/2024" in t for t in texts)
    assert any(t.startswith("(Kèm theo Báo cáo số") and "của UBND xã Hoằng Hợp)" in t for t in texts)


def test_xlsx_table_numbers_and_provenance(commune_appendix):
    """XLSX: true numbers with a dot-grouping format, rates as Vietnamese text, borders; the
    check line and the data watermark are on the provenance sheet, not on the form."""
    wb = _xlsx(commune_appendix)
    ws = wb.active
    rows = _by_first_column(ws)
    header = rows["STT"]
    assert ws.cell(header, 2).value == "Chỉ tiêu thống kê"
    assert ws.cell(header + 1, 4).value == "Đơn vị tính"
    assert ws.cell(header + 1, 5).value == "Số liệu"
    assert ws.cell(header, 6).value == "Ghi chú"
    r = rows["3.3.1"]
    assert ws.cell(r, 5).value == 1594
    assert '"."' in ws.cell(r, 5).number_format
    assert ws.cell(r, 1).border.left.style == "thin"
    notes = wb["Thuyết minh số liệu"]
    assert notes.cell(_by_first_column(notes)["BS.10"], 5).value == "33,33%"
    provenance = _texts(wb["Nguồn số liệu"])
    assert any(t.startswith("Kiểm tra:") for t in provenance)
    assert any("sự kiện đã nhận" in t for t in provenance)
    assert not any(t.startswith("Kiểm tra") for t in _texts(ws))


def test_xlsx_prints_at_full_size_on_a4_with_decree_30_margins(commune_appendix):
    """Never shrunk to fit; A4; margins 2 / 2 / 3 / 1,5 cm; headings repeat; sub-rows indented."""
    ws = _xlsx(commune_appendix).active
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert not ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.scale in (None, 100)
    cm = 2.54
    margins = ws.page_margins
    assert (margins.top * cm, margins.bottom * cm) == pytest.approx((2.0, 2.0))
    assert (margins.left * cm, margins.right * cm) == pytest.approx((3.0, 1.5))
    header = _by_first_column(ws)["STT"]
    assert ws.print_title_rows.replace("$", "") == f"{header}:{header + 1}"
    sub = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == "Tiếp nhận trực tiếp")
    assert ws.cell(sub, 2).alignment.indent == 2
    assert ws.cell(sub, 2).font.name == "Times New Roman"


def test_xlsx_signature_block_and_no_codes_on_the_form(commune_appendix):
    """The last printed sheet ends with the signature block; no unit code, period label or
    stream name shows on any printed sheet."""
    wb = _xlsx(commune_appendix)
    printed = [ws for ws in wb.worksheets if ws.title != "Nguồn số liệu"]
    last = _texts(printed[-1])
    assert "TM. ỦY BAN NHÂN DÂN" in last and "CHỦ TỊCH" in last and "NGƯỜI LẬP BIỂU" in last
    for ws in printed:
        assert not [t for t in _texts(ws) if CODES.search(t)], ws.title


def test_xlsx_text_cells_are_never_formulas():
    """Office values and labels starting with '=' are stored as text, not as formulas."""
    appendix = kit_appendix(presentation=Presentation(office_values={"tthc_mot_cua": "=1+1"}))
    ws = _xlsx(appendix).active
    cell = ws.cell(_by_first_column(ws)["3.2.1"], 5)
    assert cell.value == "=1+1" and cell.data_type == "s"


def test_xlsx_province_has_a_communes_sheet():
    """A province's XLSX has a per-commune sheet: caption, STT, names, main figures, total."""
    wb = _xlsx(kit_appendix("province", PROVINCE))
    assert wb.active["A2"].value == "TỈNH THANH HÓA"
    sheet = wb["Theo xã"]
    rows = _by_first_column(sheet)
    assert "Số liệu chủ yếu theo xã, phường" in _texts(sheet)
    assert [sheet.cell(rows[s], 2).value for s in ("1", "2")] == ["Xã Hoằng Hợp", "Xã Hoằng Thanh"]
    total = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 2).value == "Tổng cộng")
    assert sheet.cell(total, 3).value == 10  # received in the province
    heads = _texts(sheet)
    assert "Giải quyết quá hạn" in heads and "Quá hạn" not in heads


def test_xlsx_province_lists_only_communes_with_data():
    """Communes without data are counted, not listed."""
    from tests.kits.reporter import REGISTRY_DATA, received, registry

    data = {
        **REGISTRY_DATA,
        "provinces": [
            {**REGISTRY_DATA["provinces"][0], "communes": [
                *REGISTRY_DATA["provinces"][0]["communes"], {"code": "16100", "name": "Xã Hoằng Tiến"}
            ]},
            REGISTRY_DATA["provinces"][1],
        ],
    }
    from shared.registry import Commune, Province, UnitRegistry

    provinces = [Province(p["code"], p["name"]) for p in data["provinces"]]
    communes = [Commune(c["code"], c["name"], p["code"]) for p in data["provinces"] for c in p["communes"]]
    reg = UnitRegistry(provinces, communes, source="test")
    assert registry()  # the kit's own registry is unchanged
    events = [received("X1", "2024-01-02T09:00", "2024-01-10T17:00", COMMUNE)]
    sheet = _xlsx(kit_appendix("province", PROVINCE, events=events, reg=reg))["Theo xã"]
    texts = _texts(sheet)
    assert "Xã Hoằng Hợp" in texts and "Xã Hoằng Tiến" not in texts
    assert "Có 2 xã, phường không phát sinh hồ sơ trong kỳ (không liệt kê)." in texts


def test_incomplete_figures_say_so_on_the_form():
    """When the aggregator knows events are missing, the form says so in one sober line."""
    appendix = kit_appendix(completeness={"complete": False, "missing_messages": 3, "detail": "x"})
    texts = _texts(_xlsx(appendix).active)
    assert any(t.startswith("Lưu ý: số liệu chưa đầy đủ (còn 3 sự kiện") for t in texts)
    assert appendix.to_json()["complete"] is False
