"""What the file renderers share: grid headings, the provenance lines, safe cell text.

Provenance (the period's dates and cut-off, generation time, layout, which data the
figures include, anomalies, the check line) is never printed in the document: the
XLSX keeps it on its own sheet, the DOCX in its properties, the JSON in its keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.reporter.numfmt import calendar_note, format_date, format_instant_vn, format_number
from services.reporter.templates import TableSpec
from shared.domain.timeutil import parse_rfc3339

FONT = "Times New Roman"
COLUMNS = ("STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_OWN_NUMBER = re.compile(r"^-?[\d.]+(,\d+)?%?$|^-$")


def safe_text(text: str) -> str:
    """Text a spreadsheet will not read as a formula: a leading = + - @ gets a quote.

    Our own number displays ('1.594', '96,46%', '-') are left as they are."""
    if text and text.startswith(_FORMULA_START) and not _OWN_NUMBER.match(text):
        return "'" + text
    return text


@dataclass(frozen=True, slots=True)
class HeadCell:
    """One cell of a grid's heading: top-left position (row, col), spans and text."""

    row: int
    col: int
    rows: int
    cols: int
    text: str


def grid_heading(spec: TableSpec) -> tuple[int, list[HeadCell]]:
    """The heading rows of a grid table: (number of rows, cells), STT and name first.

    Consecutive columns with the same group path are merged under one cell; a column
    with fewer group levels than the deepest spans down to the last heading row."""
    depth = 1 + max((len(c.group) for c in spec.columns), default=0)
    cells = [HeadCell(0, 0, depth, 1, "STT"), HeadCell(0, 1, depth, 1, spec.name_heading)]
    for level in range(depth - 1):
        col = 0
        while col < len(spec.columns):
            group = spec.columns[col].group
            if len(group) <= level:
                col += 1
                continue
            end = col
            while (
                end + 1 < len(spec.columns)
                and spec.columns[end + 1].group[: level + 1] == (group[: level + 1])
            ):
                end += 1
            cells.append(HeadCell(level, 2 + col, 1, end - col + 1, group[level]))
            col = end + 1
    for col, column in enumerate(spec.columns):
        top = len(column.group)
        cells.append(HeadCell(top, 2 + col, depth - top, 1, column.heading))
    return depth, cells


def column_numbers(spec: TableSpec) -> list[str]:
    """'(1)', '(2)', ... for a numbered grid (STT, name, then each column)."""
    return [f"({i})" for i in range(1, len(spec.columns) + 3)]


def provenance_lines(appendix) -> list[str]:  # type: ignore[no-untyped-def]
    """The technical lines kept out of the printed document."""
    p = appendix.period
    lines = [
        f"Đơn vị: {appendix.unit['name']} (mã {appendix.unit['code']}); kỳ {p.label}; "
        f"cơ quan {appendix.agency}.",
        f"Số liệu tính từ 00:00 ngày {format_date(p.start)} đến hết ngày {format_date(p.end)} "
        f"(giờ Việt Nam, UTC+7), {calendar_note(p.calendar)}.",
        f"Lập lúc {format_instant_vn(appendix.generated_at)} theo mẫu {appendix.template.name}.",
    ]
    wm = appendix.watermark or {}
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
    if not appendix.complete:
        lines.append(incomplete_line(appendix))
    total = (appendix.anomalies or {}).get("total")
    if isinstance(total, int) and total:
        lines.append(
            f"Có {format_number(total)} sự kiện không khớp diễn biến hồ sơ (bất thường), "
            "được lưu và liệt kê riêng, không làm thay đổi số liệu."
        )
    lines.append(appendix.check.get("text", ""))
    lines.extend(appendix.template.notes)
    return [line for line in lines if line]


def incomplete_line(appendix) -> str:  # type: ignore[no-untyped-def]
    """The sober line a document prints when the figures are known to be incomplete."""
    missing = int(appendix.completeness.get("missing_messages") or 0)
    more = f" (còn {format_number(missing)} sự kiện chưa được tổng hợp)" if missing else ""
    return f"Lưu ý: số liệu chưa đầy đủ{more}; sẽ được cập nhật khi tổng hợp đủ."
