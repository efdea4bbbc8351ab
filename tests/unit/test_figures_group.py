"""`add_group`: groups of plain cases give exactly what `add_case` gives case by case."""

from __future__ import annotations

import random

import pytest

from shared.domain.figures import (
    GROUP_DIMENSIONS,
    PLAIN_FILTERS,
    add_case,
    add_group,
    empty_counts,
)
from shared.domain.figures.rules import RULES, SEEN, NotBefore, WaitingAtEnd
from tests.kits.figures import random_cases, random_window


def group_sums(plain, start: int, end: int) -> list[dict]:
    """What a database counts per group over the plain cases the period sees."""
    groups: dict[tuple, dict] = {}
    for case in plain:
        if not all(c.holds(case, start, end) for c in SEEN):
            continue
        dims = tuple(getattr(case, d) for d in GROUP_DIMENSIONS)
        group = groups.setdefault(
            dims, dict(zip(GROUP_DIMENSIONS, dims, strict=True)) | {f.name: 0 for f in PLAIN_FILTERS}
        )
        for f in PLAIN_FILTERS:
            group[f.name] += all(c.holds(case, start, end) for c in f.conditions)
    return list(groups.values())


@pytest.mark.parametrize("seed", range(40))
def test_plain_groups_equal_case_by_case(seed: int) -> None:
    """Counting plain cases by group with add_group equals add_case over each of them."""
    rng = random.Random(seed)
    cases = [c for c, _ in random_cases(rng, ("00004",), 80)]
    plain = [c for c in cases if not (c.waits or c.apologies or c.anomalies)]
    assert plain, "the generator makes plain cases"
    start, end, now = random_window(rng)
    end = min(end, now)
    start = min(start, end)
    expected = empty_counts()
    for case in plain:
        add_case(expected, case, start, end)
    got = empty_counts()
    for group in group_sums(plain, start, end):
        add_group(got, group)
    assert got == expected


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
