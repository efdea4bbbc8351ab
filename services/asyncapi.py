"""The AsyncAPI document of the project's NATS channels (docs/asyncapi.json).

The hot paths are plain nats-py (intake, the aggregator's consumer), so the document is
built from a FastStream specification object declared here: a `NatsBroker` (never
connected) with one publisher or subscriber per contract channel, each carrying a
pydantic model of its payload. The models mirror the contract (events.md, version 1);
`shared.domain.validation` remains the one place that decides what is accepted.

    python -m services.asyncapi > docs/asyncapi.json     # regenerate
    python -m services.asyncapi --check docs/asyncapi.json  # exit 1 if out of date

tests/unit/test_asyncapi.py keeps the committed document current.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.subjects import (
    ACCEPTED_STREAM,
    EVENTS_STREAM,
    FIGURES_QUERY_SUBJECT,
    REJECTED_STREAM,
)

TITLE = "tthc: case events of one-stop desks"
VERSION = "1"  # the contract's version

Timestamp = Field(
    json_schema_extra={"format": "date-time"},
    description="RFC 3339 timestamp with offset, e.g. 2025-07-01T08:30:00+07:00",
)


class EventBase(BaseModel):
    """Fields on every event (contract: events.md, Payload). Unknown extra fields are kept
    with the event but play no part in any figure."""

    model_config = ConfigDict(extra="allow")

    event_id: str = Field(
        min_length=1,
        max_length=128,
        description="Unique per event, forever: the idempotency key. Also the Nats-Msg-Id header.",
    )
    case_id: str = Field(
        min_length=1,
        max_length=64,
        description="The dossier code (mã hồ sơ), unique within a commune.",
    )
    commune_code: str = Field(
        pattern=r"^\d{5}$",
        description="5-digit commune code in the unit registry; "
        "equals the subject's commune token.",
    )
    occurred_at: str = Timestamp
    procedure_code: str | None = Field(None, description="Procedure code (mã TTHC).")
    field: str | None = Field(
        None,
        description="Field (lĩnh vực) slug: ho_tich, chung_thuc, dat_dai, xay_dung, "
        "bao_tro_xa_hoi, nguoi_co_cong, other, ...",
    )
    agency: str | None = Field(None, description="Agency slug; default ubnd.")
    actor: str | None = Field(None, description="Staff id. Never a citizen's name or id number.")


class Received(EventBase):
    """Dossier received (tiếp nhận): opens the case."""

    event_type: Literal["received"]
    channel: Literal["direct", "postal", "online_partial", "online_full"] = Field(
        description="direct (trực tiếp), postal (BCCI), online_partial (trực tuyến một phần), "
        "online_full (trực tuyến toàn trình)."
    )
    due_at: str = Field(
        json_schema_extra={"format": "date-time"},
        description="The appointment to return the result (ngày hẹn trả), RFC 3339.",
    )


class SupplementRequested(EventBase):
    """The applicant is asked to supplement the dossier (yêu cầu bổ sung): the clock stops."""

    event_type: Literal["supplement_requested"]


class SupplementReceived(EventBase):
    """Supplement handed in: processing resumes, due date moved or replaced."""

    event_type: Literal["supplement_received"]
    due_at: str | None = Field(
        None, json_schema_extra={"format": "date-time"}, description="A new appointment."
    )


class Paused(EventBase):
    """Processing suspended (tạm dừng): the clock stops."""

    event_type: Literal["paused"]
    reason: str | None = None


class Resumed(EventBase):
    """Processing resumes after a pause."""

    event_type: Literal["resumed"]
    due_at: str | None = Field(
        None, json_schema_extra={"format": "date-time"}, description="A new appointment."
    )


class Resolved(EventBase):
    """Result returned (trả kết quả): ends the case, early, on time or late."""

    event_type: Literal["resolved"]
    result_channel: Literal["direct", "postal", "online"] | None = None


class Returned(EventBase):
    """Dossier refused and handed back (trả lại hồ sơ): ends the case."""

    event_type: Literal["returned"]
    reason: str | None = None


class Withdrawn(EventBase):
    """The applicant withdrew the dossier (xin rút): ends the case."""

    event_type: Literal["withdrawn"]


class Overdue(EventBase):
    """The desk's notice that the appointment passed with no result (quá hạn)."""

    event_type: Literal["overdue"]


class ApologySent(EventBase):
    """Apology letter issued for a late case (phiếu xin lỗi và hẹn lại)."""

    event_type: Literal["apology_sent"]
    new_due_at: str | None = Field(
        None,
        json_schema_extra={"format": "date-time"},
        description="The new appointment promised; does not change lateness.",
    )


EVENT_MODELS: dict[str, type[EventBase]] = {
    "received": Received,
    "supplement_requested": SupplementRequested,
    "supplement_received": SupplementReceived,
    "paused": Paused,
    "resumed": Resumed,
    "resolved": Resolved,
    "returned": Returned,
    "withdrawn": Withdrawn,
    "overdue": Overdue,
    "apology_sent": ApologySent,
}


class RejectedMessage(BaseModel):
    """The original message, byte for byte (any bytes, not necessarily JSON). Headers:
    Tthc-Reason, Tthc-Detail, Tthc-Original-Subject, Tthc-Original-Seq,
    Tthc-Original-Headers, Tthc-Rejected-At (docs/reject-reasons.md)."""

    model_config = ConfigDict(extra="allow")


class AcceptedBatch(BaseModel):
    """Intake's hand-off to the aggregator (internal, docs/intake.md)."""

    seq: list[int] = Field(description="TTHC_EVENTS sequence of each event.")
    ts: list[int] = Field(description="JetStream publish time of each event, ns since epoch.")
    events: list[dict[str, Any]] = Field(description="The accepted events, as published.")


class FiguresRequestModel(BaseModel):
    """Figures of one unit for [start, end) asked at `now` (µs since epoch)."""

    unit_kind: Literal["commune", "province"]
    unit_code: str
    start: int
    end: int
    now: int
    with_communes: bool = False


class FiguresReplyModel(BaseModel):
    """Every figure key of appendix.md, the anomalies, and what data they include."""

    figures: dict[str, Any]
    anomalies: dict[str, Any]
    watermark: dict[str, Any]
    communes: dict[str, dict[str, Any]] = {}
    error: str | None = None


class SnapshotNotice(BaseModel):
    """A period-end appendix snapshot was frozen (or revised)."""

    unit: dict[str, Any]
    period: dict[str, Any]
    revision: int
    hash: str
    path: str


def build_broker() -> Any:
    """A NatsBroker (not connected) declaring every channel of the project."""
    from faststream.nats import NatsBroker

    broker = NatsBroker(
        "nats://nats.example.internal:4222",
        description="NATS with JetStream. Desks authenticate as desk-<commune> (docs/security.md).",
    )
    for event_type, model in EVENT_MODELS.items():
        broker.publisher(
            f"tthc.events.{{commune_code}}.{event_type}",
            stream=EVENTS_STREAM,
            title=f"tthc.events.{{commune_code}}.{event_type}",
            description=(
                f"{model.__doc__} Published by desk software (JetStream publish with header "
                f"Nats-Msg-Id: <event_id>; stream {EVENTS_STREAM}); consumed by intake."
            ),
            schema=model,
        )
    broker.publisher(
        "tthc.rejected.{reason}",
        stream=REJECTED_STREAM,
        title="tthc.rejected.{reason}",
        description=(
            f"Dead letters: one message per rejected message, kept in {REJECTED_STREAM} "
            "with its reason code (docs/reject-reasons.md). Published by intake."
        ),
        schema=RejectedMessage,
    )
    broker.publisher(
        "tthc.accepted.batch",
        stream=ACCEPTED_STREAM,
        title="tthc.accepted.batch",
        description=(
            f"Internal: accepted events handed from intake to the aggregator ({ACCEPTED_STREAM})."
        ),
        schema=AcceptedBatch,
    )
    broker.publisher(
        "tthc.snapshots.{unit_code}.{period_label}",
        title="tthc.snapshots.{unit_code}.{period_label}",
        description="Core NATS notice from the reporter when a period-end snapshot is frozen.",
        schema=SnapshotNotice,
    )

    async def figures_query(request: FiguresRequestModel) -> FiguresReplyModel:
        raise NotImplementedError  # declaration only: the aggregator serves it

    broker.subscriber(
        FIGURES_QUERY_SUBJECT,
        queue="tthc-aggregator",
        title=FIGURES_QUERY_SUBJECT,
        description="Request/reply served by the aggregator: FiguresRequest in, FiguresReply out.",
    )(figures_query)
    return broker


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document as a JSON-ready dict."""
    from faststream.specification import AsyncAPI

    spec = AsyncAPI(
        build_broker(),
        title=TITLE,
        version=VERSION,
        description=(
            "Wire contract between one-stop desk software and tthc (events.md, version 1): "
            "subjects, streams and payloads. Desk vendors: docs/vendors.md."
        ),
        schema_version="3.0.0",
    ).to_specification()
    return json.loads(spec.to_json())


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the AsyncAPI document of tthc.")
    parser.add_argument("--check", metavar="PATH", help="exit 1 if PATH differs from the document")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{args.check} is out of date: python -m services.asyncapi > {args.check}")
                return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
