"""The appendix as CSV (UTF-8 with a BOM, so that Excel reads the Vietnamese right).

First every indicator row (STT, Chỉ tiêu thống kê, Đơn vị tính, Số liệu, Ghi chú; `Số
liệu` as printed: 1.594, 96,46%), then each printed grid table after a blank line:
its caption, its headings (groups joined with ' - ') and one line per field, agency or
commune. Text never starts a formula when the file is opened (see common.safe_text).
"""

from __future__ import annotations

import csv
import io

from services.reporter.render.common import COLUMNS, safe_text
from services.reporter.tables import BuiltTable


def _grid(writer, table: BuiltTable) -> None:  # type: ignore[no-untyped-def]
    writer.writerow([])
    for line in table.spec.caption:
        writer.writerow([safe_text(line)])
    heads = [" - ".join((*c.group, c.heading)) for c in table.spec.columns]
    writer.writerow([safe_text(h) for h in ["STT", table.spec.name_heading, *heads]])
    for line in table.lines:
        writer.writerow([line.stt, safe_text(line.name), *line.displays])
    if table.footer:
        writer.writerow([safe_text(table.footer)])


def render_csv(appendix) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for table in appendix.tables:
        for line in table.rows:
            row = line.row
            cells = (line.stt, row.label, row.unit, line.display, row.note)
            writer.writerow([safe_text(cell) for cell in cells])
    for table in appendix.printed_tables():
        if table.spec.kind != "rows":
            _grid(writer, table)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
