"""The appendix as a file: JSON, CSV (UTF-8 with BOM), XLSX (openpyxl) and DOCX (python-docx).

Every renderer takes the dict of `services.reporter.appendix.build_appendix` and returns
bytes, so callers decide where they go (stdout, `--out`, a snapshot directory).

XLSX and DOCX look like what a commune office attaches: the national motto block
(UỶ BAN NHÂN DÂN / XÃ ...; CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM / Độc lập - Tự do -
Hạnh phúc), the title, unit and period lines, the bordered table STT / Chỉ tiêu thống
kê / Đơn vị tính / Số liệu / Ghi chú, and footnotes: the period's dates, generation
time, data watermark and the check line.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import orjson

from services.reporter.numfmt import (
    calendar_note,
    format_date,
    format_instant_vn,
    format_number,
    period_line,
)
from shared.domain.periods import parse_period
from shared.domain.timeutil import parse_rfc3339

FORMATS = ("json", "csv", "xlsx", "docx")
BINARY_FORMATS = ("xlsx", "docx")
EXTENSIONS = {"json": "json", "csv": "csv", "xlsx": "xlsx", "docx": "docx"}
COLUMNS = ("STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú")
FONT = "Times New Roman"
GROUP_LABEL = "Trong đó"
# Integers with a dot between thousands whatever the reader's locale (up to 999.999.999).
XLSX_INT_FORMAT = '[>=1000000]#"."###"."###;[>=1000]#"."###;0'


def render(appendix: dict[str, Any], fmt: str) -> bytes:
    """The appendix in one of FORMATS."""
    if fmt == "json":
        return render_json(appendix)
    if fmt == "csv":
        return render_csv(appendix)
    if fmt == "xlsx":
        return render_xlsx(appendix)
    if fmt == "docx":
        return render_docx(appendix)
    raise ValueError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")


def render_json(appendix: dict[str, Any]) -> bytes:
    return orjson.dumps(appendix, option=orjson.OPT_INDENT_2) + b"\n"


def display_stt(rows: list[dict[str, Any]]) -> list[str]:
    """STT as printed: an indented sub-row without its own number opens with "Trong đó"."""
    out: list[str] = []
    previous_indent = False
    for row in rows:
        indent = "indent" in row.get("style", [])
        stt = row["stt"]
        if not stt and indent and not previous_indent:
            stt = GROUP_LABEL
        out.append(stt)
        previous_indent = indent
    return out


def render_csv(appendix: dict[str, Any]) -> bytes:
    """The table only, UTF-8 with a BOM so that Excel reads the Vietnamese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = appendix["rows"]
    for stt, row in zip(display_stt(rows), rows, strict=True):
        writer.writerow([stt, row["label"], row["unit"], row["display"], row["note"]])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


# --- text shared by XLSX and DOCX -------------------------------------------------------


def _upper_vn(text: str) -> str:
    return text.upper()


def province_title(name: str) -> str:
    """'Nghệ An' -> 'Tỉnh Nghệ An'; names already saying Tỉnh / Thành phố are kept."""
    if not name or name.startswith(("Tỉnh", "Thành phố", "TP")):
        return name
    return f"Tỉnh {name}"


def header_lines(appendix: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(left block, right block) of the national motto header."""
    unit = appendix["unit"]
    name = province_title(unit["name"]) if unit["kind"] == "province" else unit["name"]
    left = ["UỶ BAN NHÂN DÂN", _upper_vn(name) or unit["code"]]
    right = ["CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    return left, right


def _place(appendix: dict[str, Any]) -> str:
    name = appendix["unit"].get("province_name") or ""
    for prefix in ("Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def date_line(appendix: dict[str, Any]) -> str:
    """'Thanh Hóa, ngày 20 tháng 03 năm 2024' (the generation day)."""
    day = _generated_day(appendix)
    place = _place(appendix)
    text = f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"
    return f"{place}, {text}" if place else text.capitalize()


def _generated_day(appendix: dict[str, Any]) -> date:
    from shared.domain.timeutil import local_day

    return local_day(parse_rfc3339(appendix["generated_at"]))


def unit_line(appendix: dict[str, Any]) -> str:
    unit = appendix["unit"]
    if unit["kind"] == "province":
        return (
            f"Đơn vị báo cáo: {province_title(unit['name'])} (mã {unit['code']}; "
            "tổng hợp số liệu các xã, phường)"
        )
    return (
        f"Đơn vị báo cáo: {unit['name']}, {province_title(unit['province_name'])} "
        f"(mã {unit['code']})"
    )


def period_text(appendix: dict[str, Any]) -> str:
    p = appendix["period"]
    return period_line(parse_period(p["label"], p["calendar"]))


def footnotes(appendix: dict[str, Any]) -> list[str]:
    """The lines under the table: dates, generation time, watermark, check, notes."""
    p = appendix["period"]
    start, end = date.fromisoformat(p["start"]), date.fromisoformat(p["end"])
    lines = [
        f"Số liệu tính từ 00:00 ngày {format_date(start)} đến hết ngày {format_date(end)} "
        f"(giờ Việt Nam, UTC+7), {calendar_note(p['calendar'])}.",
        f"Lập lúc {format_instant_vn(parse_rfc3339(appendix['generated_at']))} "
        f"theo mẫu {appendix.get('template', {}).get('name', '')}.",
    ]
    wm = appendix.get("watermark") or {}
    parts = []
    if wm.get("accepted_events") is not None:
        parts.append(f"{format_number(wm['accepted_events'])} sự kiện đã nhận")
    if wm.get("events_stream_seq") is not None:
        parts.append(f"đến vị trí {format_number(wm['events_stream_seq'])} của luồng TTHC_EVENTS")
    if wm.get("last_event_at"):
        try:
            parts.append(
                f"sự kiện mới nhất lúc {format_instant_vn(parse_rfc3339(wm['last_event_at']))}"
            )
        except ValueError:
            parts.append(f"sự kiện mới nhất lúc {wm['last_event_at']}")
    if parts:
        lines.append("Dữ liệu: " + ", ".join(parts) + ".")
    anomalies = appendix.get("anomalies") or {}
    total = anomalies.get("total") if isinstance(anomalies, dict) else None
    if isinstance(total, int) and total:
        lines.append(
            f"Có {format_number(total)} sự kiện không khớp diễn biến hồ sơ (bất thường), "
            "được lưu và liệt kê riêng, không làm thay đổi số liệu."
        )
    lines.append(appendix.get("check", {}).get("text", ""))
    lines.extend(appendix.get("template_notes", []))
    return [line for line in lines if line]


# --- XLSX -------------------------------------------------------------------------------


def render_xlsx(appendix: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.page import PageMargins

    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    for col, width in zip("ABCDE", (9, 56, 12, 12, 30), strict=True):
        ws.column_dimensions[col].width = width

    def font(bold: bool = False, italic: bool = False, size: int = 12, underline: bool = False):
        return Font(
            name=FONT,
            size=size,
            bold=bold,
            italic=italic,
            underline="single" if underline else None,
        )

    center = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def merged(row: int, first: str, last: str, text: str, **style: Any) -> None:
        ws.merge_cells(f"{first}{row}:{last}{row}")
        cell = ws[f"{first}{row}"]
        cell.value = text
        cell.font = font(**style)
        cell.alignment = center

    left, right = header_lines(appendix)
    merged(1, "A", "B", left[0], bold=False)
    merged(1, "C", "E", right[0], bold=True)
    merged(2, "A", "B", left[1], bold=True)
    merged(2, "C", "E", right[1], bold=True, underline=True)
    merged(3, "C", "E", date_line(appendix), italic=True)
    row = 5
    for i, line in enumerate(appendix.get("template", {}).get("title") or []):
        merged(row, "A", "E", line, bold=True, size=13 if i else 14)
        row += 1
    merged(row, "A", "E", unit_line(appendix))
    row += 1
    merged(row, "A", "E", period_text(appendix), italic=True)
    ws.row_dimensions[row].height = 32
    row += 2

    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="E7E6E6")
    top = row
    heads = {"A": "STT", "B": "Chỉ tiêu thống kê", "C": "Kết quả thống kê", "E": "Ghi chú"}
    for col, text in heads.items():
        ws[f"{col}{top}"] = text
    ws.merge_cells(f"A{top}:A{top + 1}")
    ws.merge_cells(f"B{top}:B{top + 1}")
    ws.merge_cells(f"C{top}:D{top}")
    ws.merge_cells(f"E{top}:E{top + 1}")
    ws[f"C{top + 1}"] = "Đơn vị tính"
    ws[f"D{top + 1}"] = "Số liệu"
    for r in (top, top + 1):
        for col in "ABCDE":
            cell = ws[f"{col}{r}"]
            cell.font = font(bold=True)
            cell.alignment = center
            cell.border = border
            cell.fill = head_fill
    row = top + 2
    rows = appendix["rows"]
    for stt, item in zip(display_stt(rows), rows, strict=True):
        styles = set(item.get("style", []))
        bold = "heading" in styles or "bold" in styles
        italic = "italic" in styles
        value = item["value"]
        is_int = isinstance(value, int) and not isinstance(value, bool) and item["unit"] != "%"
        cells = {
            "A": stt,
            "B": item["label"],
            "C": item["unit"],
            "D": value if is_int else item["display"],
            "E": item["note"],
        }
        for col, text in cells.items():
            cell = ws[f"{col}{row}"]
            cell.value = text if text != "" else None
            cell.border = border
            cell.font = font(bold=bold, italic=italic and col in "BCD")
            if col == "B":
                cell.alignment = Alignment(
                    vertical="center", wrap_text=True, indent=2 if "indent" in styles else 0
                )
            elif col == "D":
                cell.alignment = Alignment(horizontal="right", vertical="center")
                if is_int:
                    cell.number_format = XLSX_INT_FORMAT
            elif col == "E":
                cell.alignment = Alignment(vertical="center", wrap_text=True)
            else:
                cell.alignment = center
        row += 1
    last_table_row = row - 1
    row += 1
    ws[f"A{row}"] = "Ghi chú:"
    ws[f"A{row}"].font = font(bold=True, italic=True, size=11)
    row += 1
    for line in footnotes(appendix):
        ws.merge_cells(f"A{row}:E{row}")
        cell = ws[f"A{row}"]
        cell.value = line
        ok = appendix.get("check", {}).get("ok", True)
        is_check = line.startswith("Kiểm tra")
        cell.font = Font(
            name=FONT,
            size=11,
            italic=True,
            bold=is_check and not ok,
            color=None if ok or not is_check else "C00000",
        )
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = 15 * max(1, -(-len(line) // 105))
        row += 1

    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.6, right=0.4, top=0.6, bottom=0.6)
    ws.print_title_rows = f"{top}:{top + 1}"
    ws.print_area = f"A1:E{row}"
    ws.freeze_panes = None
    ws.sheet_view.showGridLines = False
    _ = last_table_row

    if appendix.get("communes"):
        _communes_sheet(wb, appendix, font, border, center, head_fill)

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


COMMUNE_COLUMNS = (
    ("received_total", "Tiếp nhận"),
    ("resolved_total", "Đã giải quyết"),
    ("resolved_late", "Quá hạn"),
    ("open_at_end", "Đang giải quyết"),
    ("open_overdue_at_end", "Đang quá hạn"),
    ("apologies_sent", "Thư xin lỗi"),
    ("on_time_rate", "Tỷ lệ đúng hạn"),
)


def _communes_sheet(wb, appendix, font, border, center, head_fill) -> None:  # type: ignore[no-untyped-def]
    from openpyxl.styles import Alignment

    from services.reporter.numfmt import format_percent

    ws = wb.create_sheet("Theo xã")
    heads = ["Mã", "Xã, phường", *[label for _, label in COMMUNE_COLUMNS]]
    ws.append(heads)
    for col_idx, _ in enumerate(heads, start=1):
        cell = ws.cell(row=1, column=col_idx)
        cell.font = font(bold=True)
        cell.alignment = center
        cell.border = border
        cell.fill = head_fill
    ws.column_dimensions["A"].width = 8
    ws.column_dimensions["B"].width = 28
    for letter in "CDEFGHI":
        ws.column_dimensions[letter].width = 14
    ws.row_dimensions[1].height = 32
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    for commune in appendix["communes"]:
        figs = commune["figures"]
        values: list[Any] = [commune["code"], commune["name"]]
        for key, _ in COMMUNE_COLUMNS:
            values.append(format_percent(figs.get(key)) if key.endswith("_rate") else figs.get(key))
        ws.append(values)
        r = ws.max_row
        for col_idx in range(1, len(values) + 1):
            cell = ws.cell(row=r, column=col_idx)
            cell.border = border
            cell.font = font()
            if col_idx > 2:
                cell.alignment = Alignment(horizontal="right")
                if isinstance(cell.value, int):
                    cell.number_format = XLSX_INT_FORMAT


# --- DOCX -------------------------------------------------------------------------------


def render_docx(appendix: dict[str, Any]) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin, section.right_margin = Cm(2.5), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(12)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)

    def para(
        container,
        text: str,
        *,
        bold=False,
        italic=False,
        underline=False,
        size=None,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        first=False,
    ):  # type: ignore[no-untyped-def]
        p = container.paragraphs[0] if first else container.add_paragraph()
        p.alignment = align
        run = p.add_run(text)
        run.bold, run.italic, run.underline = bold, italic, underline
        if size:
            run.font.size = Pt(size)
        return p

    def no_borders(table) -> None:  # type: ignore[no-untyped-def]
        tbl_pr = table._tbl.tblPr
        borders = OxmlElement("w:tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            el = OxmlElement(f"w:{edge}")
            el.set(qn("w:val"), "nil")
            borders.append(el)
        tbl_pr.append(borders)

    left, right = header_lines(appendix)
    head = doc.add_table(rows=1, cols=2)
    no_borders(head)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    _set_widths(head, (Cm(6.5), Cm(10.5)), OxmlElement, qn)
    lc, rc = head.rows[0].cells
    para(lc, left[0], first=True)
    para(lc, left[1], bold=True)
    para(lc, "———", size=8)
    para(rc, right[0], bold=True, first=True)
    para(rc, right[1], bold=True, underline=True)
    para(rc, date_line(appendix), italic=True)

    doc.add_paragraph()
    for i, line in enumerate(appendix.get("template", {}).get("title") or []):
        para(doc, line, bold=True, size=14 if i == 0 else 13)
    para(doc, unit_line(appendix))
    para(doc, period_text(appendix), italic=True)
    doc.add_paragraph()

    rows = appendix["rows"]
    table = doc.add_table(rows=2, cols=5)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Cm(1.9), Cm(8.0), Cm(2.0), Cm(2.2), Cm(2.9))
    h0, h1 = table.rows[0].cells, table.rows[1].cells
    h0[0].merge(h1[0])
    h0[1].merge(h1[1])
    h0[4].merge(h1[4])
    top = h0[2].merge(h0[3])
    texts = {0: "STT", 1: "Chỉ tiêu thống kê", 4: "Ghi chú"}
    for idx, text in texts.items():
        para(h0[idx], text, bold=True, first=True)
    para(top, "Kết quả thống kê", bold=True, first=True)
    para(h1[2], "Đơn vị tính", bold=True, first=True)
    para(h1[3], "Số liệu", bold=True, first=True)
    _repeat_header(table.rows[0], OxmlElement, qn)
    _repeat_header(table.rows[1], OxmlElement, qn)
    for stt, item in zip(display_stt(rows), rows, strict=True):
        styles = set(item.get("style", []))
        bold = "heading" in styles or "bold" in styles
        italic = "italic" in styles
        cells = table.add_row().cells
        para(cells[0], stt, bold=bold, first=True)
        p = para(
            cells[1],
            item["label"],
            bold=bold,
            italic=italic,
            first=True,
            align=WD_ALIGN_PARAGRAPH.LEFT,
        )
        if "indent" in styles:
            p.paragraph_format.left_indent = Cm(0.5)
        para(cells[2], item["unit"], italic=italic, first=True)
        para(
            cells[3],
            item["display"],
            bold=bold,
            italic=italic,
            first=True,
            align=WD_ALIGN_PARAGRAPH.RIGHT,
        )
        para(cells[4], item["note"], first=True, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _set_widths(table, widths, OxmlElement, qn)

    doc.add_paragraph()
    para(doc, "Ghi chú:", bold=True, italic=True, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in footnotes(appendix):
        p = para(doc, line, italic=True, size=11, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        if line.startswith("Kiểm tra") and not appendix.get("check", {}).get("ok", True):
            p.runs[0].bold = True
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _set_widths(table, widths, OxmlElement, qn) -> None:  # type: ignore[no-untyped-def]
    """Fixed column widths that Word and LibreOffice both honour (grid and cells)."""
    table.autofit = False
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths, strict=False):
        col.set(qn("w:w"), str(int(width.twips)))
    for row in table.rows:
        for tc, width in zip(row._tr.tc_lst, _spans(row._tr.tc_lst, widths, qn), strict=False):
            tc.width = width
    _ = OxmlElement


def _spans(tcs, widths, qn):  # type: ignore[no-untyped-def]
    """The width of each cell of a row, merged cells (gridSpan) adding their columns'."""
    from docx.shared import Emu

    out, idx = [], 0
    for tc in tcs:
        span = tc.grid_span
        out.append(Emu(sum(int(w) for w in widths[idx : idx + span])))
        idx += span
    return out


def _repeat_header(row, OxmlElement, qn) -> None:  # type: ignore[no-untyped-def]
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)
