"""Figures case by case, and per agency and field (contract 1.1), from case summaries.

`end` is clipped to the moment of asking ("at end" is the period's last instant or
now, if earlier): a past period's figures are a pure function of the events, a running
period's move with the clock. A period that has not begun has no flows; its stocks are
taken now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.domain.case import CaseSummary
from shared.domain.events import ALL_AGENCIES, DEFAULT_AGENCY, NO_FIELD, Instant
from shared.domain.figures.keys import (
    Counts,
    Figures,
    add_counts,
    empty_counts,
    has_data,
    sum_figures,
    with_rates,
)
from shared.domain.figures.rules import PROCEDURE_RULES, RULES, SEEN, Rule, conditions_of

_CONDITIONS = conditions_of(RULES + PROCEDURE_RULES)
_SEEN = tuple(_CONDITIONS.index(c) for c in SEEN)


def _indexed(rules: tuple[Rule, ...]) -> tuple[tuple[str, tuple[int, ...], bool], ...]:
    return tuple(
        (rule.key, tuple(_CONDITIONS.index(c) for c in rule.when), rule.letters)
        for rule in rules
    )


_RULES = _indexed(RULES)
_PROCEDURE_RULES = _indexed(PROCEDURE_RULES)


def clip(start: Instant, end: Instant, now: Instant) -> tuple[Instant, Instant]:
    """The window the figures see: `end` no later than `now`, `start` no later than `end`."""
    end = min(end, now)
    return min(start, end), end


def _held(case: CaseSummary, start: Instant, end: Instant) -> list[bool] | None:
    """Each condition's truth for a case the period sees, or None if it does not see it."""
    if case.received_at is None:
        return None  # an orphan is counted nowhere
    held = [c.holds(case, start, end) for c in _CONDITIONS]
    return held if all(held[i] for i in _SEEN) else None


# The truth of every condition -> the rules that hold (key, letters): a national pass
# meets a few hundred distinct combinations in 100,000 cases.
_RULES_BY_HELD: dict[tuple[bool, ...], tuple[tuple[str, bool], ...]] = {}


def _rules_holding(held: tuple[bool, ...]) -> tuple[tuple[str, bool], ...]:
    found = _RULES_BY_HELD.get(held)
    if found is None:
        found = tuple(
            (key, letters) for key, when, letters in _RULES if all(held[i] for i in when)
        )
        if len(_RULES_BY_HELD) < 100_000:  # bounded, whatever the data
            _RULES_BY_HELD[held] = found
    return found


_PROCEDURES_BY_HELD: dict[tuple[bool, ...], tuple[str, ...]] = {}


def _procedure_rules_holding(held: tuple[bool, ...]) -> tuple[str, ...]:
    found = _PROCEDURES_BY_HELD.get(held)
    if found is None:
        found = tuple(key for key, when, _ in _PROCEDURE_RULES if all(held[i] for i in when))
        if len(_PROCEDURES_BY_HELD) < 100_000:  # bounded, whatever the data
            _PROCEDURES_BY_HELD[held] = found
    return found


def _add_held(
    counts: Counts, case: CaseSummary, start: Instant, end: Instant, held: tuple[bool, ...]
) -> None:
    for key, letters in _rules_holding(held):
        counts[key] += sum(1 for a in case.apologies if start <= a < end) if letters else 1


def add_case(counts: Counts, case: CaseSummary, start: Instant, end: Instant) -> None:
    """Add one case's contribution to the figures of `[start, end)` (end already clipped)."""
    held = _held(case, start, end)
    if held is not None:
        _add_held(counts, case, start, end, tuple(held))


def add_case_with_procedures(
    counts: Counts, case: CaseSummary, start: Instant, end: Instant
) -> tuple[str, ...]:
    """`add_case`, returning the keys of the `PROCEDURE_RULES` the case's procedure code
    (mã TTHC) counts under (none without a code): the conditions are evaluated once."""
    held = _held(case, start, end)
    if held is None:
        return ()
    key = tuple(held)
    _add_held(counts, case, start, end, key)
    return () if case.procedure_code is None else _procedure_rules_holding(key)


def compute_figures(
    cases: Iterable[CaseSummary], start: Instant, end: Instant, now: Instant
) -> Figures:
    """The figures of `[start, end)` asked at `now`, over the given cases (any agency)."""
    start, end = clip(start, end, now)
    counts = empty_counts()
    for case in cases:
        add_case(counts, case, start, end)
    return with_rates(counts)


Cell = tuple[str, str]
"""(agency, field) of a case: `NO_FIELD` for a case with none."""


def cell_of(agency: str | None, field: str | None) -> Cell:
    return (agency or DEFAULT_AGENCY, field or NO_FIELD)


def add_to_cell(cells: dict[Cell, Counts], cell: Cell) -> Counts:
    """The counts of one cell, created empty on first use."""
    counts = cells.get(cell)
    if counts is None:
        counts = cells[cell] = empty_counts()
    return counts


def tally(cases: Iterable[CaseSummary], start: Instant, end: Instant) -> dict[Cell, Counts]:
    """Counts of `[start, end)` (end clipped) per (agency, field) cell."""
    cells: dict[Cell, Counts] = {}
    for case in cases:
        add_case(add_to_cell(cells, cell_of(case.agency, case.field)), case, start, end)
    return cells


@dataclass(frozen=True, slots=True)
class Breakdown:
    """A unit's figures for one agency (or all), and per agency and per field."""

    figures: Figures
    by_agency: dict[str, Figures]
    by_field: dict[str, Figures]


def _selected(agency: str, cell_agency: str) -> bool:
    return agency == ALL_AGENCIES or cell_agency == agency


def breakdown(cells: Mapping[Cell, Mapping[str, int]], agency: str = DEFAULT_AGENCY) -> Breakdown:
    """Figures of the selected agency (`all`: every one), `by_agency` over every agency
    and `by_field` over the selected one, from per-cell counts; entries with no data are
    left out."""
    agencies: dict[str, Counts] = {}
    fields: dict[str, Counts] = {}
    total = empty_counts()
    for (cell_agency, field), counts in cells.items():
        add_counts(agencies.setdefault(cell_agency, empty_counts()), counts)
        if _selected(agency, cell_agency):
            add_counts(fields.setdefault(field, empty_counts()), counts)
            add_counts(total, counts)
    return Breakdown(
        figures=with_rates(total),
        by_agency={a: with_rates(c) for a, c in sorted(agencies.items()) if has_data(c)},
        by_field={f: with_rates(c) for f, c in sorted(fields.items()) if has_data(c)},
    )


def sum_breakdowns(parts: Iterable[Breakdown]) -> Breakdown:
    """A province's breakdown: every part's figures, agencies and fields summed."""
    parts = list(parts)

    def summed(key: str) -> dict[str, Figures]:
        names = sorted({name for part in parts for name in getattr(part, key)})
        return {
            n: sum_figures(getattr(p, key)[n] for p in parts if n in getattr(p, key))
            for n in names
        }

    return Breakdown(sum_figures(p.figures for p in parts), summed("by_agency"), summed("by_field"))


def compute_breakdown(
    cases: Iterable[CaseSummary],
    start: Instant,
    end: Instant,
    now: Instant,
    agency: str = DEFAULT_AGENCY,
) -> Breakdown:
    """`breakdown` of the given cases for `[start, end)` asked at `now`."""
    start, end = clip(start, end, now)
    return breakdown(tally(cases, start, end), agency)


def procedure_counts(
    cases: Iterable[CaseSummary], start: Instant, end: Instant, now: Instant
) -> dict[str, int]:
    """Distinct procedure codes of the given cases meeting each of `PROCEDURE_RULES`."""
    start, end = clip(start, end, now)
    codes: dict[str, set[str]] = {key: set() for key, _, _ in _PROCEDURE_RULES}
    for case in cases:
        if case.procedure_code is None:
            continue
        held = _held(case, start, end)
        if held is None:
            continue
        for key in _procedure_rules_holding(tuple(held)):
            codes[key].add(case.procedure_code)
    return {key: len(found) for key, found in codes.items()}
