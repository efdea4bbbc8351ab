"""The desk contract as machine-readable documents, both built here from one source.

- `docs/event.schema.json`: a JSON Schema (draft-07) of an event's payload, one definition
  per event type, saying every rule of intake (`shared.domain.validation`) that JSON
  Schema can say: required fields, types, `null` as absent for optional fields (contract
  1.1), lengths, slugs, no control characters, the enumerations, RFC 3339 instants with
  an offset on real calendar dates between 1900 and 9998.
- `docs/asyncapi.json`: an AsyncAPI 3.0 document from the point of view of the desk
  software, the application it describes: what a desk sends (its events, with the
  `Nats-Msg-Id` header, and the request for its own rejections), the replies it gets on
  its inbox, the server and the user/password scheme. Nothing internal to tthc is in it.

What only intake can check is said in both documents' descriptions (`INTAKE_ONLY`):
the subject's tokens, the unit registry, the clock, the size in bytes, the JSON text
itself, and the instant limits on the four days where they depend on the offset.

    python -m services.asyncapi --write     # regenerate both files under docs/
    python -m services.asyncapi --check     # exit 1 if either is out of date

`shared.domain.validation` stays the one place that decides what is accepted; the tests
(`tests/unit/test_event_schema.py`) hold the schema and intake to the same answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shared.domain.events import CHANNELS, KNOWN_FIELDS, ResultChannel
from shared.domain.validation import REASONS
from shared.subjects import EVENTS_STREAM, REJECTED_STREAM, REJECTIONS_PREFIX

CONTRACT_VERSION = "1.1"
DOCS = Path(__file__).resolve().parents[1] / "docs"
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


def _components_ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _reply_schemas() -> dict[str, Schema]:
    rejection: Schema = {
        "type": "object",
        "required": ["seq", "reason", "detail", "rejected_at", "subject"],
        "properties": {
            "seq": {
                "type": "integer",
                "minimum": 1,
                "description": f"Its sequence in {REJECTED_STREAM}: ask again with "
                "after_seq set to the last one you saw.",
            },
            "reason": {
                "type": "string",
                "enum": list(REASONS),
                "description": "The stable reason code (docs/reject-reasons.md).",
            },
            "detail": {
                "type": "string",
                "description": "What is wrong, naming the field and the rule (never a value).",
            },
            "rejected_at": {"type": "string", "description": "When intake rejected it (RFC 3339)."},
            "subject": {"type": "string", "description": "The subject you published on."},
            "original_seq": {
                "type": ["integer", "null"],
                "description": f"The message's sequence in {EVENTS_STREAM}.",
            },
            "msg_id": {
                "type": ["string", "null"],
                "description": "The Nats-Msg-Id header you sent (null: none).",
            },
            "event_id": {
                "type": ["string", "null"],
                "description": "event_id of the body, if any.",
            },
            "event_type": {
                "type": ["string", "null"],
                "description": "event_type of the body, if any.",
            },
            "case_id": {"type": ["string", "null"], "description": "case_id of the body, if any."},
            "size": {"type": "integer", "minimum": 0, "description": "The body's size in bytes."},
        },
        "additionalProperties": True,
    }
    return {
        "EventHeaders": {
            "type": "object",
            "required": ["Nats-Msg-Id"],
            "properties": {
                "Nats-Msg-Id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 128,
                    "description": "The event's event_id. JetStream drops a repeat within "
                    "its duplicate window (2 minutes by default) and says duplicate: true in "
                    "the PubAck; tthc drops a repeat of an event_id forever after that. "
                    "Required by the contract; intake does not reject an event without it.",
                },
            },
            "additionalProperties": True,
        },
        "PubAck": {
            "description": "JetStream's answer to a publish. Either stream and seq (the "
            "event is stored; duplicate: true when it was a repeat of a stored one), or an "
            "error. No answer within a few seconds, or a 503 (no responders): publish "
            "again the same bytes with the same Nats-Msg-Id.",
            "type": "object",
            "properties": {
                "stream": {"type": "string", "const": EVENTS_STREAM},
                "seq": {"type": "integer", "minimum": 1},
                "duplicate": {"type": "boolean"},
                "domain": {"type": "string"},
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "integer"},
                        "err_code": {"type": "integer"},
                        "description": {"type": "string"},
                    },
                },
            },
        },
        "RejectionsRequest": {
            "description": "Which of your rejections to send: those after after_seq, oldest "
            "first, at most limit. An empty body is the same as {}.",
            "type": "object",
            "properties": {
                "after_seq": {
                    "type": "integer",
                    "minimum": 0,
                    "default": 0,
                    "description": f"Only rejections with a {REJECTED_STREAM} sequence "
                    "above this one: the next_after_seq of your last reply.",
                },
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
            },
            "additionalProperties": False,
        },
        "Rejection": rejection,
        "RejectionsPage": {
            "description": "Your commune's rejected messages, oldest first; never another "
            "commune's.",
            "type": "object",
            "required": ["commune_code", "rejections", "next_after_seq", "more"],
            "properties": {
                "commune_code": {"type": "string", "pattern": "^[0-9]{5}$"},
                "rejections": {"type": "array", "items": {"$ref": _components_ref("Rejection")}},
                "next_after_seq": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Send this as after_seq next time.",
                },
                "more": {
                    "type": "boolean",
                    "description": "true: there are more; ask again now with next_after_seq.",
                },
            },
            "additionalProperties": False,
        },
        "RequestError": {
            "description": "The request could not be answered.",
            "type": "object",
            "required": ["error", "detail"],
            "properties": {
                "error": {"type": "string", "enum": ["bad_request", "unavailable"]},
                "detail": {"type": "string"},
            },
            "additionalProperties": False,
        },
    }


def _event_channel(event_type: str) -> str:
    return f"event_{event_type}"


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document, from the desk software's point of view."""
    schemas = definitions(_components_ref)
    schemas.update(_reply_schemas())
    commune = {"commune_code": {"$ref": "#/components/parameters/commune_code"}}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, name in EVENT_DEFINITIONS.items():
        channel = _event_channel(event_type)
        messages[event_type] = {
            "name": event_type,
            "title": f"A {event_type} event",
            "summary": EVENT_DESCRIPTIONS[event_type],
            "contentType": "application/json",
            "headers": {"$ref": _components_ref("EventHeaders")},
            "payload": {"$ref": _components_ref(name)},
        }
        channels[channel] = {
            "address": f"tthc.events.{{commune_code}}.{event_type}",
            "title": f"{event_type} events",
            "description": EVENT_DESCRIPTIONS[event_type]
            + f" Stored by JetStream in {EVENTS_STREAM}; tthc's intake validates it.",
            "parameters": commune,
            "messages": {event_type: {"$ref": f"#/components/messages/{event_type}"}},
        }
        operations[f"send_{event_type}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "title": f"Publish a {event_type} event",
            "summary": "JetStream publish with the Nats-Msg-Id header; wait for the PubAck.",
            "description": "A JetStream publish (nats.js js.publish, .NET PublishAsync, "
            "Java JetStream.publish) with Nats-Msg-Id set to the event_id, then wait for "
            "the PubAck. No PubAck within a few seconds: publish again the same bytes with "
            "the same Nats-Msg-Id; a repeat is never counted twice.",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{event_type}"}],
            "reply": {
                "channel": {"$ref": "#/channels/publish_ack"},
                "messages": [{"$ref": "#/channels/publish_ack/messages/pub_ack"}],
            },
        }
    messages["pub_ack"] = {
        "name": "pub_ack",
        "title": "JetStream PubAck",
        "contentType": "application/json",
        "payload": {"$ref": _components_ref("PubAck")},
    }
    messages["rejections_request"] = {
        "name": "rejections_request",
        "title": "Which rejections to send",
        "contentType": "application/json",
        "payload": {"$ref": _components_ref("RejectionsRequest")},
    }
    messages["rejections_page"] = {
        "name": "rejections_page",
        "title": "Your rejected messages",
        "contentType": "application/json",
        "payload": {"$ref": _components_ref("RejectionsPage")},
    }
    messages["request_error"] = {
        "name": "request_error",
        "title": "The request could not be answered",
        "contentType": "application/json",
        "payload": {"$ref": _components_ref("RequestError")},
    }
    channels["publish_ack"] = {
        "address": None,
        "title": "PubAck on your inbox",
        "description": "The reply subject your NATS client makes for a JetStream publish, "
        "under your inbox prefix _INBOX_<commune_code>. (the only subjects your user may "
        "receive on).",
        "messages": {"pub_ack": {"$ref": "#/components/messages/pub_ack"}},
    }
    channels["rejections"] = {
        "address": f"{REJECTIONS_PREFIX}{{commune_code}}",
        "title": "Your rejections (request)",
        "description": "A NATS request (core request/reply, not JetStream) for your own "
        "rejected messages, answered by tthc's intake from the dead-letter stream "
        f"{REJECTED_STREAM}. Your user may send it only with its own commune code.",
        "parameters": commune,
        "messages": {"rejections_request": {"$ref": "#/components/messages/rejections_request"}},
    }
    channels["rejections_reply"] = {
        "address": None,
        "title": "Your rejections (reply on your inbox)",
        "description": "The reply subject your NATS client makes for the request, under "
        "your inbox prefix _INBOX_<commune_code>.",
        "messages": {
            "rejections_page": {"$ref": "#/components/messages/rejections_page"},
            "request_error": {"$ref": "#/components/messages/request_error"},
        },
    }
    operations["request_rejections"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/rejections"},
        "title": "Ask for your rejected messages",
        "summary": "Request/reply: your commune's dead letters after a sequence, oldest first.",
        "description": 'Send {"after_seq": N} (0 the first time) and read the reply; '
        "while more is true, ask again with next_after_seq. Keep next_after_seq to ask "
        "only for new ones later. Every rejection names the reason code "
        "(docs/reject-reasons.md) and the ids you sent.",
        "messages": [{"$ref": "#/channels/rejections/messages/rejections_request"}],
        "reply": {
            "channel": {"$ref": "#/channels/rejections_reply"},
            "messages": [
                {"$ref": "#/channels/rejections_reply/messages/rejections_page"},
                {"$ref": "#/channels/rejections_reply/messages/request_error"},
            ],
        },
    }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:tthc:desk-software",
        "info": {
            "title": "tthc for desk software",
            "version": CONTRACT_VERSION,
            "description": "What one-stop desk software (phần mềm một cửa) sends to tthc and "
            "gets back, over NATS with JetStream: case event contract "
            f"{CONTRACT_VERSION} (events.md). This document describes the desk software: "
            "its operations are what a desk does. Publish each event on "
            "tthc.events.<commune_code>.<event_type> with a JetStream publish and the "
            "Nats-Msg-Id header; ask for your own rejections on "
            f"{REJECTIONS_PREFIX}<commune_code>. The payload schemas are also in "
            "docs/event.schema.json (JSON Schema draft-07). "
            + INTAKE_ONLY
            + " Guide: docs/vendors.md.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": "nats.{province}.vn:4222",
                "protocol": "nats",
                "description": "The province's NATS server, over TLS (connect with a tls:// "
                "URL). Connect with your user and with the inbox prefix "
                "_INBOX_<commune_code>.",
                "variables": {
                    "province": {
                        "description": "The host name the province gives you.",
                        "examples": ["thanhhoa"],
                    }
                },
                "security": [{"$ref": "#/components/securitySchemes/desk_user"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "parameters": {
                "commune_code": {
                    "description": "Your commune's 5-digit code; the same as commune_code "
                    "in the payload. Your user may use only its own.",
                    "examples": ["16096"],
                }
            },
            "securitySchemes": {
                "desk_user": {
                    "type": "userPassword",
                    "description": "User desk-<commune_code> and the password the province "
                    "gives you. It may publish on tthc.events.<commune_code>.> and "
                    f"{REJECTIONS_PREFIX}<commune_code>, and receive only on "
                    "_INBOX_<commune_code>.> (connect with that inbox prefix).",
                }
            },
        },
    }


def render_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name under docs/ -> its text."""
    return {ASYNCAPI_FILE: render_json(document()), SCHEMA_FILE: render_json(payload_schema())}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write or check docs/asyncapi.json and docs/event.schema.json."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="write both files")
    action.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the folder (default: docs/)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = args.docs / name
        if args.write:
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(str(path))
    if stale:
        print(f"out of date: {', '.join(stale)} (python -m services.asyncapi --write)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
