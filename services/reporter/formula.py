"""A tiny, safe expression language for template rows (no eval).

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := NUMBER | KEY | 'rate' '(' expr ',' expr ')' | '(' expr ')' | '-' factor

KEY is a figure key (`received_total`, ...). `rate(a, b)` is `100 * a / b` rounded half
up to 2 decimals, None when `b` is 0, exactly like the figures' own rates. `a / b` with
`b` = 0 is None; None spreads through any arithmetic (a missing rate stays missing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

Value = int | float | None

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/(),]))"
)


class FormulaError(ValueError):
    """A formula that cannot be parsed or names an unknown key."""


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed formula: its text, the keys it reads, and an evaluator."""

    text: str
    keys: tuple[str, ...]
    _eval: Callable[[Mapping[str, Value]], Decimal | None]

    def evaluate(self, figures: Mapping[str, Value]) -> Value:
        """The value over a figures mapping: int when whole, else float (2 decimals)."""
        result = self._eval(figures)
        if result is None:
            return None
        if result == result.to_integral_value():
            return int(result)
        return float(result.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FormulaError(f"unexpected character {text[pos:].strip()[:1]!r} at {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _dec(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise FormulaError(f"figure value {value!r} is not a number")
    return Decimal(str(value))


def parse_formula(text: str, known_keys: frozenset[str] | set[str] | tuple[str, ...]) -> Formula:
    """Parse a formula; FormulaError names what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("empty formula")
    known = frozenset(known_keys)
    tokens = _tokens(text)
    pos = 0
    keys: list[str] = []

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal pos
        tok = peek()
        if tok is None:
            raise FormulaError(
                f"formula ends early{f', expected {expected!r}' if expected else ''}"
            )
        if expected is not None and tok[1] != expected:
            raise FormulaError(f"expected {expected!r}, found {tok[1]!r}")
        pos += 1
        return tok

    Node = Callable[[Mapping[str, Value]], Decimal | None]

    def expr() -> Node:
        node = term()
        while (tok := peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            take()
            node = _binary(tok[1], node, term())
        return node

    def term() -> Node:
        node = factor()
        while (tok := peek()) is not None and tok[1] in "*/" and tok[0] == "op":
            take()
            node = _binary(tok[1], node, factor())
        return node

    def factor() -> Node:
        kind, value = take()
        if kind == "num":
            constant = Decimal(value)
            return lambda _f: constant
        if kind == "op" and value == "-":
            inner = factor()
            return lambda f: None if (v := inner(f)) is None else -v
        if kind == "op" and value == "(":
            inner = expr()
            take(")")
            return inner
        if kind == "name" and value == "rate":
            take("(")
            num = expr()
            take(",")
            den = expr()
            take(")")
            return _rate(num, den)
        if kind == "name":
            if value not in known:
                raise FormulaError(f"unknown figure key {value!r}")
            keys.append(value)
            return lambda f, k=value: _dec(f.get(k))
        raise FormulaError(f"unexpected {value!r}")

    tree = expr()
    if pos != len(tokens):
        raise FormulaError(f"unexpected {tokens[pos][1]!r} after the end of the expression")
    return Formula(text.strip(), tuple(dict.fromkeys(keys)), tree)


def _binary(op: str, left, right):  # type: ignore[no-untyped-def]
    def node(f: Mapping[str, Value]) -> Decimal | None:
        a, b = left(f), right(f)
        if a is None or b is None:
            return None
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return None if b == 0 else a / b

    return node


def _rate(num, den):  # type: ignore[no-untyped-def]
    def node(f: Mapping[str, Value]) -> Decimal | None:
        a, b = num(f), den(f)
        if a is None or b is None or b == 0:
            return None
        return (Decimal(100) * a / b).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    return node
