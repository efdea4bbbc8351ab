"""The figures of a period (số liệu thống kê), a pure function of case summaries.

- `keys`: the figure keys of appendix.md, the rates, sums of figures.
- `rules`: the rule table, one definition of what each figure counts.
- `compute`: figures case by case, per agency and per field (contract 1.1).
- `group`: figures of plain cases from a database's grouped counts, by the same rules.
- `anomalies`: the anomaly report of a period.

Flows count what happened inside `[start, end)`; stocks are taken just before `start`
(carried over) or just before `end`.
"""

from shared.domain.figures.anomalies import (
    ANOMALY_LIST_LIMIT,
    CONFLICTING_DUPLICATE,
    REPORT_KINDS,
    anomaly_report,
    sum_anomaly_reports,
)
from shared.domain.figures.compute import (
    Breakdown,
    Cell,
    add_case,
    add_case_with_procedures,
    breakdown,
    cell_of,
    clip,
    compute_breakdown,
    compute_figures,
    procedure_counts,
    sum_breakdowns,
    tally,
)
from shared.domain.figures.group import (
    COUNTED_FILTERS,
    GROUP_DIMENSIONS,
    PLAIN_FILTERS,
    add_group,
    complete_group,
)
from shared.domain.figures.keys import (
    COUNT_KEYS,
    FIGURE_KEYS,
    RATE_KEYS,
    Counts,
    Figures,
    add_counts,
    balance_holds,
    empty_counts,
    has_data,
    rate,
    sum_figures,
    with_rates,
)

__all__ = [
    "ANOMALY_LIST_LIMIT",
    "CONFLICTING_DUPLICATE",
    "COUNTED_FILTERS",
    "COUNT_KEYS",
    "FIGURE_KEYS",
    "GROUP_DIMENSIONS",
    "PLAIN_FILTERS",
    "RATE_KEYS",
    "REPORT_KINDS",
    "Breakdown",
    "Cell",
    "Counts",
    "Figures",
    "add_case",
    "add_case_with_procedures",
    "add_counts",
    "add_group",
    "anomaly_report",
    "balance_holds",
    "breakdown",
    "cell_of",
    "clip",
    "complete_group",
    "compute_breakdown",
    "compute_figures",
    "empty_counts",
    "has_data",
    "procedure_counts",
    "rate",
    "sum_anomaly_reports",
    "sum_breakdowns",
    "sum_figures",
    "tally",
    "with_rates",
]
