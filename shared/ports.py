"""The figures interface between the aggregator (owner of the data) and its readers.

The aggregator answers `FiguresRequest`s: over NATS request/reply on
`tthc.query.figures` (the reporter service), or in process through its read-only query
module (the `tthc appendix` command, a composition root). Both carry these plain
dataclasses, encoded as JSON by `to_json` / `from_json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import orjson


@dataclass(frozen=True, slots=True)
class FiguresRequest:
    """Figures of one unit for `[start, end)` asked at `now` (instants, µs since epoch)."""

    unit_kind: str  # "commune" | "province"
    unit_code: str
    start: int
    end: int
    now: int
    with_communes: bool = False  # a province's per-commune breakdown too


@dataclass(frozen=True, slots=True)
class FiguresReply:
    """The figures (every key of appendix.md), the anomalies, and what data they include.

    `watermark`: `events_stream_seq` (the highest TTHC_EVENTS sequence whose event is in
    the figures), `accepted_events` (events stored), `last_event_at` (RFC 3339).
    """

    figures: dict[str, Any]
    anomalies: dict[str, Any]
    watermark: dict[str, Any]
    communes: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes) -> FiguresReply:
        return cls(**orjson.loads(data))


def request_to_json(request: FiguresRequest) -> bytes:
    return orjson.dumps(asdict(request))


def request_from_json(data: bytes) -> FiguresRequest:
    return FiguresRequest(**orjson.loads(data))


class FiguresSource(Protocol):
    """Anything that answers figures requests."""

    async def figures(self, request: FiguresRequest) -> FiguresReply: ...
