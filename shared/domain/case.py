"""A case's story (hồ sơ): the fold of its events into a summary the figures read.

The events of a case apply in `(occurred_at, event_id)` order, whatever order they
arrived in, so the summary is a pure function of the *set* of events: the same events
give the same summary, however often each was delivered.

Rules (appendix.md, "A case's story"):

- The first `received` opens the case, fixing channel, agency (`ubnd` when it names
  none), field, procedure and due instant (field and procedure: its own, else the
  first seen on any event of the case).
- `supplement_requested` and `paused` stop the clock; `supplement_received` ends a
  wait for a supplement, `resumed` ends a pause. Either restarts the clock: the due
  instant becomes the event's `due_at` if given, otherwise moves later by exactly the
  time spent waiting.
- The case becomes overdue (quá hạn) at its due instant if it is open and not waiting
  then, or at an `overdue` event's instant if that comes first; at most once. A due
  instant that passed while the case waited (a new `due_at` earlier than the resume)
  makes it overdue the moment the clock restarts.
- `resolved`, `returned` or `withdrawn` ends the case. A resolved case is late if it
  became overdue at an instant strictly before it was resolved, early if resolved on a
  local day before the due instant's local day, on time otherwise. Lateness compares
  instants, never story order: an event at exactly the due instant comes before the
  case turns overdue, and an `overdue` notice at the very instant a case ends makes it
  neither late nor overdue, whichever of the two events sorts first.
- Anomalies are kept and listed but change no figure: the event is ignored, except an
  apology for a case not overdue, whose letter still counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter

from shared.domain.events import DEFAULT_AGENCY, CaseEvent, EventType, Instant
from shared.domain.timeutil import US_PER_DAY


class Lateness(StrEnum):
    """How a resolved case met its appointment (trước hạn, đúng hạn, quá hạn)."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class EndKind(StrEnum):
    RESOLVED = "resolved"  # trả kết quả
    RETURNED = "returned"  # trả lại hồ sơ
    WITHDRAWN = "withdrawn"  # xin rút


class WaitKind(StrEnum):
    SUPPLEMENT = "supplement"  # chờ bổ sung
    PAUSE = "pause"  # tạm dừng


class AnomalyKind(StrEnum):
    """Events that do not fit their case's story (kept, counted, listed)."""

    SECOND_RECEIVED = "second_received"
    EVENT_AFTER_END = "event_after_end"
    BEFORE_RECEIVED = "before_received"
    ORPHAN = "orphan"
    RESUME_WITHOUT_WAIT = "resume_without_wait"
    WAIT_WHILE_WAITING = "wait_while_waiting"
    APOLOGY_NOT_OVERDUE = "apology_not_overdue"


ANOMALY_KINDS: tuple[str, ...] = tuple(k.value for k in AnomalyKind)

_WAIT_STARTS = {
    EventType.SUPPLEMENT_REQUESTED.value: WaitKind.SUPPLEMENT.value,
    EventType.PAUSED.value: WaitKind.PAUSE.value,
}
_WAIT_ENDS = {
    EventType.SUPPLEMENT_RECEIVED.value: WaitKind.SUPPLEMENT.value,
    EventType.RESUMED.value: WaitKind.PAUSE.value,
}
_ENDS = frozenset(k.value for k in EndKind)
# Plain strings (not enum members) in the loop: the fold is the hot path of rebuilds.
_RECEIVED = EventType.RECEIVED.value
_OVERDUE = EventType.OVERDUE.value
_APOLOGY = EventType.APOLOGY_SENT.value
_RESOLVED = EndKind.RESOLVED.value
_LATE, _EARLY, _ON_TIME = Lateness.LATE.value, Lateness.EARLY.value, Lateness.ON_TIME.value
_LOCAL_OFFSET_US = 7 * 3600 * 1_000_000
_story_order = attrgetter("occurred_at", "event_id")


def _local_day_number(instant: Instant) -> int:
    """Days since 1970-01-01 of the local (UTC+7) day an instant falls on."""
    return (instant + _LOCAL_OFFSET_US) // US_PER_DAY


@dataclass(frozen=True, slots=True)
class Wait:
    """A stretch of time with the clock stopped; `end` is None while still waiting."""

    kind: str
    start: Instant
    end: Instant | None


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str
    event_id: str
    occurred_at: Instant


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """What the figures need to know of one case, with every instant that matters.

    `overdue_at` is the instant the case became (or, if still open, will become)
    overdue given the events so far; figures compare it with the instant they ask at.
    `due_at` is the due instant in force after the last event (for display).
    """

    commune_code: str
    case_id: str
    received_at: Instant | None
    channel: str | None
    field: str | None
    due_at: Instant | None
    overdue_at: Instant | None
    ended_at: Instant | None
    end_kind: str | None
    lateness: str | None
    waits: tuple[Wait, ...]
    apologies: tuple[Instant, ...]
    anomalies: tuple[Anomaly, ...]
    event_count: int
    last_event_at: Instant | None
    agency: str = DEFAULT_AGENCY
    procedure_code: str | None = None

    @property
    def is_orphan(self) -> bool:
        return self.received_at is None

    def waiting_at(self, t: Instant) -> str | None:
        """The kind of wait in force just before instant `t`, if any."""
        for wait in self.waits:
            if wait.start < t and (wait.end is None or wait.end >= t):
                return wait.kind
        return None

    def is_open_at(self, t: Instant) -> bool:
        """Received before `t` and not ended before `t`."""
        return (
            self.received_at is not None
            and self.received_at < t
            and (self.ended_at is None or self.ended_at >= t)
        )


def fold_case(events: Iterable[CaseEvent]) -> CaseSummary:
    """Fold one case's events (any order, duplicates by event id ignored) into its summary."""
    events = list(events)
    if len(events) > 1:
        ordered = sorted({e.event_id: e for e in events}.values(), key=_story_order)
    elif events:
        ordered = events
    else:
        raise ValueError("a case needs at least one event")
    first = ordered[0]
    received_index: int | None = None
    field: str | None = None
    procedure: str | None = None
    for i, e in enumerate(ordered):  # the first `received`, field and procedure named
        if received_index is None and e.event_type == _RECEIVED:
            received_index = i
        if field is None and e.field:
            field = e.field
        if procedure is None and e.procedure_code:
            procedure = e.procedure_code

    if received_index is None:
        return CaseSummary(
            commune_code=first.commune_code,
            case_id=first.case_id,
            received_at=None,
            channel=None,
            field=field,
            due_at=None,
            overdue_at=None,
            ended_at=None,
            end_kind=None,
            lateness=None,
            waits=(),
            apologies=(),
            anomalies=(Anomaly(AnomalyKind.ORPHAN.value, first.event_id, first.occurred_at),),
            event_count=len(ordered),
            last_event_at=ordered[-1].occurred_at,
            agency=next((e.agency for e in ordered if e.agency), DEFAULT_AGENCY),
            procedure_code=procedure,
        )

    anomalies: list[Anomaly] = [
        Anomaly(AnomalyKind.BEFORE_RECEIVED.value, e.event_id, e.occurred_at)
        for e in ordered[:received_index]
    ]
    opening = ordered[received_index]
    received_at = opening.occurred_at
    field = opening.field or field
    due: Instant | None = opening.due_at
    clock_restart = received_at  # the last instant the clock (re)started
    overdue_at: Instant | None = None
    waiting: str | None = None
    wait_start: Instant = 0
    waits: list[Wait] = []
    apologies: list[Instant] = []
    ended_at: Instant | None = None
    end_kind: str | None = None
    lateness: str | None = None

    for event in ordered[received_index + 1 :]:
        t = event.occurred_at
        kind = event.event_type
        if ended_at is not None:
            anomalies.append(Anomaly(AnomalyKind.EVENT_AFTER_END.value, event.event_id, t))
            continue
        if overdue_at is None and waiting is None and due is not None:
            candidate = due if due > clock_restart else clock_restart
            if candidate < t:
                overdue_at = candidate

        if kind == _RECEIVED:
            anomalies.append(Anomaly(AnomalyKind.SECOND_RECEIVED.value, event.event_id, t))
        elif kind in _WAIT_STARTS:
            if waiting is not None:
                anomalies.append(Anomaly(AnomalyKind.WAIT_WHILE_WAITING.value, event.event_id, t))
            else:
                waiting, wait_start = _WAIT_STARTS[kind], t
        elif kind in _WAIT_ENDS:
            if waiting != _WAIT_ENDS[kind]:
                anomalies.append(Anomaly(AnomalyKind.RESUME_WITHOUT_WAIT.value, event.event_id, t))
            else:
                waits.append(Wait(waiting, wait_start, t))
                if event.due_at is not None:
                    due = event.due_at
                elif due is not None:
                    due += t - wait_start
                waiting = None
                clock_restart = t
        elif kind in _ENDS:
            if waiting is not None:
                waits.append(Wait(waiting, wait_start, t))
                if due is not None:
                    due += t - wait_start  # the clock was stopped until the end
                waiting = None
            ended_at, end_kind = t, kind
            if overdue_at == t:
                overdue_at = None  # a notice at the instant of the end: the end comes first
            if kind == _RESOLVED:
                if overdue_at is not None:
                    lateness = _LATE
                elif due is not None and _local_day_number(t) < _local_day_number(due):
                    lateness = _EARLY
                else:
                    lateness = _ON_TIME
        elif kind == _OVERDUE:
            if overdue_at is None:
                overdue_at = t
        elif kind == _APOLOGY:
            apologies.append(t)
            if overdue_at is None:
                anomalies.append(Anomaly(AnomalyKind.APOLOGY_NOT_OVERDUE.value, event.event_id, t))

    if ended_at is None:
        if waiting is not None:
            waits.append(Wait(waiting, wait_start, None))
        elif overdue_at is None and due is not None:
            # in the future, or passed since the last event
            overdue_at = due if due > clock_restart else clock_restart

    return CaseSummary(
        commune_code=opening.commune_code,
        case_id=opening.case_id,
        received_at=received_at,
        channel=opening.channel,
        field=field,
        due_at=due,
        overdue_at=overdue_at,
        ended_at=ended_at,
        end_kind=end_kind,
        lateness=lateness,
        waits=tuple(waits),
        apologies=tuple(apologies),
        anomalies=tuple(anomalies),
        event_count=len(ordered),
        last_event_at=ordered[-1].occurred_at,
        agency=opening.agency or DEFAULT_AGENCY,
        procedure_code=opening.procedure_code or procedure,
    )
