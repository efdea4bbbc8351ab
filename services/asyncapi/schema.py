"""The payload's JSON Schema (`docs/event.schema.json`): one definition per event type.

Says every rule of intake (`shared.domain.validation`) that JSON Schema can say; what
only intake can check is in `INTAKE_ONLY`, quoted by both documents.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.domain.events import CHANNELS, KNOWN_FIELDS, ResultChannel

CONTRACT_VERSION = "1.1"
DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMA_FILE = "event.schema.json"
ASYNCAPI_FILE = "asyncapi.json"

Schema = dict[str, Any]
Ref = Callable[[str], str]

# -- the pieces of a payload ----------------------------------------------------------------

# C0 and C1 control characters and DEL, as intake refuses them in stored identifiers. In a
# `not` with `type: string`, so that a null (optional fields) is not caught by it. The
# pattern also keeps `$` honest: Python's, Java's and .NET's `$` match before a final
# newline, ECMAScript's does not; a newline is a control character, so every engine agrees.
CONTROL_CHARACTERS = "[\\x00-\\x1f\\x7f-\\x9f]"
NO_CONTROL: Schema = {"not": {"type": "string", "pattern": CONTROL_CHARACTERS}}
SLUG_PATTERN = "^[a-z0-9][a-z0-9_]*$"

# RFC 3339 with an offset, as `shared.domain.timeutil.parse_rfc3339` reads it (`T`, `t` or
# a space between date and time; 1-9 fraction digits; `Z`, `z` or `+hh:mm`/`-hh:mm`; no
# leap second), on a real calendar date, between 1900-01-01T00:00:00Z and
# 9998-12-31T23:59:59.999999Z. The limits are instants: on the local days 1899-12-31,
# 1900-01-01, 9998-12-31 and 9999-01-01 they depend on the time *and* the offset, which a
# regular expression can only say by listing every minute (hundreds of kilobytes). The
# schema takes the safe side there: 1900-01-01 only at UTC or west of it, 9998-12-31 only
# at UTC or east of it, never 1899-12-31 or 9999-01-01. Intake decides those by the instant.
_HOUR = "([01][0-9]|2[0-3])"
_SIXTY = "[0-5][0-9]"
_TIME = f"{_HOUR}:{_SIXTY}:{_SIXTY}(\\.[0-9]{{1,9}})?"
_ANY_OFFSET = f"([Zz]|[+-]{_HOUR}:{_SIXTY})"
_UTC_OR_WEST = f"([Zz]|[+-]00:00|-{_HOUR}:{_SIXTY})"
_UTC_OR_EAST = f"([Zz]|[+-]00:00|\\+{_HOUR}:{_SIXTY})"
_DAY31 = "(0[1-9]|[12][0-9]|3[01])"
_DAY30 = "(0[1-9]|[12][0-9]|30)"
_DAY28 = "(0[1-9]|1[0-9]|2[0-8])"
_MONTH_DAY = f"((0[13578]|1[02])-{_DAY31}|(0[469]|11)-{_DAY30}|02-{_DAY28})"
_MONTH_DAY_1900 = (  # 1900 without 01-01 (offset-dependent)
    f"(01-(0[2-9]|[12][0-9]|3[01])|(0[3578]|1[02])-{_DAY31}|(0[469]|11)-{_DAY30}|02-{_DAY28})"
)
_MONTH_DAY_9998 = (  # 9998 without 12-31 (offset-dependent)
    f"((0[13578]|10)-{_DAY31}|12-{_DAY30}|(0[469]|11)-{_DAY30}|02-{_DAY28})"
)
_YEAR_1901_9997 = "(19(0[1-9]|[1-9][0-9])|[2-8][0-9]{3}|9([0-8][0-9]{2}|9([0-8][0-9]|9[0-7])))"
_LEAP_1901_9997 = (
    "((19|[2-8][0-9]|9[0-9])(0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)"
)
_DATE_ANY_OFFSET = (
    f"({_YEAR_1901_9997}-{_MONTH_DAY}|{_LEAP_1901_9997}-02-29"
    f"|1900-{_MONTH_DAY_1900}|9998-{_MONTH_DAY_9998})"
)
INSTANT_PATTERN = (
    f"^({_DATE_ANY_OFFSET}[Tt ]{_TIME}{_ANY_OFFSET}"
    f"|1900-01-01[Tt ]{_TIME}{_UTC_OR_WEST}"
    f"|9998-12-31[Tt ]{_TIME}{_UTC_OR_EAST})$"
)

INTAKE_ONLY = (
    "Only intake can check: that the subject is tthc.events.<commune_code>.<event_type> "
    "with the payload's own commune_code and event_type (subject_mismatch, bad_subject); "
    "that commune_code is in the unit registry (unknown_commune); that occurred_at is not "
    "more than the allowed clock skew (5 minutes by default) after the time JetStream "
    "stored the message (future_timestamp); the size of the message, at most 65,536 bytes "
    "(payload_too_large); the JSON text itself, which must be UTF-8 without a byte order "
    "mark, without lone surrogate escapes, with numbers a double can hold and nesting of "
    "at most 1,024 levels (invalid_json); and the instant limits on the local days "
    "1899-12-31, 1900-01-01, 9998-12-31 and 9999-01-01, where they depend on the offset "
    "(this schema refuses the doubtful ones; intake decides by the instant, bad_timestamp)."
)

_OWN_MEANING: dict[str, dict[str, str]] = {
    "received": {
        "channel": "How the dossier was received: direct (trực tiếp), postal (BCCI), "
        "online_partial (trực tuyến một phần), online_full (trực tuyến toàn trình).",
        "due_at": "The appointment to return the result (ngày hẹn trả).",
    },
    "supplement_received": {"due_at": "A new appointment, when one is given."},
    "paused": {"reason": "Why processing is suspended (free text, no personal data)."},
    "resumed": {"due_at": "A new appointment, when one is given."},
    "resolved": {"result_channel": "How the result was returned: direct, postal, online."},
    "returned": {"reason": "Why the dossier was refused (free text, no personal data)."},
    "apology_sent": {"new_due_at": "The new appointment promised; lateness does not change."},
}

EVENT_DESCRIPTIONS: dict[str, str] = {
    "received": "Dossier received (tiếp nhận): opens the case.",
    "supplement_requested": "The applicant is asked to supplement the dossier (yêu cầu bổ "
    "sung): the clock stops.",
    "supplement_received": "Supplement handed in: the clock restarts, the due date may move.",
    "paused": "Processing suspended (tạm dừng): the clock stops.",
    "resumed": "Processing resumes after a pause.",
    "resolved": "Result returned (trả kết quả): ends the case, early, on time or late.",
    "returned": "Dossier refused and handed back (trả lại hồ sơ): ends the case.",
    "withdrawn": "The applicant withdrew the dossier (xin rút): ends the case.",
    "overdue": "The desk's notice that the appointment passed with no result (quá hạn); "
    "optional, tthc finds overdue cases itself.",
    "apology_sent": "Apology letter issued for a late case (phiếu xin lỗi và hẹn lại).",
}
# The contract's order of the event types (EVENT_TYPES is a set).
EVENT_ORDER: tuple[str, ...] = tuple(EVENT_DESCRIPTIONS)
_READ_BY_NAME = ("channel", "due_at", "new_due_at", "result_channel", "reason")


def _text(min_length: int, max_length: int, description: str) -> Schema:
    return {
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        **NO_CONTROL,
        "description": description,
    }


def _slug(max_length: int, description: str) -> Schema:
    return {
        "type": "string",
        "pattern": SLUG_PATTERN,
        "maxLength": max_length,
        **NO_CONTROL,
        "description": description,
    }


def shared_definitions() -> dict[str, Schema]:
    """The schema of each field, referred to by every event type."""
    return {
        "EventId": _text(
            1,
            128,
            "Unique per event, forever: the idempotency key. Generate it once, when the "
            "event happens, keep it with the event, and send the same value in the "
            "Nats-Msg-Id header. A UUID is fine.",
        ),
        "CaseId": _text(1, 64, "The dossier code (mã hồ sơ), unique within the commune."),
        "CommuneCode": {
            "type": "string",
            "pattern": "^[0-9]{5}$",
            "minLength": 5,
            "maxLength": 5,
            "description": "Your commune's 5-digit code in the unit registry; the same as "
            "the subject's commune token.",
            "examples": ["16096"],
        },
        "Instant": {
            "type": "string",
            "pattern": INSTANT_PATTERN,
            **NO_CONTROL,
            "description": "An RFC 3339 timestamp with an offset (Z or ±hh:mm), e.g. "
            "2025-07-01T08:30:00+07:00; a real date and time (no leap second, 1-9 digits "
            "of fraction), between 1900-01-01T00:00:00Z and 9998-12-31T23:59:59.999999Z. "
            "On the local days 1900-01-01 and 9998-12-31 this schema allows only offsets "
            "that keep the instant inside (UTC or west, UTC or east); intake decides "
            "those days by the instant.",
            "examples": ["2025-07-01T08:30:00+07:00", "2025-07-01T01:30:00Z"],
        },
        "ProcedureCode": _text(1, 64, "The procedure code (mã TTHC), e.g. 1.001193."),
        "Field": _slug(
            64,
            "The field (lĩnh vực): a slug of lower-case ASCII letters, digits and '_', e.g. "
            + ", ".join(KNOWN_FIELDS)
            + ". Absent or null: unspecified.",
        ),
        "Agency": _slug(
            32,
            "The agency handling the dossier, a slug: ubnd, cong_an, quan_su, ... "
            "Absent or null: ubnd.",
        ),
        "Actor": {"type": "string", "description": "A staff id; never a citizen's name or id."},
        "Channel": {
            "type": "string",
            "enum": list(CHANNELS),
            "description": "How the dossier was received: direct (trực tiếp), postal (BCCI), "
            "online_partial (trực tuyến một phần), online_full (trực tuyến toàn trình).",
        },
        "ResultChannel": {
            "type": "string",
            "enum": [c.value for c in ResultChannel],
            "description": "How the result was returned: direct, postal, online.",
        },
        "Reason": {"type": "string", "description": "Free text; no personal data."},
    }


# Each field of an event and the definition of its values.
_FIELD_SCHEMAS: dict[str, str] = {
    "event_id": "EventId",
    "case_id": "CaseId",
    "commune_code": "CommuneCode",
    "occurred_at": "Instant",
    "procedure_code": "ProcedureCode",
    "field": "Field",
    "agency": "Agency",
    "actor": "Actor",
    "channel": "Channel",
    "due_at": "Instant",
    "new_due_at": "Instant",
    "result_channel": "ResultChannel",
    "reason": "Reason",
}
_EVERY_EVENT = ("procedure_code", "field", "agency", "actor")
_REQUIRED_COMMON = ("event_id", "event_type", "case_id", "commune_code", "occurred_at")


def event_schema(event_type: str, ref: Ref) -> Schema:
    """The payload of one event type: every field intake reads, with intake's rules."""
    own = _OWN_MEANING.get(event_type, {})
    required = [*_REQUIRED_COMMON, *(("channel", "due_at") if event_type == "received" else ())]
    properties: dict[str, Schema] = {}
    for name in (
        "event_id",
        "event_type",
        "case_id",
        "commune_code",
        "occurred_at",
        *_EVERY_EVENT,
        *_READ_BY_NAME,
    ):
        if name == "event_type":
            properties[name] = {
                "type": "string",
                "const": event_type,
                "description": "The event type; the same as the subject's last token.",
            }
            continue
        values = {"$ref": ref(_FIELD_SCHEMAS[name])}
        if name == "occurred_at":
            description = "When it happened at the desk (business time)."
        elif name in own:
            description = own[name]
        elif name in _READ_BY_NAME:
            description = (
                f"Not a field of {event_type}: if sent anyway it must still be valid, "
                "intake reads it by name on every event."
            )
        else:
            description = ""
        if name not in required:
            schema: Schema = {"anyOf": [values, {"type": "null"}]}
        elif description:
            schema = {"allOf": [values]}  # draft-07 ignores what stands beside a $ref
        else:
            schema = values
        properties[name] = {"description": description, **schema} if description else schema
    return {
        "title": event_type,
        "description": EVENT_DESCRIPTIONS[event_type]
        + " Unknown extra fields are kept with the event but play no part in any figure. "
        "An optional field sent as null is the same as the field left out; a required one "
        "sent as null is missing.",
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": True,
    }


def _definition_name(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.split("_"))


EVENT_DEFINITIONS: dict[str, str] = {t: _definition_name(t) for t in EVENT_ORDER}


def definitions(ref: Ref) -> dict[str, Schema]:
    """Every named schema of a payload: the shared ones and one per event type."""
    out = shared_definitions()
    for event_type, name in EVENT_DEFINITIONS.items():
        out[name] = event_schema(event_type, ref)
    return out


def payload_schema() -> Schema:
    """docs/event.schema.json: any event of the contract (dispatch on event_type)."""

    def ref(name: str) -> str:
        return f"#/definitions/{name}"

    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "urn:tthc:event:1.1",
        "title": f"tthc case event (contract {CONTRACT_VERSION})",
        "description": "The JSON object a desk publishes on "
        "tthc.events.<commune_code>.<event_type> (docs/vendors.md). Valid against this "
        "schema means accepted by intake, except for what only intake can check. " + INTAKE_ONLY,
        "type": "object",
        "required": ["event_type"],
        "properties": {
            "event_type": {"type": "string", "enum": list(EVENT_ORDER)},
        },
        "allOf": [
            {
                "if": {"properties": {"event_type": {"const": t}}, "required": ["event_type"]},
                "then": {"$ref": ref(name)},
            }
            for t, name in EVENT_DEFINITIONS.items()
        ],
        "definitions": definitions(ref),
    }


# -- the AsyncAPI document --------------------------------------------------------------------
