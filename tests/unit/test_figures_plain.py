"""`add_plain`: groups of plain cases give exactly what `add_case` gives case by case."""

from __future__ import annotations

import random

import pytest

from shared.domain.figures import add_case, add_plain, empty_counts
from tests.figureskit import random_cases, random_window


def group_sums(plain, start: int, end: int) -> dict[tuple, list[int]]:
    """What a database sums per (channel, end_kind, lateness, field) over seen plain cases."""
    groups: dict[tuple, list[int]] = {}
    for case in plain:
        if case.received_at is None or case.received_at >= end:
            continue
        if case.ended_at is not None and case.ended_at < start:
            continue
        ended = case.ended_at is not None and case.ended_at < end
        o = case.overdue_at
        overdue = o is not None and o < end
        sums = groups.setdefault((case.channel, case.end_kind, case.lateness, case.field), [0] * 6)
        for i, flag in enumerate(
            (
                True,
                case.received_at < start,
                ended,
                overdue,
                overdue and o >= start,
                overdue and ended,
            )
        ):
            sums[i] += int(flag)
    return groups


@pytest.mark.parametrize("seed", range(40))
def test_plain_groups_equal_case_by_case(seed: int) -> None:
    """Counting plain cases by group with add_plain equals add_case over each of them."""
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
    for key, sums in group_sums(plain, start, end).items():
        add_plain(got, *key, *sums)
    assert got == expected


def test_plain_open_overdue_cases() -> None:
    """Open plain cases overdue before the end count as open overdue without apology."""
    counts = empty_counts()
    add_plain(counts, "direct", None, None, None, 3, 3, 0, 3, 0, 0)
    assert counts["carried_over"] == 3
    assert counts["open_at_end"] == counts["open_overdue_at_end"] == 3
    assert counts["open_overdue_without_apology_at_end"] == 3
    assert counts["became_overdue"] == 0 and counts["open_in_time_at_end"] == 0


def test_plain_empty_group_adds_nothing() -> None:
    """A group the period does not see changes no figure."""
    counts = empty_counts()
    add_plain(counts, "postal", "resolved", "early", "dat_dai", 0, 0, 0, 0, 0, 0)
    assert counts == empty_counts()
