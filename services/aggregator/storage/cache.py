"""The writer's cache of recently folded cases' events (the batch apply's fast path)."""

from __future__ import annotations

from collections import OrderedDict

from shared.domain.events import CaseEvent

CaseKey = tuple[str, str]

# Stored events the case cache holds at most (about 0.76 KB each with their strings and
# tuples, measured with tracemalloc: ~76 MB when full).
CACHE_MAX_EVENTS = 100_000


class CaseCache:
    """Recently folded cases' stored events (case key -> tuple of `CaseEvent`), LRU.

    `apply_batch` folds a case from these instead of reading its events back when the
    case is here. It is exact only if nobody else stored events since this cache's last
    update, so it remembers the `events_stored` counter its last commit left
    (`events_stored`) and `apply_batch` empties it when the counter read (under the
    counters' lock) differs: another writer, a restore, anything. It is updated only
    after a successful commit and emptied when a transaction fails. Bounded by the
    number of events held (`max_events`), least recently folded cases dropped first.
    """

    def __init__(self, max_events: int = CACHE_MAX_EVENTS) -> None:
        self.max_events = max_events
        self._cases: OrderedDict[CaseKey, tuple[CaseEvent, ...]] = OrderedDict()
        self.events = 0  # events held
        self.events_stored: int | None = None  # the counter after our last commit

    def __len__(self) -> int:
        return len(self._cases)

    def clear(self) -> None:
        self._cases.clear()
        self.events = 0
        self.events_stored = None

    def get(self, key: CaseKey) -> tuple[CaseEvent, ...] | None:
        events = self._cases.get(key)
        if events is not None:
            self._cases.move_to_end(key)
        return events

    def put(self, key: CaseKey, events: tuple[CaseEvent, ...]) -> None:
        old = self._cases.pop(key, None)
        if old is not None:
            self.events -= len(old)
        if len(events) > self.max_events:
            return
        self._cases[key] = events
        self.events += len(events)
        while self.events > self.max_events:
            _, dropped = self._cases.popitem(last=False)
            self.events -= len(dropped)
