"""One appendix from a source: the agency slug is checked and travels in the request."""

from __future__ import annotations

import asyncio

import pytest

from services.reporter.compose import BadAgency, appendix_from, checked_agency
from services.reporter.templates import load_template
from services.reporter.units import unit_info
from shared.domain.periods import parse_period
from tests.kits.reporter import COMMUNE, KIT_NOW, FakeFiguresSource, registry, sample_events


@pytest.mark.parametrize("text", ["ubnd", "cong_an", "quan_su", "all", None])
def test_good_agencies(text):
    """Slugs and 'all' pass; nothing means ubnd."""
    assert checked_agency(text) == (text or "ubnd")


@pytest.mark.parametrize("text", ["Công an", "CONG_AN", "../x", "a" * 40, "1ubnd", ""])
def test_bad_agencies(text):
    """Anything else is refused with a message naming the form."""
    if text == "":
        assert checked_agency(text) == "ubnd"
        return
    with pytest.raises(BadAgency, match="malformed agency"):
        checked_agency(text)


def test_appendix_from_asks_with_the_agency():
    """The request carries the agency; the appendix writes it."""
    reg = registry()
    source = FakeFiguresSource(reg, sample_events())
    appendix, reply = asyncio.run(
        appendix_from(
            source,
            reg,
            unit_info(reg, "commune", COMMUNE),
            parse_period("2024-Q1"),
            load_template(None),
            KIT_NOW,
            "all",
        )
    )
    assert source.requests[-1].agency == "all" and appendix.agency == "all"
    assert appendix.figures == {k: reply.figures[k] for k in appendix.figures}
