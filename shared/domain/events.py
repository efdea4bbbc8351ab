"""Case events as the desk software publishes them (contract: events.md, version 1.1).

A case (hồ sơ thủ tục hành chính) is told as a sequence of events. Instants are
integers: microseconds since the Unix epoch, UTC. They compare as instants whatever
offset the desk wrote, and they are cheap to sort, store and hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

Instant = int
"""Microseconds since 1970-01-01T00:00:00Z."""


class EventType(StrEnum):
    """The event types of the contract, with the Vietnamese term."""

    RECEIVED = "received"  # tiếp nhận
    SUPPLEMENT_REQUESTED = "supplement_requested"  # yêu cầu bổ sung
    SUPPLEMENT_RECEIVED = "supplement_received"  # nhận bổ sung
    PAUSED = "paused"  # tạm dừng
    RESUMED = "resumed"  # tiếp tục
    RESOLVED = "resolved"  # trả kết quả
    RETURNED = "returned"  # trả lại hồ sơ
    WITHDRAWN = "withdrawn"  # xin rút
    OVERDUE = "overdue"  # quá hạn
    APOLOGY_SENT = "apology_sent"  # phiếu xin lỗi và hẹn lại


class Channel(StrEnum):
    """How a dossier was received (hình thức tiếp nhận)."""

    DIRECT = "direct"  # trực tiếp
    POSTAL = "postal"  # dịch vụ bưu chính công ích (BCCI)
    ONLINE_PARTIAL = "online_partial"  # trực tuyến một phần (formerly level 3)
    ONLINE_FULL = "online_full"  # trực tuyến toàn trình (formerly level 4)


class ResultChannel(StrEnum):
    """How a result was returned (hình thức trả kết quả)."""

    DIRECT = "direct"
    POSTAL = "postal"
    ONLINE = "online"


DEFAULT_AGENCY = "ubnd"
"""The agency of a case whose `received` names none: the People's Committee (UBND xã)."""
ALL_AGENCIES = "all"
"""What asks for the figures of every agency together."""
NO_FIELD = "unspecified"
"""The `by_field` entry of cases with no field at all (contract 1.1)."""

EVENT_TYPES: frozenset[str] = frozenset(t.value for t in EventType)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
RESULT_CHANNELS: frozenset[str] = frozenset(c.value for c in ResultChannel)

# Fields (lĩnh vực) the figures single out; any other slug is kept as given.
FIELD_LAND = "dat_dai"
FIELD_CONSTRUCTION = "xay_dung"
KNOWN_FIELDS: tuple[str, ...] = (
    "ho_tich",
    "chung_thuc",
    "dat_dai",
    "xay_dung",
    "bao_tro_xa_hoi",
    "nguoi_co_cong",
    "other",
)

COMMON_FIELDS: frozenset[str] = frozenset(
    {"event_id", "event_type", "case_id", "commune_code", "occurred_at"}
)
OPTIONAL_FIELDS: frozenset[str] = frozenset({"procedure_code", "field", "agency", "actor"})
OWN_FIELDS: dict[str, frozenset[str]] = {
    "received": frozenset({"channel", "due_at"}),
    "supplement_requested": frozenset(),
    "supplement_received": frozenset({"due_at"}),
    "paused": frozenset({"reason"}),
    "resumed": frozenset({"due_at"}),
    "resolved": frozenset({"result_channel"}),
    "returned": frozenset({"reason"}),
    "withdrawn": frozenset(),
    "overdue": frozenset(),
    "apology_sent": frozenset({"new_due_at"}),
}
REQUIRED_OWN_FIELDS: dict[str, frozenset[str]] = {
    "received": frozenset({"channel", "due_at"}),
}


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One accepted event of one case: the fields its story reads.

    `occurred_at`, `due_at` and `new_due_at` are instants (µs since epoch, UTC). The
    payload as published is kept whole by the storage, not here.
    """

    event_id: str
    event_type: str
    case_id: str
    commune_code: str
    occurred_at: Instant
    channel: str | None = None
    due_at: Instant | None = None
    new_due_at: Instant | None = None
    field: str | None = None
    result_channel: str | None = None
    agency: str | None = None  # cơ quan: `ubnd` (UBND xã), `cong_an`, `quan_su`, ...
    procedure_code: str | None = None  # mã TTHC

    @property
    def case_key(self) -> tuple[str, str]:
        """A case is identified by (commune_code, case_id)."""
        return (self.commune_code, self.case_id)

    @property
    def order_key(self) -> tuple[Instant, str]:
        """Events of a case apply in (occurred_at, event_id) order."""
        return (self.occurred_at, self.event_id)
