"""The template formula language: + - * /, rate(a, b), figure keys; no eval."""

from __future__ import annotations

import pytest

from services.reporter.formula import FormulaError, parse_formula
from shared.domain.figures import FIGURE_KEYS

KEYS = frozenset(FIGURE_KEYS)
FIGS = {
    "resolved_early": 3,
    "resolved_on_time": 4,
    "resolved_total": 8,
    "received_total": 0,
    "on_time_rate": None,
}


def test_sum_and_keys():
    """A sum of keys evaluates to an int and lists the keys it reads."""
    f = parse_formula("resolved_early + resolved_on_time", KEYS)
    assert f.evaluate(FIGS) == 7
    assert f.keys == ("resolved_early", "resolved_on_time")


def test_precedence_and_parentheses():
    """* and / bind tighter than + and -; parentheses and unary minus work."""
    assert parse_formula("2 + 3 * 4", KEYS).evaluate({}) == 14
    assert parse_formula("(2 + 3) * 4", KEYS).evaluate({}) == 20
    assert parse_formula("-resolved_early + 10", KEYS).evaluate(FIGS) == 7
    assert parse_formula("resolved_total / 3", KEYS).evaluate(FIGS) == 2.67


def test_rate_like_the_figures():
    """rate(a, b) is 100*a/b rounded half up to 2 decimals, None for b = 0."""
    f = parse_formula("rate(resolved_early + resolved_on_time, resolved_total)", KEYS)
    assert f.evaluate(FIGS) == 87.5
    assert parse_formula("rate(1, 3)", KEYS).evaluate({}) == 33.33
    assert parse_formula("rate(2, 3)", KEYS).evaluate({}) == 66.67
    assert parse_formula("rate(resolved_early, received_total)", KEYS).evaluate(FIGS) is None


def test_missing_values_spread():
    """Division by zero and a None figure give None."""
    assert parse_formula("resolved_early / received_total", KEYS).evaluate(FIGS) is None
    assert parse_formula("on_time_rate + 1", KEYS).evaluate(FIGS) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("recieved_total + 1", "unknown figure key 'recieved_total'"),
        ("resolved_total +", "ends early"),
        ("(resolved_total", "expected ')'"),
        ("resolved_total resolved_early", "unexpected"),
        ("__import__('os')", "unexpected character"),
        ("resolved_total ** 2", "unexpected"),
        ("rate(resolved_total)", "expected ','"),
        ("open(1)", "unknown figure key 'open'"),
    ],
)
def test_bad_formulas(text, fragment):
    """Malformed formulas and unknown names are refused with a message saying why."""
    with pytest.raises(FormulaError, match=None) as info:
        parse_formula(text, KEYS)
    assert fragment in str(info.value)
