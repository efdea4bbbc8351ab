"""The figure rules compiled to SQL over `case_state` columns (the rule table is
`shared.domain.figures.rules`; nothing here decides what a figure counts).

- `condition_sql`: an instant or categorical condition as a SQL predicate, with the
  bind parameters `:start` and `:end`.
- `plain_groups_sql(dialect)`: plain cases the window sees, grouped by the unit, ended
  span and the rules' categorical dimensions, with one count per counted `PlainFilter` (named
  columns, `COUNTED_FILTERS`: the others are differences of these, `complete_group`)
  and the group's procedure codes (mã TTHC) the `PROCEDURE_RULES` may count.
- `LIVE_RULES_SQL`: every rule counted over all cases at the moment of asking, each
  story condition read from the columns that hold it *after the last event* (`waiting`,
  `apology_count`): exact when the window ends after every case's last event, as the
  live gauges' window (now) does.
"""

from __future__ import annotations

import re

from sqlalchemy import bindparam, text
from sqlalchemy.sql.elements import TextClause

from services.aggregator.storage.schema import ENDED_SPAN_SQL
from shared.domain.figures import COUNTED_FILTERS, GROUP_DIMENSIONS
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
    f"count(*) FILTER (WHERE {_all(f.conditions)}) AS {f.name}"
    if f.conditions
    else f"count(*) AS {f.name}"
    for f in COUNTED_FILTERS
)


def _procedure_rules() -> tuple[str, tuple[tuple[str, tuple[Is, ...]], ...]]:
    """`PROCEDURE_RULES` split: their shared instant conditions (as SQL) and each rule's
    categorical ones (evaluated on a group's dimensions)."""
    instants = {tuple(c for c in r.when if not isinstance(c, Is)) for r in PROCEDURE_RULES}
    if len(instants) != 1:
        raise ValueError("PROCEDURE_RULES must share their instant conditions")
    categorical = tuple(
        (r.key, tuple(c for c in r.when if isinstance(c, Is))) for r in PROCEDURE_RULES
    )
    return _all(next(iter(instants))), categorical


PROCEDURE_FILTER_SQL, PROCEDURE_CATEGORICAL = _procedure_rules()
# The distinct procedure codes (mã TTHC) of a group's cases that meet the procedure
# rules' instant conditions, as a JSON array in text (any character a code may hold is
# safe), `{}` the aggregate's filter. PostgreSQL's json is cast to text so that orjson
# decodes it: psycopg's own json loader is the standard library's, a tenth of a
# province's read time.
_PROCEDURES_AGGREGATE = {
    "sqlite": "json_group_array(DISTINCT procedure_code) FILTER (WHERE {})",
    "postgresql": "(json_agg(DISTINCT procedure_code) FILTER (WHERE {}))::text",
}


def plain_groups_sql(dialect: str) -> TextClause:
    """Plain cases (no waits, letters or anomalies: `summary IS NULL`), read from the
    partial covering index `ix_case_state_plain` in group order, from the ended span of
    the window's start (`:span`, `schema.ended_span(start)`: a case the window sees has
    not ended before its start, so its span is not earlier). The groups are per ended
    span too, so that each is read in index order: a window across a span's end gives a
    group a row for each span, and the caller adds them up. Then the cases that only
    waited (no letter, no anomaly) and ended inside the window: once ended, a wait
    changes nothing in the figures (every rule reading a wait requires the case open at
    the end, a property of the rule table its tests check). `count(*) FILTER (WHERE
    ...)` (SQLite 3.30+, PostgreSQL): a third faster on SQLite than `sum(CASE ...)`.

    Each group also lists its procedure codes received in the window (`procedures`):
    the e-government rows' distinct codes come with the counts, from the same index
    (a query of their own sorted every row the window sees: 561 ms for Hà Nội's 126
    communes over a year, against 26 ms this way)."""
    return _PLAIN_GROUPS[dialect]


def _plain_groups(dialect: str) -> TextClause:
    aggregate = _PROCEDURES_AGGREGATE[dialect].format(
        f"procedure_code IS NOT NULL AND {PROCEDURE_FILTER_SQL}"
    )
    procedures = f"{aggregate} AS procedures"
    grouped = f"""SELECT commune_code, {DIMENSIONS_SQL},
       {_FILTERS_SQL},
       {procedures}
FROM case_state
WHERE commune_code IN :communes AND {{where}} AND {SEEN_SQL}
GROUP BY commune_code, {{span}}{DIMENSIONS_SQL}"""
    return text(
        grouped.format(
            where=f"summary IS NULL AND {ENDED_SPAN_SQL} >= :span", span=f"{ENDED_SPAN_SQL}, "
        )
        + "\nUNION ALL\n"
        + grouped.format(
            where="summary IS NOT NULL AND apology_count = 0 AND anomaly_count = 0"
            f" AND ended_at < :end AND {ENDED_SPAN_SQL} >= :span",
            span="",
        )
    ).bindparams(bindparam("communes", expanding=True))


_PLAIN_GROUPS = {dialect: _plain_groups(dialect) for dialect in _PROCEDURES_AGGREGATE}

# The cases the groups do not count that the window sees, or with anomalies: those
# with waits or letters and no anomaly, except the ones that only waited and ended
# inside the window (from the window's start span on, through `ix_case_state_rich`);
# then those with anomalies (`ix_case_state_anomalous`) that the window sees or whose
# events may reach into it (an anomaly is one of the case's events, so it occurred at
# or before the case's last event).
RICH_WHERE = f"""commune_code IN :communes AND summary IS NOT NULL AND anomaly_count = 0
  AND {ENDED_SPAN_SQL} >= :span AND {SEEN_SQL}
  AND (apology_count > 0 OR ended_at IS NULL OR ended_at >= :end)"""
ANOMALOUS_WHERE = """commune_code IN :communes AND anomaly_count > 0 AND summary IS NOT NULL
  AND (ended_at IS NULL OR last_event_at IS NULL OR last_event_at >= :start)"""


def rich_cases_sql(columns: str) -> str:
    """`columns` of the cases the groups do not count (`RICH_WHERE`, `ANOMALOUS_WHERE`:
    disjoint, by `anomaly_count`)."""
    return (
        f"SELECT {columns} FROM case_state WHERE {RICH_WHERE}\n"
        f"UNION ALL\nSELECT {columns} FROM case_state WHERE {ANOMALOUS_WHERE}"
    )


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
