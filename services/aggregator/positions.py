"""Ranges of stream sequences: which messages of the log of record a database has applied.

Pure: a sorted list of disjoint, non-adjacent, inclusive `(first, last)` pairs. The
aggregator adds the sequences of every hand-off message it commits, in the same
transaction as their events, and compares the ranges with what the broker holds to
find what the database lacks (`missing`), replaying it, or saying it is lost.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

Ranges = list[tuple[int, int]]


def add(ranges: Ranges, seqs: Iterable[int]) -> Ranges:
    """`ranges` with every sequence of `seqs` added (merged, sorted)."""
    spans = [*ranges, *((s, s) for s in seqs)]
    return merge(spans)


def merge(spans: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + 1:
            if last > out[-1][1]:
                out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def missing(ranges: Ranges, first: int, last: int) -> Ranges:
    """The parts of `[first, last]` that `ranges` does not cover."""
    out: Ranges = []
    at = first
    for lo, hi in ranges:
        if hi < at:
            continue
        if lo > last:
            break
        if lo > at:
            out.append((at, lo - 1))
        at = max(at, hi + 1)
        if at > last:
            return out
    if at <= last:
        out.append((at, last))
    return out


def count(ranges: Ranges) -> int:
    return sum(last - first + 1 for first, last in ranges)


def highest(ranges: Ranges) -> int:
    return ranges[-1][1] if ranges else 0


def to_json(ranges: Ranges) -> str:
    return orjson.dumps([list(r) for r in ranges]).decode()


def from_json(text: str | None) -> Ranges:
    return [(int(a), int(b)) for a, b in orjson.loads(text)] if text else []
