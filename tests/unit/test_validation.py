"""Validation of raw desk messages: one test per reason code, plus fuzzing (never raises)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.timeutil import parse_rfc3339
from shared.domain.validation import (
    REASONS,
    Accepted,
    Rejected,
    event_from_payload,
    parse_subject,
    validate,
)

REGISTRY = frozenset({"16096", "00070"})
NOW = parse_rfc3339("2025-09-01T10:00:00+07:00")
SKEW = 300 * 1_000_000
LIMIT = 65536


def received(**over: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "e-1",
        "event_type": "received",
        "case_id": "H38.16096-250901-0001",
        "commune_code": "16096",
        "occurred_at": "2025-09-01T09:00:00+07:00",
        "channel": "online_full",
        "due_at": "2025-09-05T17:00:00+07:00",
        "field": "ho_tich",
    }
    event.update(over)
    return {k: v for k, v in event.items() if v is not DROP}


DROP = object()


def check(payload: Any, subject: str | None = None, raw: bytes | None = None, **kw: Any):
    data = raw if raw is not None else orjson.dumps(payload)
    if subject is None:
        subject = f"tthc.events.{payload['commune_code']}.{payload['event_type']}"
    args = {
        "registry": REGISTRY,
        "received_at": NOW,
        "max_skew_us": SKEW,
        "max_payload_bytes": LIMIT,
    }
    args.update(kw)
    return validate(subject, data, **args)


def reason(result: Accepted | Rejected) -> str:
    assert isinstance(result, Rejected), result
    return result.reason


def test_valid_received_is_accepted_with_instants() -> None:
    """A complete `received` event is accepted; instants and fields are normalised."""
    result = check(received(extra={"kept": True}))
    assert isinstance(result, Accepted)
    ev = result.event
    assert ev.event_id == "e-1" and ev.channel == "online_full" and ev.field == "ho_tich"
    assert ev.occurred_at == parse_rfc3339("2025-09-01T02:00:00Z")
    assert ev.due_at == parse_rfc3339("2025-09-05T10:00:00Z")
    assert result.payload["extra"] == {"kept": True}
    assert event_from_payload(result.payload) == ev


@pytest.mark.parametrize(
    "payload",
    [
        {"event_type": "supplement_requested"},
        {"event_type": "supplement_received", "due_at": "2025-09-09T17:00:00Z"},
        {"event_type": "paused", "reason": "chờ xác minh"},
        {"event_type": "resumed"},
        {"event_type": "resolved", "result_channel": "postal"},
        {"event_type": "returned"},
        {"event_type": "withdrawn"},
        {"event_type": "overdue"},
        {"event_type": "apology_sent", "new_due_at": "2025-09-12T17:00:00+07:00"},
    ],
)
def test_every_other_type_is_accepted_without_channel(payload: dict[str, Any]) -> None:
    """Types other than `received` need only the common fields."""
    body = received(**{"channel": DROP, "due_at": DROP, **payload})
    assert isinstance(check(body), Accepted)


def test_payload_too_large_checked_first_on_raw_size() -> None:
    """An oversize message is rejected on its size even when it is not JSON."""
    assert reason(check(None, "x", raw=b"\xff" * (LIMIT + 1))) == "payload_too_large"
    big = received(note="x" * LIMIT)
    assert reason(check(big)) == "payload_too_large"


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"\xff\xfe{}", b"[1, 2]", b'"text"', b"null", b"{'a': 1}"]
)
def test_invalid_json(raw: bytes) -> None:
    """Not UTF-8 JSON, or JSON that is not an object, is invalid_json."""
    assert reason(check(None, "tthc.events.16096.received", raw=raw)) == "invalid_json"


@pytest.mark.parametrize(
    "subject",
    [
        "tthc.events.16096",
        "tthc.events.1609.received",
        "tthc.events.16096.received.x",
        "foo",
        "tthc.events.abcde.received",
        "tthc.events.16096.",
    ],
)
def test_bad_subject(subject: str) -> None:
    """A subject that is not tthc.events.<5 digits>.<token> is bad_subject."""
    assert reason(check(received(), subject)) == "bad_subject"


@pytest.mark.parametrize(
    "key", ["event_id", "event_type", "case_id", "commune_code", "occurred_at"]
)
def test_missing_common_field(key: str) -> None:
    """Each of the five common fields is required."""
    result = check(received(**{key: DROP}), "tthc.events.16096.received")
    assert reason(result) == "missing_field" and key in result.detail


@pytest.mark.parametrize("key", ["channel", "due_at"])
def test_missing_own_field_of_received(key: str) -> None:
    """`received` requires channel and due_at."""
    assert reason(check(received(**{key: DROP}))) == "missing_field"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("event_id", 12),
        ("case_id", ["H38"]),
        ("commune_code", 16096),
        ("occurred_at", 1756692000),
        ("channel", ["direct"]),
        ("due_at", 20250905),
        ("field", 3),
        ("actor", {"id": 1}),
        ("procedure_code", 1.5),
        ("agency", True),
    ],
)
def test_bad_type(key: str, value: Any) -> None:
    """A known field with the wrong JSON type (not null) is bad_type."""
    result = check(received(**{key: value}), "tthc.events.16096.received")
    assert reason(result) == "bad_type" and key in result.detail


@pytest.mark.parametrize("key", ["event_id", "case_id", "commune_code", "occurred_at", "channel", "due_at"])
def test_a_required_field_sent_as_null_is_missing(key: str) -> None:
    """Contract 1.1: null is the same as absent, so a required field sent as null is missing."""
    result = check(received(**{key: None}), "tthc.events.16096.received")
    assert reason(result) == "missing_field" and key in result.detail


@pytest.mark.parametrize(
    "key", ["field", "agency", "actor", "procedure_code", "reason", "result_channel", "new_due_at"]
)
def test_an_optional_field_sent_as_null_is_absent(key: str) -> None:
    """Contract 1.1: an optional field sent as null is accepted, as if left out."""
    result = check(received(**{key: None}))
    assert isinstance(result, Accepted), result
    assert key not in result.payload
    assert result.event == check(received(**{key: DROP})).event


@pytest.mark.parametrize(
    "over",
    [
        {"event_id": ""},
        {"event_id": "e" * 129},
        {"case_id": ""},
        {"case_id": "c" * 65},
        {"commune_code": "1609"},
        {"commune_code": "١٦٠٩٦"},
        {"channel": "fax"},
        {"event_type": "resolved", "channel": DROP, "due_at": DROP, "result_channel": "fax"},
    ],
)
def test_bad_value(over: dict[str, Any]) -> None:
    """Right type, wrong value (lengths, commune code shape, channels) is bad_value."""
    body = received(**over)
    subject = f"tthc.events.16096.{body['event_type']}"
    assert reason(check(body, subject)) == "bad_value"


def test_lengths_at_the_limits_are_accepted() -> None:
    """event_id of 128 characters and case_id of 64 are allowed."""
    assert isinstance(check(received(event_id="é" * 128, case_id="c" * 64)), Accepted)


def test_unknown_event_type() -> None:
    """An event_type outside the contract is unknown_event_type."""
    body = received(event_type="archived")
    assert reason(check(body)) == "unknown_event_type"


def test_unknown_commune() -> None:
    """A 5-digit commune code outside the registry is unknown_commune."""
    body = received(commune_code="99999")
    assert reason(check(body)) == "unknown_commune"


@pytest.mark.parametrize("subject", ["tthc.events.00070.received", "tthc.events.16096.resolved"])
def test_subject_mismatch(subject: str) -> None:
    """commune_code or event_type differing from the subject is subject_mismatch."""
    assert reason(check(received(), subject)) == "subject_mismatch"


@pytest.mark.parametrize(
    "over",
    [
        {"occurred_at": "2025-09-01 09:00:00"},
        {"occurred_at": "2025-09-01T09:00:00"},
        {"occurred_at": "2025-02-30T09:00:00Z"},
        {"due_at": "tomorrow"},
        {"event_type": "apology_sent", "channel": DROP, "due_at": DROP, "new_due_at": "2025-09-12"},
    ],
)
def test_bad_timestamp(over: dict[str, Any]) -> None:
    """A timestamp that is not RFC 3339 with an offset is bad_timestamp."""
    assert reason(check(received(**over))) == "bad_timestamp"


def test_future_timestamp_beyond_skew_only() -> None:
    """occurred_at up to the skew ahead is fine; beyond it is future_timestamp."""
    at_limit = received(occurred_at="2025-09-01T10:05:00+07:00")
    assert isinstance(check(at_limit), Accepted)
    beyond = received(occurred_at="2025-09-01T10:05:00.000001+07:00")
    assert reason(check(beyond)) == "future_timestamp"


def test_every_reason_is_covered_by_this_file() -> None:
    """The stable reason codes are exactly the documented ones."""
    assert set(REASONS) == {
        "payload_too_large",
        "invalid_json",
        "bad_subject",
        "missing_field",
        "bad_type",
        "unknown_event_type",
        "bad_value",
        "subject_mismatch",
        "unknown_commune",
        "bad_timestamp",
        "future_timestamp",
    }


def test_parse_subject() -> None:
    """The subject's commune and type tokens are read; anything else is None."""
    assert parse_subject("tthc.events.16096.received") == ("16096", "received")
    assert parse_subject("tthc.events.16096.a.b") is None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(
        ["16096", "received", "resolved", "direct", "2025-09-01T09:00:00+07:00", "", "x" * 200]
    ),
)


@settings(max_examples=300, deadline=None)
@given(subject=st.text(max_size=40), data=st.binary(max_size=200))
def test_fuzz_raw_bytes_never_raise(subject: str, data: bytes) -> None:
    """Arbitrary subjects and bytes give a decision, never an exception."""
    result = check(None, subject, raw=data)
    assert isinstance(result, Accepted | Rejected)
    if isinstance(result, Rejected):
        assert result.reason in REASONS


@settings(max_examples=300, deadline=None)
@given(
    over=st.dictionaries(
        st.sampled_from(
            [
                "event_id",
                "event_type",
                "case_id",
                "commune_code",
                "occurred_at",
                "channel",
                "due_at",
                "new_due_at",
                "result_channel",
                "field",
                "x",
            ]
        ),
        field_values,
        max_size=5,
    ),
    drop=st.sets(st.sampled_from(["event_id", "event_type", "occurred_at", "channel", "due_at"])),
    subject=st.sampled_from(
        ["tthc.events.16096.received", "tthc.events.16096.resolved", "tthc.events.99999.received"]
    ),
)
def test_fuzz_near_valid_events(over: dict[str, Any], drop: set[str], subject: str) -> None:
    """Mutated events give a decision; an accepted one always converts with event_from_payload."""
    body = received(**over)
    for key in drop:
        body.pop(key, None)
    result = check(body, subject)
    if isinstance(result, Accepted):
        assert event_from_payload(result.payload) == result.event
    else:
        assert result.reason in REASONS


timestamp_texts = st.one_of(
    st.from_regex(
        r"\A\d{4}-[01]\d-[0-3]\d[Tt ][0-2]\d:[0-6]\d:[0-6]\d(\.\d{1,9})?([Zz]|[+-][0-2]\d:[0-6]\d)\Z"
    ),
    st.text(max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(text=timestamp_texts)
def test_parse_rfc3339_agrees_with_the_reference(text: str) -> None:
    """The arithmetic timestamp parser accepts exactly the reference's texts, with the same instants."""
    from shared.domain.timeutil import TimestampError
    from tests.kits.rfc3339 import reference_parse_rfc3339

    try:
        expected: int | None = reference_parse_rfc3339(text)
    except TimestampError:
        expected = None
    try:
        got: int | None = parse_rfc3339(text)
    except TimestampError:
        got = None
    assert got == expected


@pytest.mark.parametrize(
    "over",
    [
        {"event_id": "e\x00"},
        {"case_id": "H38\n16096"},
        {"case_id": "c\x9b1"},
        {"procedure_code": "1.00\x001"},
        {"procedure_code": "p" * 65},
        {"field": "Hộ tịch"},
        {"field": "ho tich"},
        {"field": "f" * 65},
        {"agency": "Công an"},
        {"agency": "cong-an"},
        {"agency": "a" * 33},
        {"agency": ""},
    ],
)
def test_text_that_storage_could_refuse_is_bad_value(over: dict[str, Any]) -> None:
    """Control characters in stored text, non-slug fields or agencies, lengths beyond the
    columns are refused at intake: an accepted event can always be stored."""
    result = check(received(**over))
    assert reason(result) == "bad_value", result
    assert next(iter(over)) in result.detail


def test_slugs_and_vietnamese_ids_at_their_limits_are_accepted() -> None:
    """Slugs of 64 / 32 characters and Vietnamese text in ids are accepted."""
    result = check(received(field="f" * 64, agency="quan_su_" + "x" * 24, case_id="Hồ-sơ-01"))
    assert isinstance(result, Accepted), result
    assert result.event.agency == "quan_su_" + "x" * 24


@pytest.mark.parametrize(
    "over",
    [
        {"occurred_at": "1899-12-31T23:59:59Z"},
        {"due_at": "9999-01-01T00:00:00Z"},
        {"due_at": "9998-12-31T23:59:59-23:59"},
        {"event_type": "apology_sent", "channel": DROP, "due_at": DROP, "new_due_at": "0001-01-01T00:00:00Z"},
    ],
)
def test_instants_outside_1900_to_9998_are_bad_timestamp(over: dict[str, Any]) -> None:
    """Instants at the edges of the representable range are refused (they could not be
    printed in every offset, or periods computed around them)."""
    body = received(**over)
    result = check(body, f"tthc.events.16096.{body['event_type']}")
    assert reason(result) == "bad_timestamp" and "1900" in result.detail


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b"{\"a\": \"\xff\"}", "UTF-8"),
        (b"{\"a\": ", "line 1"),
    ],
)
def test_invalid_json_says_what_is_wrong(raw: bytes, words: str) -> None:
    """invalid_json's detail names the problem: a BOM, bad UTF-8, or where the JSON breaks."""
    result = check(None, "tthc.events.16096.received", raw=raw)
    assert reason(result) == "invalid_json" and words in result.detail
