"""The figure keys of appendix.md, the two rates, and sums of figures.

Counts are additive: a province's figures, an agency's over its fields, `all` over
the agencies are sums of counts, with the rates recomputed from the sums (never
averaged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

COUNT_KEYS: tuple[str, ...] = (
    "carried_over",
    "received_total",
    "received_direct",
    "received_postal",
    "received_online_partial",
    "received_online_full",
    "resolved_total",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "resolved_in_time_direct",
    "resolved_in_time_postal",
    "resolved_in_time_online_partial",
    "resolved_in_time_online_full",
    "resolved_in_time_land",
    "resolved_in_time_construction",
    "returned",
    "withdrawn",
    "open_at_end",
    "open_in_time_at_end",
    "open_overdue_at_end",
    "awaiting_supplement_at_end",
    "paused_at_end",
    "became_overdue",
    "apologies_sent",
    "apologized_cases",
    "resolved_late_without_apology",
    "open_overdue_without_apology_at_end",
)
RATE_KEYS: tuple[str, ...] = ("on_time_rate", "online_rate")
FIGURE_KEYS: tuple[str, ...] = COUNT_KEYS + RATE_KEYS

Figures = dict[str, int | float | None]
Counts = dict[str, int]


def rate(numerator: int, denominator: int) -> float | None:
    """100 * numerator / denominator, rounded half up to 2 decimals; None if no denominator."""
    if denominator == 0:
        return None
    value = (Decimal(100) * numerator / Decimal(denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return float(value)


def with_rates(counts: Mapping[str, int]) -> Figures:
    """Counts completed with the two rates, recomputed from the counts."""
    figures: Figures = {key: int(counts.get(key, 0)) for key in COUNT_KEYS}
    in_time = int(counts.get("resolved_early", 0)) + int(counts.get("resolved_on_time", 0))
    figures["on_time_rate"] = rate(in_time, int(counts.get("resolved_total", 0)))
    online = int(counts.get("received_online_partial", 0)) + int(
        counts.get("received_online_full", 0)
    )
    figures["online_rate"] = rate(online, int(counts.get("received_total", 0)))
    return figures


def empty_counts() -> Counts:
    return dict.fromkeys(COUNT_KEYS, 0)


def add_counts(total: Counts, part: Mapping[str, int | float | None]) -> None:
    """Add a part's counts into `total` (rates ignored)."""
    for key in COUNT_KEYS:
        total[key] += int(part.get(key) or 0)


def sum_figures(parts: Iterable[Mapping[str, int | float | None]]) -> Figures:
    """The sums of the parts' counts (a province's communes, an agency's fields), rates
    recomputed."""
    counts = empty_counts()
    for part in parts:
        add_counts(counts, part)
    return with_rates(counts)


def has_data(figures: Mapping[str, int | float | None]) -> bool:
    """Whether any count is non-zero."""
    return any(figures.get(key) for key in COUNT_KEYS)


def balance_holds(figures: Mapping[str, int | float | None]) -> bool:
    """carried_over + received_total = resolved_total + returned + withdrawn + open_at_end."""

    def f(key: str) -> int:
        return int(figures.get(key) or 0)

    return f("carried_over") + f("received_total") == (
        f("resolved_total") + f("returned") + f("withdrawn") + f("open_at_end")
    )
