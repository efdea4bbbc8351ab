"""The text format: what `tthc demo` and `tthc appendix --format text` print."""

from __future__ import annotations

from services.reporter.render.text import render_text
from tests.kits import seed002 as seedkit
from tests.kits.reporter import kit_appendix


def test_text_has_title_unit_period_rows_and_check():
    """Title lines, unit with its code, the period line, one line per row, the check line."""
    text = render_text(kit_appendix())
    lines = text.splitlines()
    assert lines[:2] == ["PHỤ LỤC 01b", "THỐNG KÊ SỐ LIỆU KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"]
    assert "Đơn vị: Xã Hoằng Hợp (16096)" in lines
    assert any(line.startswith("Kỳ báo cáo: Quý I năm 2024 (2024-Q1)") for line in lines)
    row = next(line for line in lines if line.startswith("3.3.1 "))
    assert row.split()[-3:] == ["Hồ", "sơ", "9"]
    assert lines[-1].startswith("Kiểm tra: số liệu khớp")


def test_text_prints_grids_line_by_line():
    """A grid table prints one line per field or agency."""
    reg = seedkit.seed_registry()
    appendix = kit_appendix(
        "commune",
        seedkit.COMMUNE,
        label=seedkit.PERIOD,
        template="bieu-mau-3",
        events=seedkit.seed002_events(),
        reg=reg,
        now=seedkit.now_instant(),
    )
    text = render_text(appendix)
    assert "Lĩnh vực Hộ tịch" in text and "Công an xã" in text
    cong = next(line for line in text.splitlines() if line.startswith("     Cộng"))
    assert "3.225" in cong and "3.147" in cong
