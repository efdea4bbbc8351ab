"""Logs never carry a citizen's personal data, even if code logs a payload by mistake."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from shared.logging import configure_logging, get_logger

NAME, CITIZEN_ID, PHONE = "Nguyễn Thị Bích Ngọc", "001190012345", "0912345678"
PAYLOAD = {
    "event_id": "ev-42",
    "event_type": "received",
    "case_id": "HS-42",
    "commune_code": "00004",
    "applicant_name": NAME,
    "citizen_id": CITIZEN_ID,
    "phone": PHONE,
}


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch):
    """The JSON log lines written to stderr by the configured pipeline."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    structlog.reset_defaults()
    configure_logging("DEBUG", "json")
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_ids_are_logged_personal_keys_are_redacted(captured: io.StringIO) -> None:
    """Event, case and commune ids reach the log; applicant_name, phone, payload do not."""
    log = get_logger("tthc.test")
    log.info(
        "event_rejected",
        event_id="ev-42",
        case_id="HS-42",
        commune_code="00004",
        applicant_name=NAME,
        phone=PHONE,
        payload=PAYLOAD,
        data=json.dumps(PAYLOAD, ensure_ascii=False),
    )
    text = captured.getvalue()
    for secret in (NAME, CITIZEN_ID, PHONE):
        assert secret not in text
    [line] = lines(captured)
    assert (line["event_id"], line["case_id"], line["commune_code"]) == ("ev-42", "HS-42", "00004")
    assert line["applicant_name"] == line["payload"] == "[redacted]"


def test_standard_library_and_exception_logs_are_redacted_too(captured: io.StringIO) -> None:
    """A FastStream/nats-py style stdlib log with `extra` personal keys is redacted."""
    logging.getLogger("tthc.stdlib").warning(
        "handler failed", extra={"body": PAYLOAD, "applicant_name": NAME}
    )
    text = captured.getvalue()
    assert NAME not in text and CITIZEN_ID not in text
    assert "handler failed" in text


def test_reject_details_never_quote_payload_values(captured: io.StringIO) -> None:
    """A rejection's detail (logged and put in dead-letter headers) names the field, not its value."""
    from shared.domain.validation import Rejected, validate
    from shared.registry import load_registry

    bad = {
        **PAYLOAD,
        "occurred_at": "2025-07-01T08:00:00+07:00",
        "channel": f"counter-{CITIZEN_ID}",  # a personal value where a code belongs
        "due_at": f"{NAME}",
    }
    result = validate(
        "tthc.events.00004.received",
        json.dumps(bad, ensure_ascii=False).encode(),
        registry=load_registry(None),
        received_at=1_751_331_600_000_000,
        max_skew_us=300_000_000,
        max_payload_bytes=65536,
    )
    assert isinstance(result, Rejected)
    get_logger("tthc.intake").info("event_rejected", reason=result.reason, detail=result.detail)
    text = captured.getvalue()
    assert CITIZEN_ID not in text and NAME not in text
    assert result.reason in text


def test_terminal_text_escapes_controls_and_bidi() -> None:
    """Text from outside shown on a terminal cannot move the cursor or flip the line."""
    from shared.terminal import safe

    assert safe("a\x1b[31mb\r\nc") == "a\\x1b[31mb\\x0d\\x0ac"
    assert safe("x\u202ey\u2066z") == "x\\u202ey\\u2066z"
    assert safe("Hồ sơ đất đai 💩") == "Hồ sơ đất đai 💩"
