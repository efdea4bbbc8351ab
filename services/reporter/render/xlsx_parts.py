"""Low-level pieces of the XLSX: cells written as text (never a formula), fonts, borders,
merged blocks, page setup at full size on A4 (Decree 30/2020/NĐ-CP margins)."""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from copy import copy
from typing import Any

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from services.reporter.render.common import FONT

CM = 1 / 2.54  # inches per cm
# Integers with a dot between thousands whatever the reader's locale (up to 999.999.999).
INT_FORMAT = '[>=1000000]#"."###"."###;[>=1000]#"."###;0'
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LINE_HEIGHT = 15.0  # points per line of 12 pt text
# Printable width in column-width units at full size on A4 (16,5 cm and 25,2 cm): a unit
# prints about 0,25 cm in LibreOffice and 0,19 cm in Excel; sized for the wider one.
PORTRAIT_UNITS = 66
LANDSCAPE_UNITS = 100


# The style each kind of cell ends up with, per workbook: (what was asked, the cell's
# style before) -> the cell's style after. openpyxl finds a style's index by hashing the
# Font, Border, Alignment it is given, on every cell (half of an XLSX's time); a cell
# styled as one before takes that one's style (the same indices, the same file).
_STYLES: weakref.WeakKeyDictionary[Any, dict[tuple, Any]] = weakref.WeakKeyDictionary()


def _cache_of(workbook: Any) -> dict[tuple, Any]:
    cache = _STYLES.get(workbook)
    if cache is None:
        cache = _STYLES[workbook] = {}
    return cache


def _style_of(cell: Any) -> tuple | None:
    """A cell's style array as a key (None: no cell there, or a cell never styled)."""
    return None if cell is None or cell._style is None else tuple(cell._style)


def styled(cell: Any, key: tuple, apply: Callable[[Any], None]) -> Any:
    """Style `cell` as `apply` would, re-using the result for the same `key`."""
    cache = _cache_of(cell.parent.parent)
    full = (key, _style_of(cell))
    done = cache.get(full)
    if done is None:
        apply(cell)
        cache[full] = copy(cell._style)
    else:
        cell._style = copy(done)
    return cell


def merge(ws: Worksheet, top: int, left: int, bottom: int, right: int) -> None:
    """`ws.merge_cells` over rows top..bottom, columns left..right, re-using the result of
    the same merge before. openpyxl gives the merged cells the range's edge borders by
    adding Border objects cell by cell (most of an XLSX's time once styles are cached);
    the result depends only on the range's shape and on its two corner cells' styles
    before, so a merge seen before takes copies of the style arrays it left."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.worksheet.merge import MergedCellRange

    coords = [(r, c) for r in range(top, bottom + 1) for c in range(left, right + 1)]
    cache = _cache_of(ws.parent)
    key = (
        "merge",
        bottom - top,
        right - left,
        _style_of(ws._cells.get((top, left))),
        _style_of(ws._cells.get((bottom, right))),
    )
    done = cache.get(key)
    if done is None:
        ws.merge_cells(start_row=top, start_column=left, end_row=bottom, end_column=right)
        cache[key] = [copy(ws._cells[coord]._style) for coord in coords]
        return
    ws.merged_cells.add(
        MergedCellRange(ws, f"{get_column_letter(left)}{top}:{get_column_letter(right)}{bottom}")
    )
    for i, (coord, style) in enumerate(zip(coords, done, strict=True)):
        cell = ws._cells[coord] if i == 0 else MergedCell(ws, *coord)
        cell._style = copy(style)
        ws._cells[coord] = cell


def font(size: float = 12, bold: bool = False, italic: bool = False, underline: bool = False):
    return Font(
        name=FONT, size=size, bold=bold, italic=italic, underline="single" if underline else None
    )


def put(ws: Worksheet, row: int, col: int, value: Any) -> Any:
    """Write a cell; text is always stored as text, whatever it starts with."""
    cell = ws.cell(row=row, column=col)
    if value is None or value == "":
        cell.value = None
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # never a formula, even for '=...'
    else:
        cell.value = value
    return cell


def block(ws: Worksheet, row: int, first: int, last: int, text: str, **style: Any) -> Any:
    """A merged, centred line of text across columns first..last."""
    if last > first:
        merge(ws, row, first, row, last)
    cell = put(ws, row, first, text)
    align = style.pop("align", "center")

    def apply(c: Any) -> None:
        c.font = font(**style)
        c.alignment = Alignment(horizontal=align, vertical="center", wrap_text=True)

    return styled(cell, ("block", align, *sorted(style.items())), apply)


def fit_height(
    ws: Worksheet, row: int, texts: list[tuple[str, float]], size: float = 12, bold: bool = False
) -> None:
    """Set a row's height so wrapped text shows whole: (text, column width) pairs."""
    lines = 1
    for text, width in texts:
        factor = 0.85 if str(text).isupper() else 1.1 if bold else 1.35  # capitals are wider
        per_line = max(1.0, (width - 1) * factor * 12 / size)
        wrapped = sum(max(1, math.ceil(len(part) / per_line)) for part in str(text).split("\n"))
        lines = max(lines, wrapped)
    ws.row_dimensions[row].height = LINE_HEIGHT * lines * size / 12 + 2


def page_setup(ws: Worksheet, landscape: bool, title_rows: str | None) -> None:
    """A4 at 100 % (never shrunk): margins top/bottom 2 cm, left 3 cm, right 1.5 cm."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.scale = 100
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_margins = PageMargins(
        left=3.0 * CM,
        right=1.5 * CM,
        top=2.0 * CM,
        bottom=2.0 * CM,
        header=0.8 * CM,
        footer=0.8 * CM,
    )
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.sheet_view.showGridLines = False


def head_cell(ws: Worksheet, row: int, col: int, text: str, size: float = 11) -> None:
    def apply(c: Any) -> None:
        c.font = font(size, bold=True)
        c.alignment = CENTER
        c.border = BORDER
        c.fill = HEAD_FILL

    styled(put(ws, row, col, text), ("head", size), apply)


def body_cell(ws: Worksheet, row: int, col: int, value: Any, **style: Any) -> Any:
    align = style.pop("align", None)
    indent = style.pop("indent", 0)
    number = style.pop("number", False)

    def apply(c: Any) -> None:
        c.border = BORDER
        c.font = font(**style)
        c.alignment = Alignment(horizontal=align, vertical="center", wrap_text=True, indent=indent)
        if number:
            c.number_format = INT_FORMAT

    key = ("body", align, indent, number, *sorted(style.items()))
    return styled(put(ws, row, col, value), key, apply)


def header_block(ws: Worksheet, doc, split: int, last: int) -> int:  # type: ignore[no-untyped-def]
    """The national motto block (columns 1..split | split+1..last); returns the next row."""
    block(ws, 1, 1, split, doc.issuer[0], size=12, bold=True)
    block(ws, 1, split + 1, last, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=12, bold=True)
    block(ws, 2, 1, split, doc.issuer[1], size=12, bold=True)
    block(ws, 2, split + 1, last, "Độc lập - Tự do - Hạnh phúc", size=13, bold=True, underline=True)
    block(ws, 3, 1, split, doc.number_line, size=13)
    block(ws, 3, split + 1, last, doc.place_date, size=13, italic=True)
    left = width_of(ws, 1, split)
    fit_height(ws, 1, [(doc.issuer[0], left)], 12, bold=True)
    fit_height(ws, 2, [(doc.issuer[1], left)], 12, bold=True)
    ws.row_dimensions[3].height = 24
    return 5


def width_of(ws: Worksheet, first: int, last: int) -> float:
    """The width of columns first..last, in column-width units."""
    return sum(
        ws.column_dimensions[get_column_letter(c)].width or 8 for c in range(first, last + 1)
    )


def signature_block(ws: Worksheet, row: int, sig, split: int, last: int) -> int:  # type: ignore[no-untyped-def]
    """Người lập biểu on the left, TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH on the right."""
    block(ws, row, 1, split, sig.preparer_title, size=13, bold=True)
    block(ws, row, split + 1, last, sig.on_behalf, size=13, bold=True)
    block(ws, row + 1, split + 1, last, sig.signer_title, size=13, bold=True)
    block(ws, row + 1, 1, split, "(Ký, ghi rõ họ tên)", size=12, italic=True)
    for blank in range(row + 2, row + 6):
        ws.row_dimensions[blank].height = LINE_HEIGHT
    block(ws, row + 6, 1, split, sig.preparer_name, size=13, bold=True)
    block(ws, row + 6, split + 1, last, sig.signer_name, size=13, bold=True)
    return row + 7
