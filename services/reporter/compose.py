"""One appendix from a figures source: the request, the reply, the appendix object.

The command line and the snapshots both go through `appendix_from`, so a figures
source is a plain parameter (a fake in tests, NATS in the service, the aggregator's
in-process reader in `tthc appendix`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from services.reporter.appendix import Appendix, Presentation, make_appendix
from services.reporter.figsource import fetch
from services.reporter.templates import Template
from shared.domain.events import Instant
from shared.domain.periods import Period
from shared.ports import ALL_AGENCIES, DEFAULT_AGENCY, FiguresReply, FiguresRequest, FiguresSource
from shared.registry import UnitRegistry

_AGENCY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class BadAgency(ValueError):
    """An agency that is neither a slug (`cong_an`) nor `all`."""


def checked_agency(text: str | None) -> str:
    """'ubnd' by default; a slug of a-z, 0-9 and _ (at most 32), or 'all'."""
    agency = (text or DEFAULT_AGENCY).strip()
    if agency != ALL_AGENCIES and not _AGENCY.match(agency):
        raise BadAgency(
            f"malformed agency {text!r}: use a slug such as ubnd, cong_an, quan_su, or 'all'"
        )
    return agency


def figures_request(
    unit: Mapping[str, str], period: Period, now: Instant, agency: str = DEFAULT_AGENCY
) -> FiguresRequest:
    return FiguresRequest(
        unit["kind"],
        unit["code"],
        period.start_instant,
        period.end_instant,
        now,
        with_communes=unit["kind"] == "province",
        agency=agency,
    )


async def appendix_from(
    source: FiguresSource,
    registry: UnitRegistry,
    unit: Mapping[str, str],
    period: Period,
    template: Template,
    now: Instant,
    agency: str = DEFAULT_AGENCY,
    presentation: Presentation | None = None,
) -> tuple[Appendix, FiguresReply]:
    """Ask the source for a unit's figures and lay the template over them."""
    reply = await fetch(source, figures_request(unit, period, now, agency))
    appendix = make_appendix(unit, period, reply, template, now, registry, agency, presentation)
    return appendix, reply
