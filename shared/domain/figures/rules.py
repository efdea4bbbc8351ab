"""The figure rules: one table saying which cases each figure counts (appendix.md).

A rule is a figure key and the conditions a case must meet, all of them, to count in
it: once, or for `apologies_sent` with its number of letters in the period. The
conditions are data, so the one table drives both ways the figures are computed:

- case by case (`Condition.holds`, see `compute.py`), for any case;
- by the database, which counts *plain* cases (no waits, no letters, no anomalies) in
  groups: the aggregator compiles the instant conditions to SQL filters, groups by the
  categorical attributes (`GROUP_DIMENSIONS`), and `group.add_group` applies each rule
  to a group's counts. For a plain case every story condition (a wait, a letter) has a
  fixed value (`Condition.plain`).

Every rule counts only cases the period sees (`SEEN`): received before its end and not
ended before its start. `end` is already clipped to the moment of asking.

An absent instant (a case never ended, never overdue; an orphan never received) is
later than any bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from shared.domain.case import CaseSummary
from shared.domain.events import CHANNELS, FIELD_CONSTRUCTION, FIELD_LAND

Bound = Literal["start", "end"]
Value = str | None


class Condition(Protocol):
    """Something a case meets or not in the window `[start, end)`."""

    @property
    def name(self) -> str: ...

    def holds(self, case: CaseSummary, start: int, end: int) -> bool: ...


@dataclass(frozen=True, slots=True)
class Before:
    """`attr < bound` for an instant attribute (`received_at`, `ended_at`, `overdue_at`)."""

    attr: str
    bound: Bound

    @property
    def name(self) -> str:
        return f"{self.attr.removesuffix('_at')}_before_{self.bound}"

    def holds(self, case: CaseSummary, start: int, end: int) -> bool:
        value = getattr(case, self.attr)
        return value is not None and value < (start if self.bound == "start" else end)


@dataclass(frozen=True, slots=True)
class NotBefore:
    """`attr >= bound`; an absent instant is later than any bound, so it holds."""

    attr: str
    bound: Bound

    @property
    def name(self) -> str:
        return f"{self.attr.removesuffix('_at')}_not_before_{self.bound}"

    def holds(self, case: CaseSummary, start: int, end: int) -> bool:
        value = getattr(case, self.attr)
        return value is None or value >= (start if self.bound == "start" else end)


@dataclass(frozen=True, slots=True)
class Is:
    """A categorical attribute (`channel`, `end_kind`, `lateness`, `field`, `agency`)
    takes one of `values`."""

    attr: str
    values: tuple[Value, ...]

    @property
    def name(self) -> str:
        return f"{self.attr}_is_{'_or_'.join(str(v) for v in self.values)}"

    def holds(self, case: CaseSummary, start: int, end: int) -> bool:
        return getattr(case, self.attr) in self.values


@dataclass(frozen=True, slots=True)
class WaitingAtEnd:
    """The case waits (for a supplement, or paused) just before the end. Plain cases never
    wait."""

    kind: str
    plain = False

    @property
    def name(self) -> str:
        return f"waiting_{self.kind}_at_end"

    def holds(self, case: CaseSummary, start: int, end: int) -> bool:
        return case.waiting_at(end) == self.kind


@dataclass(frozen=True, slots=True)
class LetterInPeriod:
    """At least one apology letter inside `[start, end)`. Plain cases have none."""

    plain = False
    name = "letter_in_period"

    def holds(self, case: CaseSummary, start: int, end: int) -> bool:
        return any(start <= a < end for a in case.apologies)


@dataclass(frozen=True, slots=True)
class NoLetterBeforeEnd:
    """No apology letter before the end. Plain cases have none."""

    plain = True
    name = "no_letter_before_end"

    def holds(self, case: CaseSummary, start: int, end: int) -> bool:
        return not any(a < end for a in case.apologies)


STORY_CONDITIONS = (WaitingAtEnd, LetterInPeriod, NoLetterBeforeEnd)
"""Conditions on a case's waits and letters: not columns a database can filter on."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Figure `key` counts the seen cases meeting every condition of `when`; with
    `letters`, each adds its number of apology letters in the period instead of 1."""

    key: str
    when: tuple[Condition, ...]
    letters: bool = False


# The conditions the rules share, named as the contract speaks.
RECEIVED_BEFORE_START = Before("received_at", "start")  # carried over
RECEIVED_IN_PERIOD = NotBefore("received_at", "start")  # (seen: received before the end)
ENDED_BY_END = Before("ended_at", "end")
OPEN_AT_END = NotBefore("ended_at", "end")
OVERDUE_BY_END = Before("overdue_at", "end")
IN_TIME_AT_END = NotBefore("overdue_at", "end")
BECAME_OVERDUE = (NotBefore("overdue_at", "start"), Before("overdue_at", "end"))
RESOLVED = Is("end_kind", ("resolved",))
IN_TIME = Is("lateness", ("early", "on_time"))
ONLINE = ("online_partial", "online_full")

SEEN: tuple[Condition, ...] = (Before("received_at", "end"), NotBefore("ended_at", "start"))
"""The cases a period sees: received before its end, not ended before its start."""

LATENESS = ("early", "on_time", "late")

RULES: tuple[Rule, ...] = (
    Rule("carried_over", (RECEIVED_BEFORE_START,)),
    Rule("received_total", (RECEIVED_IN_PERIOD,)),
    *(Rule(f"received_{c}", (RECEIVED_IN_PERIOD, Is("channel", (c,)))) for c in CHANNELS),
    Rule("resolved_total", (ENDED_BY_END, RESOLVED)),
    *(Rule(f"resolved_{lt}", (ENDED_BY_END, RESOLVED, Is("lateness", (lt,)))) for lt in LATENESS),
    *(
        Rule(f"resolved_in_time_{c}", (ENDED_BY_END, RESOLVED, IN_TIME, Is("channel", (c,))))
        for c in CHANNELS
    ),
    Rule("resolved_in_time_land", (ENDED_BY_END, RESOLVED, IN_TIME, Is("field", (FIELD_LAND,)))),
    Rule(
        "resolved_in_time_construction",
        (ENDED_BY_END, RESOLVED, IN_TIME, Is("field", (FIELD_CONSTRUCTION,))),
    ),
    Rule("returned", (ENDED_BY_END, Is("end_kind", ("returned",)))),
    Rule("withdrawn", (ENDED_BY_END, Is("end_kind", ("withdrawn",)))),
    Rule("open_at_end", (OPEN_AT_END,)),
    Rule("open_in_time_at_end", (OPEN_AT_END, IN_TIME_AT_END)),
    Rule("open_overdue_at_end", (OPEN_AT_END, OVERDUE_BY_END)),
    Rule("awaiting_supplement_at_end", (OPEN_AT_END, WaitingAtEnd("supplement"))),
    Rule("paused_at_end", (OPEN_AT_END, WaitingAtEnd("pause"))),
    Rule("became_overdue", BECAME_OVERDUE),
    Rule("apologies_sent", (LetterInPeriod(),), letters=True),
    Rule("apologized_cases", (LetterInPeriod(),)),
    Rule(
        "resolved_late_without_apology",
        (ENDED_BY_END, RESOLVED, Is("lateness", ("late",)), NoLetterBeforeEnd()),
    ),
    Rule("open_overdue_without_apology_at_end", (OPEN_AT_END, OVERDUE_BY_END, NoLetterBeforeEnd())),
)

PROCEDURE_RULES: tuple[Rule, ...] = (
    Rule("received", (RECEIVED_IN_PERIOD,)),
    Rule("received_online", (RECEIVED_IN_PERIOD, Is("channel", ONLINE))),
    Rule("received_online_partial", (RECEIVED_IN_PERIOD, Is("channel", ("online_partial",)))),
    Rule("received_online_full", (RECEIVED_IN_PERIOD, Is("channel", ("online_full",)))),
)
"""Distinct procedure codes (mã TTHC) of the seen cases meeting each rule: the
e-government rows ("procedures with at least one dossier received online")."""


def is_story(condition: Condition) -> bool:
    """Whether a condition reads a case's waits or letters (not a stored column)."""
    return isinstance(condition, STORY_CONDITIONS)


def conditions_of(rules: tuple[Rule, ...] = RULES) -> tuple[Condition, ...]:
    """Every distinct condition of the rules (and `SEEN`), in table order."""
    return tuple(dict.fromkeys([*SEEN, *(c for rule in rules for c in rule.when)]))
