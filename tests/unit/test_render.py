"""`render`: the one entry point of every format; JSON and the STT display rule."""

from __future__ import annotations

import orjson
import pytest

from services.reporter.render import display_stt, render
from tests.kits.reporter import BIG, kit_appendix


@pytest.fixture(scope="module")
def commune_appendix():
    return kit_appendix(bump=BIG)  # a big number: the thousands dot


def test_json_round_trip(commune_appendix):
    """JSON output is the appendix's JSON, UTF-8, Vietnamese kept as is."""
    data = render(commune_appendix, "json")
    assert orjson.loads(data) == orjson.loads(orjson.dumps(commune_appendix.to_json()))
    assert "Hoằng Hợp".encode() in data


def test_display_stt_opens_groups_with_trong_do():
    """An unnumbered indented row after a numbered one reads 'Trong đó'; the next stays blank."""
    rows = [
        {"stt": "1", "style": []},
        {"stt": "", "style": ["indent"]},
        {"stt": "", "style": ["indent"]},
        {"stt": "2", "style": []},
    ]
    assert display_stt(rows) == ["1", "Trong đó", "", "2"]


def test_unknown_format():
    """An unknown format is refused."""
    with pytest.raises(ValueError, match="unknown format"):
        render(kit_appendix(), "pdf")


def test_every_format_of_every_form_renders(tmp_path):
    """Each shipped form renders in every format, for a commune and a province."""
    from services.reporter.render import FORMATS
    from services.reporter.templates import builtin_names
    from tests.kits.reporter import PROVINCE

    for name in builtin_names():
        for kind, code in (("commune", "16096"), ("province", PROVINCE)):
            appendix = kit_appendix(kind, code, template=name)
            for fmt in FORMATS:
                assert render(appendix, fmt), (name, kind, fmt)
