"""Templates with tables: grids with column groups, office inputs, procedure counts; and
the one-line messages when a province's own file is wrong."""

from __future__ import annotations

import pytest

from services.reporter.render.common import grid_heading
from services.reporter.templates import TemplateError, load_template, parse_template


def tables(*specs) -> dict:
    return {"name": "mine", "title": ["BIỂU"], "tables": list(specs)}


ROWS = {
    "id": "a",
    "kind": "rows",
    "rows": [
        {"stt": "1", "label": "Số TTHC", "unit": "Thủ tục", "input": "tthc_x"},
        {"stt": "2", "label": "Tỷ lệ", "unit": "%", "formula": "rate(tthc_x, tthc_y)"},
        {"stt": "3", "label": "Có hồ sơ trực tuyến", "unit": "Thủ tục", "key": "proc_received_online"},
        {"stt": "4", "label": "Tổng", "unit": "Thủ tục", "input": "tthc_y"},
    ],
}
GRID = {
    "id": "b",
    "kind": "fields",
    "caption": ["Theo lĩnh vực"],
    "total_label": "Cộng",
    "columns": [
        {"heading": "Tổng số", "group": ["Nhận"], "key": "received_total"},
        {"heading": "Trực tuyến", "group": ["Nhận", "Trong đó"], "formula": "received_online_full"},
        {"heading": "Kỳ trước", "group": ["Nhận", "Trong đó"], "key": "carried_over"},
        {"heading": "Đang giải quyết", "key": "open_at_end"},
    ],
}


def test_tables_with_inputs_procedures_and_groups_parse():
    """Rows may read office inputs (also in formulas) and procedure counts; grids have groups."""
    template = parse_template(tables(ROWS, GRID))
    rows = template.tables[0].rows
    assert rows[0].input == "tthc_x" and rows[1].inputs == ("tthc_x", "tthc_y")
    assert rows[2].key == "proc_received_online"
    grid = template.tables[1]
    assert grid.kind == "fields" and grid.columns[1].group == ("Nhận", "Trong đó")
    assert grid.name_heading == "Lĩnh vực" and grid.total_label == "Cộng"


def test_grid_heading_merges_groups_and_spans_down():
    """Three heading rows: 'Nhận' over three columns, 'Trong đó' over two, the rest spanning."""
    depth, cells = grid_heading(parse_template(tables(GRID)).tables[0])
    assert depth == 3
    found = {(c.row, c.col, c.rows, c.cols, c.text) for c in cells}
    assert (0, 0, 3, 1, "STT") in found and (0, 1, 3, 1, "Lĩnh vực") in found
    assert (0, 2, 1, 3, "Nhận") in found and (1, 3, 1, 2, "Trong đó") in found
    assert (1, 2, 2, 1, "Tổng số") in found and (2, 3, 1, 1, "Trực tuyến") in found
    assert (0, 5, 3, 1, "Đang giải quyết") in found


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (tables({**GRID, "kind": "pivot"}), "unknown kind 'pivot'"),
        (tables({**GRID, "columns": []}), "'columns' must be a non-empty list"),
        (tables({**GRID, "columns": [{"heading": "x", "key": "nope"}]}), "unknown figure key 'nope'"),
        (tables({**GRID, "columns": [{"heading": "x"}]}), "exactly one of 'key' and 'formula'"),
        (tables({**GRID, "columns": [{"heading": "x", "key": "carried_over", "group": [1]}]}), "'group'"),
        (tables(ROWS, {**ROWS}), "duplicate table id 'a'"),
        (tables({**ROWS, "rows": [{"stt": "1", "label": "x", "unit": "u", "input": "received_total"}]}), "'input' must be a slug"),
        (tables({**ROWS, "rows": [{"stt": "1", "label": "x", "unit": "%", "formula": "rate(zz, received_total)"}]}), "unknown figure key 'zz'"),
        ({"name": "m", "title": ["T"], "rows": [ROWS["rows"][0]], "tables": [ROWS]}, "not both"),
        ({**tables(ROWS), "orientation": "sideways"}, "'orientation'"),
    ],
)
def test_table_mistakes_are_named(data, fragment):
    """Each mistake names the file, the table and the column or row, in one line."""
    with pytest.raises(TemplateError) as info:
        parse_template(data, source="t.json")
    assert fragment in str(info.value)
    assert str(info.value).startswith("template t.json:") and "\n" not in str(info.value)


def test_shipped_forms_are_whole():
    """Phụ lục 01b has 3.1-3.5; Biểu mẫu 3 items 1, 2, 3.3, 3.4; 6.7 sits in Biểu mẫu 7; the
    thuyết minh table is optional; Biểu 06 is landscape with a numbered grid."""
    p01b = load_template("phu-luc-01b")
    stts = {row.stt for row in p01b.tables[0].rows}
    assert {"3.1", "3.1.1", "3.1.2", "3.1.3", "3.2", "3.2.6", "3.4", "3.4.3", "3.5"} <= stts
    assert not any(s.startswith("BS") for s in stts)
    assert next(t for t in p01b.tables if t.id == "thuyet-minh").optional
    bm3 = load_template("bieu-mau-3")
    first = {row.stt for row in bm3.tables[0].rows}
    assert {"1.", "1.4.3.", "2.", "2.3.", "3.3.", "3.4.", "3.4.2."} <= first
    assert "6.7." not in first
    assert "6.7." in {row.stt for row in bm3.tables[1].rows}
    b06 = load_template("bieu-06-vpcp")
    assert b06.orientation == "landscape" and b06.tables[0].numbered
    assert len(b06.tables[0].columns) == 11
