"""The CSV: UTF-8 with a BOM, the indicator rows, then the printed grid tables; no formulas."""

from __future__ import annotations

import csv
import io

import pytest

from services.reporter.render import render
from services.reporter.render.common import safe_text
from tests.kits.reporter import BIG, kit_appendix


@pytest.fixture(scope="module")
def commune_appendix():
    return kit_appendix(bump=BIG)


def _rows(appendix):
    data = render(appendix, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def test_csv_has_bom_columns_and_vietnamese_numbers(commune_appendix):
    """CSV: UTF-8 with BOM, the five columns, one line per row, Vietnamese display values."""
    rows = _rows(commune_appendix)
    assert rows[0] == ["STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú"]
    assert len(rows) == 1 + len(commune_appendix.rows)
    by_stt = {r[0]: r for r in rows}
    assert by_stt["3.3.1"][1:4] == ["Số lượng hồ sơ đã tiếp nhận", "Hồ sơ", "1.594"]
    assert by_stt["BS.10"][3] == "33,33%"
    first_sub = next(i for i, r in enumerate(rows) if r[1] == "Tiếp nhận trực tiếp")
    assert rows[first_sub][0] == "Trong đó"  # the first channel sub-row


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("1.594", "1.594"),
        ("-", "-"),
        ("96,46%", "96,46%"),
        ("Hộ tịch", "Hộ tịch"),
    ],
)
def test_text_never_starts_a_formula(text, safe):
    """A leading = + - @ gets a quote; the appendix's own number displays stay as they are."""
    assert safe_text(text) == safe


def test_office_text_values_are_written_as_text():
    """An office-supplied value that looks like a formula reaches the CSV quoted."""
    from services.reporter.appendix import Presentation

    appendix = kit_appendix(
        presentation=Presentation(office_values={"tthc_dang_ap_dung": "=1+1"})
    )
    rows = {r[0]: r for r in _rows(appendix)}
    assert rows["3.1.3"][3] == "'=1+1"


def test_grid_tables_follow_the_rows_for_a_province():
    """A province's CSV adds its per-commune table: caption, headings, one line a commune."""
    from tests.kits.reporter import PROVINCE

    rows = _rows(kit_appendix("province", PROVINCE))
    start = rows.index(["Số liệu chủ yếu theo xã, phường"])
    assert rows[start + 1][:3] == ["STT", "Xã, phường", "Tiếp nhận trong kỳ - Tổng số"]
    assert [r[1] for r in rows[start + 2 : start + 5]] == [
        "Xã Hoằng Hợp",
        "Xã Hoằng Thanh",
        "Tổng cộng",
    ]
