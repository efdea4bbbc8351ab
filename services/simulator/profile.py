"""What a desk's traffic looks like: the mixes, rates and what to simulate (pure data).

Magnitudes from communes' CCHC reports: about 1,100 to 3,200 dossiers a year per
commune, 97-100% resolved early or on time, a handful late, each late one with an
apology letter "in principle". Channel mix: direct ~36%, postal (BCCI) ~3%, online
partial ~34%, online full ~27%. Field mix with processing times in working days:
chứng thực same day or the next, hộ tịch 1-3, đất đai 10-30, xây dựng 7-15, bảo trợ xã
hội 5-15, người có công 5-20, other 1-7.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

DEFAULT_SEED = 1

# Shares are relative weights; they need not sum to 1.
CHANNEL_MIX: dict[str, float] = {
    "direct": 0.36,
    "postal": 0.03,
    "online_partial": 0.34,
    "online_full": 0.27,
}

# field -> (share, min working days, max working days, supplement prob, pause prob)
FIELD_MIX: dict[str, tuple[float, int, int, float, float]] = {
    "chung_thuc": (0.45, 0, 1, 0.005, 0.0),
    "ho_tich": (0.28, 1, 3, 0.04, 0.005),
    "dat_dai": (0.06, 10, 30, 0.15, 0.05),
    "xay_dung": (0.02, 7, 15, 0.15, 0.03),
    "bao_tro_xa_hoi": (0.08, 5, 15, 0.06, 0.01),
    "nguoi_co_cong": (0.03, 5, 20, 0.05, 0.01),
    "other": (0.08, 1, 7, 0.03, 0.005),
}

# Illustrative procedure codes (mã TTHC) per field, in the national database's style.
PROCEDURES: dict[str, tuple[str, ...]] = {
    "chung_thuc": ("2.000815", "2.000843", "2.000884", "2.000913"),
    "ho_tich": ("1.001193", "1.000894", "1.000656", "1.004873", "2.000635"),
    "dat_dai": ("1.003003", "1.004227", "2.000889"),
    "xay_dung": ("1.009994", "1.010002"),
    "bao_tro_xa_hoi": ("1.001776", "2.000286", "1.001758"),
    "nguoi_co_cong": ("1.010805", "1.010822"),
    "other": ("1.003596", "2.001254", "1.000775"),
}

# Receipt weights by weekday (Monday = 0) and by hour of the day.
WEEKDAY_WEIGHT = (1.25, 1.05, 1.0, 1.0, 0.9, 0.3, 0.0)
HOUR_WEIGHT: dict[int, float] = {
    7: 0.6,  # from 07:30
    8: 1.6,
    9: 1.7,
    10: 1.3,
    11: 0.5,  # until 11:30
    13: 0.6,  # from 13:30
    14: 1.3,
    15: 1.2,
    16: 0.7,
}
SATURDAY_HOURS = (7, 8, 9, 10, 11)
# Office periods in minutes after midnight (for work done after receipt).
OFFICE = ((7 * 60 + 30, 11 * 60 + 30), (13 * 60 + 30, 17 * 60))
DUE_TIME = time(17, 0)
STAFF_PER_COMMUNE = 5

INVALID_KINDS = (
    "invalid_json",
    "missing_field",
    "bad_type",
    "unknown_event_type",
    "unknown_commune",
    "subject_mismatch",
    "bad_timestamp",
    "future_timestamp",
)


@dataclass(frozen=True, slots=True)
class Rates:
    """Probabilities of the story branches (per case unless said otherwise)."""

    withdrawn: float = 0.008
    returned: float = 0.015
    late: float = 0.012  # of resolved cases
    on_time: float = 0.2  # of resolved cases that are not late (the rest are early)
    apology_when_late: float = 0.75
    overdue_notice_when_late: float = 0.4
    stuck: float = 0.001  # open far beyond the due date (overdue at the end of the run)
    supplement_never_returned: float = 0.08  # of supplement requests
    supplement_new_due: float = 0.5  # of supplements handed in: a new appointment given
    supplement_scale: float = 1.0  # multiplies the per-field supplement probabilities
    pause_scale: float = 1.0  # multiplies the per-field pause probabilities


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. `start`..`end` are local dates, both inclusive.

    Only events with `occurred_at` before both `(end + 1 day) 00:00` local and `now`
    are produced: cases still running then stay open.
    """

    communes: tuple[str, ...]
    start: date
    end: date
    now: datetime
    seed: int = DEFAULT_SEED
    cases_per_day: float = 8.0  # per commune, on an ordinary weekday
    holidays: frozenset[date] = frozenset()
    rates: Rates = field(default_factory=Rates)
    duplicates: float = 0.0  # share of events re-sent once more, a little later
    reorder: float = 0.0  # share of events published late, after some later events
    invalid: float = 0.0  # share of extra invalid messages
    provinces: dict[str, str] = field(default_factory=dict)  # commune -> province code

    def __post_init__(self) -> None:
        if not self.communes:
            raise ValueError("at least one commune is needed")
        if self.end < self.start:
            raise ValueError("the end date is before the start date")
        if self.now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        for name in ("duplicates", "reorder", "invalid"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.cases_per_day < 0:
            raise ValueError("cases_per_day must not be negative")


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One message to publish.

    `kind`: `event` (a valid event, first sending), `duplicate` (the same event again),
    or `invalid:<reason>` (a deliberately broken message; `payload` may then be None and
    `raw` holds the bytes). `reordered` marks an event published after later ones.
    """

    subject: str
    payload: dict[str, Any] | None
    msg_id: str | None
    kind: str = "event"
    raw: bytes | None = None
    reordered: bool = False

    @property
    def is_valid(self) -> bool:
        return not self.kind.startswith("invalid:")
