"""docs/asyncapi.json and docs/event.schema.json: generated from services/asyncapi/,
current, from one source, and shaped as a desk vendor needs them (the desk's point of
view, nothing internal, every header, parameter and security scheme declared).

The official AsyncAPI parser checks the document in
tests/integration/test_asyncapi_parser.py; the schema is held to intake's verdicts in
tests/unit/test_event_schema.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from services import asyncapi
from shared.domain.events import (
    COMMON_FIELDS,
    EVENT_TYPES,
    OPTIONAL_FIELDS,
    OWN_FIELDS,
    REQUIRED_OWN_FIELDS,
)

DOCS = Path(__file__).parents[2] / "docs"
DOC = json.loads((DOCS / "asyncapi.json").read_text(encoding="utf-8"))
SCHEMA = json.loads((DOCS / "event.schema.json").read_text(encoding="utf-8"))
READ_BY_NAME = {"channel", "due_at", "new_due_at", "result_channel", "reason"}


def test_committed_files_are_current(tmp_path: Path) -> None:
    """Both files equal a fresh generation (regenerate: python -m services.asyncapi --write)."""
    for name, text in asyncapi.rendered().items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, name
    assert asyncapi.main(["--check"]) == 0
    assert asyncapi.main(["--check", "--docs", str(tmp_path)]) == 1
    assert asyncapi.main(["--write", "--docs", str(tmp_path)]) == 0
    assert asyncapi.main(["--check", "--docs", str(tmp_path)]) == 0


def _rewrite_refs(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {
            k: (v.replace(old, new) if k == "$ref" else _rewrite_refs(v, old, new))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_refs(v, old, new) for v in value]
    return value


def test_the_asyncapi_payloads_are_the_json_schema_definitions() -> None:
    """One source: every definition of event.schema.json is in the AsyncAPI components,
    the same but for where references point."""
    schemas = DOC["components"]["schemas"]
    for name, definition in SCHEMA["definitions"].items():
        assert _rewrite_refs(schemas[name], "#/components/schemas/", "#/definitions/") == definition


def test_every_event_type_has_a_channel_a_message_and_a_send_operation() -> None:
    """One channel per event type on tthc.events.{commune_code}.<type>, whose message has the
    type's payload and the Nats-Msg-Id header, sent by the desk with a PubAck reply."""
    channels = {c["address"]: (key, c) for key, c in DOC["channels"].items()}
    for event_type in EVENT_TYPES:
        key, channel = channels[f"tthc.events.{{commune_code}}.{event_type}"]
        [(name, ref)] = channel["messages"].items()
        message = DOC["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
        payload = message["payload"]["$ref"].rsplit("/", 1)[1]
        assert payload == asyncapi.EVENT_DEFINITIONS[event_type]
        headers = DOC["components"]["schemas"][message["headers"]["$ref"].rsplit("/", 1)[1]]
        assert headers["required"] == ["Nats-Msg-Id"]
        assert headers["properties"]["Nats-Msg-Id"]["type"] == "string"
        [op] = [
            o for o in DOC["operations"].values() if o["channel"]["$ref"] == f"#/channels/{key}"
        ]
        assert op["action"] == "send"
        assert op["messages"] == [{"$ref": f"#/channels/{key}/messages/{name}"}]
        assert op["reply"]["channel"] == {"$ref": "#/channels/publish_ack"}


def test_payload_schemas_have_the_domain_fields() -> None:
    """Each type's schema names every field intake reads, required as intake requires."""
    for event_type, name in asyncapi.EVENT_DEFINITIONS.items():
        schema = SCHEMA["definitions"][name]
        assert set(schema["properties"]) == COMMON_FIELDS | OPTIONAL_FIELDS | READ_BY_NAME
        assert OWN_FIELDS[event_type] <= set(schema["properties"])
        assert set(schema["required"]) == COMMON_FIELDS | REQUIRED_OWN_FIELDS.get(
            event_type, frozenset()
        )
        assert schema["properties"]["event_type"]["const"] == event_type
        assert schema["additionalProperties"] is True
        for field, prop in schema["properties"].items():
            assert "default" not in json.dumps(prop), (event_type, field)
            nullable = {"type": "null"} in prop.get("anyOf", [])
            assert nullable is (field not in schema["required"]), (event_type, field)


def test_every_channel_parameter_is_declared_and_used() -> None:
    """{name} in an address is declared in the channel's parameters, and nothing else is."""
    for key, channel in DOC["channels"].items():
        names = set(re.findall(r"{([^}]+)}", channel["address"] or ""))
        assert set(channel.get("parameters", {})) == names, key
        for ref in channel.get("parameters", {}).values():
            assert ref["$ref"].rsplit("/", 1)[1] in DOC["components"]["parameters"]


def test_only_the_desks_point_of_view() -> None:
    """No internal channel (hand-off, dead letters, figures, snapshots), no correlation id
    on a header that does not exist; every operation is something a desk does; the server
    has the user/password scheme the desk users have."""
    text = json.dumps(DOC)
    for internal in ("tthc.accepted", "tthc.rejected.", "tthc.query", "tthc.snapshots"):
        assert internal not in text, internal
    assert "correlationId" not in text and "correlation_id" not in text
    assert {op["action"] for op in DOC["operations"].values()} == {"send"}
    addresses = {c["address"] for c in DOC["channels"].values()}
    assert "tthc.rejections.{commune_code}" in addresses
    [server] = DOC["servers"].values()
    [scheme_ref] = server["security"]
    scheme = DOC["components"]["securitySchemes"][scheme_ref["$ref"].rsplit("/", 1)[1]]
    assert scheme["type"] == "userPassword"
    assert set(re.findall(r"{([^}]+)}", server["host"])) == set(server["variables"])


def test_the_rejections_request_and_its_replies() -> None:
    """The desk asks on tthc.rejections.{commune_code}; the reply is a page or an error."""
    op = DOC["operations"]["request_rejections"]
    assert op["channel"] == {"$ref": "#/channels/rejections"}
    replies = {r["$ref"].rsplit("/", 1)[1] for r in op["reply"]["messages"]}
    assert replies == {"rejections_page", "request_error"}
    page = DOC["components"]["schemas"]["RejectionsPage"]
    assert set(page["required"]) == {"commune_code", "rejections", "next_after_seq", "more"}
