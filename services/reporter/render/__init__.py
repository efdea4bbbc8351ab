"""The appendix as a file, one module per format: text, csv, xlsx, docx (and JSON here).

Every renderer takes the `services.reporter.appendix.Appendix` object and returns
bytes (text: str), so callers decide where they go (stdout, `--out`, a snapshot).
"""

from __future__ import annotations

import orjson

from services.reporter.tables import display_stt

FORMATS = ("json", "csv", "xlsx", "docx", "text")
BINARY_FORMATS = ("xlsx", "docx")
EXTENSIONS = {"json": "json", "csv": "csv", "xlsx": "xlsx", "docx": "docx", "text": "txt"}
__all__ = ["BINARY_FORMATS", "EXTENSIONS", "FORMATS", "display_stt", "render", "render_json"]


def render_json(appendix) -> bytes:  # type: ignore[no-untyped-def]
    return orjson.dumps(appendix.to_json(), option=orjson.OPT_INDENT_2) + b"\n"


def render(appendix, fmt: str) -> bytes:  # type: ignore[no-untyped-def]
    """The appendix in one of FORMATS."""
    if fmt == "json":
        return render_json(appendix)
    if fmt == "csv":
        from services.reporter.render.csv import render_csv

        return render_csv(appendix)
    if fmt == "xlsx":
        from services.reporter.render.xlsx import render_xlsx

        return render_xlsx(appendix)
    if fmt == "docx":
        from services.reporter.render.docx import render_docx

        return render_docx(appendix)
    if fmt == "text":
        from services.reporter.render.text import render_text

        return (render_text(appendix) + "\n").encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
