"""docs/asyncapi.json: generated from services/asyncapi.py, current, and faithful to the
contract's event types and fields as the domain code knows them."""

from __future__ import annotations

import json
from pathlib import Path

from services import asyncapi
from shared.domain.events import (
    COMMON_FIELDS,
    EVENT_TYPES,
    OPTIONAL_FIELDS,
    OWN_FIELDS,
    REQUIRED_OWN_FIELDS,
)

DOC = Path(__file__).parents[2] / "docs" / "asyncapi.json"


def test_committed_document_is_current() -> None:
    """The committed document equals a fresh generation (regenerate: python -m services.asyncapi)."""
    assert DOC.read_text(encoding="utf-8") == asyncapi.render()
    assert asyncapi.main(["--check", str(DOC)]) == 0


def test_every_contract_channel_is_documented() -> None:
    """One channel per event type, plus dead letters, snapshots and the figures query."""
    doc = json.loads(DOC.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {f"tthc.events.{{commune_code}}.{t}" for t in EVENT_TYPES} <= addresses
    assert {
        "tthc.rejected.{reason}",
        "tthc.query.figures",
        "tthc.snapshots.{unit_code}.{period_label}",
    } <= addresses


def test_event_models_have_the_domain_fields() -> None:
    """Each model has the common, optional and own fields the validator knows, required as it requires."""
    assert set(asyncapi.EVENT_MODELS) == set(EVENT_TYPES)
    for event_type, model in asyncapi.EVENT_MODELS.items():
        schema = model.model_json_schema()
        props, required = set(schema["properties"]), set(schema.get("required", []))
        assert props == COMMON_FIELDS | OPTIONAL_FIELDS | OWN_FIELDS[event_type], event_type
        assert required == COMMON_FIELDS | REQUIRED_OWN_FIELDS.get(event_type, frozenset()), (
            event_type
        )


def test_model_rejects_what_the_contract_rejects() -> None:
    """A bad commune code or a missing due date fails the published schema too."""
    import pytest
    from pydantic import ValidationError

    good = {
        "event_id": "e1",
        "event_type": "received",
        "case_id": "C1",
        "commune_code": "00004",
        "occurred_at": "2025-07-01T08:00:00+07:00",
        "channel": "direct",
        "due_at": "2025-07-04T17:00:00+07:00",
        "applicant_note": "extra fields are kept",
    }
    asyncapi.Received.model_validate(good)
    with pytest.raises(ValidationError):
        asyncapi.Received.model_validate({**good, "commune_code": "4"})
    with pytest.raises(ValidationError):
        asyncapi.Received.model_validate({k: v for k, v in good.items() if k != "due_at"})
