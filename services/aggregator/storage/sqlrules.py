"""The figure rules compiled to SQL over `case_state` columns (the rule table is
`shared.domain.figures.rules`; nothing here decides what a figure counts).

- `condition_sql`: an instant or categorical condition as a SQL predicate, with the
  bind parameters `:start` and `:end`.
- `PLAIN_GROUPS_SQL`: plain cases the window sees, grouped by the unit and the
  rules' categorical dimensions, with one count per `PlainFilter` (named columns).
- `PROCEDURE_CODES_SQL`: the procedure codes (mã TTHC) received in the window, with the
  `PROCEDURE_RULES` entries each meets.
- `LIVE_RULES_SQL`: every rule counted over all cases at the moment of asking, each
  story condition read from the columns that hold it *after the last event* (`waiting`,
  `apology_count`): exact when the window ends after every case's last event, as the
  live gauges' window (now) does.
"""

from __future__ import annotations

import re

from sqlalchemy import bindparam, text
from sqlalchemy.sql.elements import TextClause

from shared.domain.figures import GROUP_DIMENSIONS, PLAIN_FILTERS
from shared.domain.figures.rules import (
    PROCEDURE_RULES,
    RULES,
    SEEN,
    Before,
    Condition,
    Is,
    LetterInPeriod,
    NoLetterBeforeEnd,
    NotBefore,
    Rule,
    WaitingAtEnd,
)

_SAFE = re.compile(r"[a-z0-9_]+\Z")


def _literal(value: str | None) -> str:
    if value is None:
        return "NULL"
    if not _SAFE.match(value):
        raise ValueError(f"rule value {value!r} is not a plain slug")
    return f"'{value}'"


def condition_sql(condition: Condition, live: bool = False) -> str:
    """A condition as SQL over `case_state`; story conditions only when `live`."""
    if isinstance(condition, Before):
        return f"{condition.attr} < :{condition.bound}"
    if isinstance(condition, NotBefore):
        return f"({condition.attr} IS NULL OR {condition.attr} >= :{condition.bound})"
    if isinstance(condition, Is):
        values = [v for v in condition.values if v is not None]
        listed = ", ".join(_literal(v) for v in values)
        terms = [f"{condition.attr} IN ({listed})"] if values else []
        if None in condition.values:
            terms.append(f"{condition.attr} IS NULL")
        return "(" + " OR ".join(terms) + ")"
    if live and isinstance(condition, WaitingAtEnd):
        return f"waiting = {_literal(condition.kind)}"
    if live and isinstance(condition, LetterInPeriod):
        return "apology_count > 0"
    if live and isinstance(condition, NoLetterBeforeEnd):
        return "apology_count = 0"
    raise ValueError(f"no SQL for the condition {condition!r}")


def _all(conditions: tuple[Condition, ...], live: bool = False) -> str:
    return " AND ".join(condition_sql(c, live) for c in conditions) or "1 = 1"


SEEN_SQL = _all(SEEN)
DIMENSIONS_SQL = ", ".join(GROUP_DIMENSIONS)
_FILTERS_SQL = ",\n       ".join(
    f"count(*) FILTER (WHERE {_all(f.conditions)}) AS {f.name}" for f in PLAIN_FILTERS
)
_GROUPED = f"""SELECT commune_code, {DIMENSIONS_SQL},
       {_FILTERS_SQL}
FROM case_state
WHERE commune_code IN :communes AND {{where}} AND {SEEN_SQL}
GROUP BY commune_code, {DIMENSIONS_SQL}"""

# Plain cases (no waits, letters or anomalies: `summary IS NULL`), read from the partial
# covering index `ix_case_state_plain` in group order; then the cases that only waited
# (no letter, no anomaly) and ended inside the window: once ended, a wait changes
# nothing in the figures (every rule reading a wait requires the case open at the end,
# a property of the rule table its tests check). `count(*) FILTER (WHERE ...)`
# (SQLite 3.30+, PostgreSQL): a third faster on SQLite than `sum(CASE ...)`.
PLAIN_GROUPS_SQL: TextClause = text(
    _GROUPED.format(where="summary IS NULL")
    + "\nUNION ALL\n"
    + _GROUPED.format(
        where="summary IS NOT NULL AND apology_count = 0 AND anomaly_count = 0 AND ended_at < :end"
    )
).bindparams(bindparam("communes", expanding=True))

# The cases the groups do not count that the window sees, or with anomalies: those
# with waits, letters or anomalies, except the ones that only waited and ended inside
# the window.
RICH_WHERE = f"""commune_code IN :communes AND summary IS NOT NULL
  AND (({SEEN_SQL}) OR anomaly_count > 0)
  AND (apology_count > 0 OR anomaly_count > 0 OR ended_at IS NULL OR ended_at >= :end)"""


def _flag(rule: Rule) -> str:
    return f"max(CASE WHEN {_all(rule.when)} THEN 1 ELSE 0 END) AS {rule.key}"


# One row per (commune, agency, procedure code) received in the window, with 1 or 0 per
# `PROCEDURE_RULES` entry: whether any of its cases meets the rule. Distinct codes of any
# set of communes and agencies are unions of these (they do not add up over communes).
PROCEDURE_CODES_SQL: TextClause = text(
    f"SELECT commune_code, agency, procedure_code, {', '.join(_flag(r) for r in PROCEDURE_RULES)}\n"
    "FROM case_state WHERE commune_code IN :communes AND procedure_code IS NOT NULL\n"
    f"  AND received_at >= :start AND {SEEN_SQL}\n"
    "GROUP BY commune_code, agency, procedure_code"
).bindparams(bindparam("communes", expanding=True))


def _live(rule: Rule) -> str:
    if rule.letters:
        return f"sum(CASE WHEN {_all(rule.when, live=True)} THEN apology_count ELSE 0 END)"
    return f"count(*) FILTER (WHERE {_all(rule.when, live=True)})"


def live_rules_sql(unit_column: str) -> str:
    """Every rule's count per (unit, channel) over all cases, at `:end` = now."""
    columns = ",\n       ".join(f"{_live(r)} AS {r.key}" for r in RULES)
    return (
        f"SELECT {unit_column} AS unit, channel,\n       {columns}\n"
        f"FROM case_state WHERE {SEEN_SQL} GROUP BY {unit_column}, channel"
    )
