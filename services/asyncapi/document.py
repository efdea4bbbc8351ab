"""The AsyncAPI 3.0 document (`docs/asyncapi.json`), from the desk software's point of view."""

from __future__ import annotations

from typing import Any

from services.asyncapi.schema import (
    CONTRACT_VERSION,
    EVENT_DEFINITIONS,
    EVENT_DESCRIPTIONS,
    INTAKE_ONLY,
    Schema,
    definitions,
)
from shared.domain.validation import REASONS
from shared.subjects import EVENTS_STREAM, REJECTED_STREAM, REJECTIONS_PREFIX


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
