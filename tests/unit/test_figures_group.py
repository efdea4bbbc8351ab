"""`add_group`: groups of plain cases give exactly what `add_case` gives case by case."""

from __future__ import annotations

import random

import pytest

from shared.domain.figures import (
    COUNTED_FILTERS,
    GROUP_DIMENSIONS,
    PLAIN_FILTERS,
    add_case,
    add_case_with_procedures,
    add_group,
    complete_group,
    empty_counts,
    procedure_counts,
)
from shared.domain.figures.group import TOTAL_FILTER, PlainFilter, _split
from shared.domain.figures.rules import RULES, SEEN, Before, NotBefore, WaitingAtEnd
from tests.kits.figures import random_cases, random_window


def group_sums(plain, start: int, end: int, filters=PLAIN_FILTERS) -> list[dict]:
    """What a database counts per group over the plain cases the period sees: each of
    `filters` (the database counts `COUNTED_FILTERS`, `complete_group` the rest)."""
    groups: dict[tuple, dict] = {}
    for case in plain:
        if not all(c.holds(case, start, end) for c in SEEN):
            continue
        dims = tuple(getattr(case, d) for d in GROUP_DIMENSIONS)
        group = groups.setdefault(
            dims, dict(zip(GROUP_DIMENSIONS, dims, strict=True)) | {f.name: 0 for f in filters}
        )
        for f in filters:
            group[f.name] += all(c.holds(case, start, end) for c in f.conditions)
    return list(groups.values())


def _plain_window(seed: int):
    rng = random.Random(seed)
    cases = [c for c, _ in random_cases(rng, ("00004",), 80)]
    plain = [c for c in cases if not (c.waits or c.apologies or c.anomalies)]
    assert plain, "the generator makes plain cases"
    start, end, now = random_window(rng)
    end = min(end, now)
    return plain, min(start, end), end


@pytest.mark.parametrize("seed", range(40))
def test_plain_groups_equal_case_by_case(seed: int) -> None:
    """Counting plain cases by group with add_group equals add_case over each of them,
    whether every filter is counted or only `COUNTED_FILTERS` (the rest derived)."""
    plain, start, end = _plain_window(seed)
    expected = empty_counts()
    for case in plain:
        add_case(expected, case, start, end)
    got = empty_counts()
    for group in group_sums(plain, start, end):
        add_group(got, group)
    assert got == expected
    derived = empty_counts()
    for group in group_sums(plain, start, end, COUNTED_FILTERS):
        add_group(derived, complete_group(group))
    assert derived == expected


@pytest.mark.parametrize("seed", range(40))
def test_derived_filters_equal_counted_ones(seed: int) -> None:
    """Every filter `complete_group` derives equals the count of its cases."""
    plain, start, end = _plain_window(seed)
    counted = {tuple(g[d] for d in GROUP_DIMENSIONS): g for g in group_sums(plain, start, end)}
    for group in group_sums(plain, start, end, COUNTED_FILTERS):
        full = counted[tuple(group[d] for d in GROUP_DIMENSIONS)]
        complete_group(group)
        assert {f.name: group[f.name] for f in PLAIN_FILTERS} == {
            f.name: full[f.name] for f in PLAIN_FILTERS
        }


def test_the_database_counts_fewer_filters() -> None:
    """The rule table's 7 filters are 5 counts: a count of every case and 4 filters."""
    assert len(PLAIN_FILTERS) == 7
    assert [f.name for f in COUNTED_FILTERS] == [
        "n_received_before_start",
        "n_ended_not_before_end",
        "n_ended_not_before_end__overdue_before_end",
        "n_overdue_not_before_start__overdue_before_end",
        "n_total",
    ]


def test_split_keeps_what_a_difference_needs() -> None:
    """A filter used to derive another is never derived itself; a rule that counts every
    case is the total; the total is not added when nothing needs it."""
    before, not_before = Before("ended_at", "end"), NotBefore("ended_at", "end")
    seen = PlainFilter("n_seen", ())
    counted, derived = _split((seen, PlainFilter("b", (before,)), PlainFilter("nb", (not_before,))))
    assert [f.name for f in counted] == ["n_seen", "b"]
    assert derived == (("nb", "n_seen", "b"),)
    counted, derived = _split((PlainFilter("b", (before,)),))
    assert counted == (PlainFilter("b", (before,)),) and derived == ()
    counted, derived = _split((PlainFilter("nb", (not_before,)), PlainFilter("b", (before,))))
    assert [f.name for f in counted] == ["b", TOTAL_FILTER.name]
    assert derived == (("nb", TOTAL_FILTER.name, "b"),)


@pytest.mark.parametrize("seed", range(20))
def test_add_case_with_procedures_equals_procedure_counts(seed: int) -> None:
    """The procedure rules returned for each case give `procedure_counts`, and the
    counts `add_case`'s."""
    rng = random.Random(seed)
    cases = [c for c, _ in random_cases(rng, ("00004",), 80)]
    start, end, now = random_window(rng)
    end = min(end, now)
    start = min(start, end)
    expected, got = empty_counts(), empty_counts()
    codes: dict[str, set[str]] = {}
    for case in cases:
        add_case(expected, case, start, end)
        for key in add_case_with_procedures(got, case, start, end):
            codes.setdefault(key, set()).add(case.procedure_code)
    assert got == expected
    wanted = procedure_counts(cases, start, end, now)
    assert {key: len(codes.get(key, ())) for key in wanted} == wanted


def group(**values: object) -> dict:
    """A group of the given dimensions and filter counts (others 0 / None)."""
    out: dict = dict.fromkeys(GROUP_DIMENSIONS) | {f.name: 0 for f in PLAIN_FILTERS}
    out.update(values)
    return out


def test_plain_open_overdue_cases() -> None:
    """Open plain cases overdue before the end count as open overdue without apology."""
    counts = empty_counts()
    add_group(
        counts,
        group(
            channel="direct",
            n_received_before_start=3,
            n_ended_not_before_end=3,
            n_ended_not_before_end__overdue_before_end=3,
        ),
    )
    assert counts["carried_over"] == 3
    assert counts["open_at_end"] == counts["open_overdue_at_end"] == 3
    assert counts["open_overdue_without_apology_at_end"] == 3
    assert counts["became_overdue"] == 0 and counts["open_in_time_at_end"] == 0


def test_plain_empty_group_adds_nothing() -> None:
    """A group the period does not see changes no figure."""
    counts = empty_counts()
    add_group(counts, group(channel="postal", end_kind="resolved", lateness="early", field="dat_dai"))
    assert counts == empty_counts()


def test_waits_only_matter_for_open_cases() -> None:
    """Every rule reading a wait also requires the case open at the end.

    The aggregator counts cases that only waited and ended inside the period with the
    plain ones; this property of the rule table is what makes that exact."""
    for rule in RULES:
        if any(isinstance(c, WaitingAtEnd) for c in rule.when):
            assert NotBefore("ended_at", "end") in rule.when, rule.key
