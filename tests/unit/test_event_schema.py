"""docs/event.schema.json and intake (`shared.domain.validation.validate`) agree.

Both ways, on what JSON Schema can say:

- payloads drawn from the schema (hypothesis, tests/kits/schemagen.py) are accepted by
  intake, given a registry holding their commune, their own subject and a clock that
  puts nothing in the future;
- payloads intake accepts (the simulator's traffic; hypothesis near-valid payloads: one
  to three fields removed, set to null, to another type, to boundary lengths, control
  characters, near-valid slugs, codes and timestamps) are valid against the schema.

The one place where they may differ is documented in the schema (INTAKE_ONLY): an
instant on the local days 1899-12-31, 1900-01-01, 9998-12-31 or 9999-01-01 whose
validity depends on its offset, which the schema refuses and intake decides by the
instant. Any other disagreement fails these tests.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services import asyncapi
from services.simulator.generate import generate
from services.simulator.profile import SimConfig
from shared.domain.events import EVENT_TYPES
from shared.domain.validation import MAX_INSTANT, Accepted, Rejected, validate
from tests.kits.schemagen import JSON_VALUES, SchemaStrategies

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "docs" / "event.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
GEN = SchemaStrategies(SCHEMA)
DEFS = SCHEMA["definitions"]
INSTANT_FIELDS = ("occurred_at", "due_at", "new_due_at")
MAX_PAYLOAD = 65_536
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(FAST, max_examples=800)


def subject_for(payload: dict[str, Any]) -> str:
    """The subject a desk would publish the payload on (what only intake checks agrees)."""
    commune = payload.get("commune_code")
    event_type = payload.get("event_type")
    token = commune if isinstance(commune, str) and re.fullmatch("[0-9]{5}", commune) else "00004"
    last = (
        event_type if isinstance(event_type, str) and event_type and "." not in event_type else "x"
    )
    return f"tthc.events.{token}.{last}"


def intake(payload: dict[str, Any]) -> Accepted | Rejected:
    """Intake's verdict with a registry holding the commune and a clock far ahead."""
    commune = payload.get("commune_code")
    return validate(
        subject_for(payload),
        orjson.dumps(payload),
        registry=frozenset([commune]) if isinstance(commune, str) else frozenset(),
        received_at=MAX_INSTANT,
        max_skew_us=300_000_000,
        max_payload_bytes=MAX_PAYLOAD,
    )


_STAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"([Zz]|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)


def offset_dependent(text: object) -> bool:
    """An instant the schema refuses on purpose: on an edge day, east or west of UTC."""
    m = _STAMP.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        return False
    day, offset, sign, hours, minutes = m.groups()
    shifted = offset not in ("Z", "z") and (hours, minutes) != ("00", "00")
    return (
        day in ("1899-12-31", "9999-01-01")
        or (day == "1900-01-01" and shifted and sign == "+")
        or (day == "9998-12-31" and shifted and sign == "-")
    )


def assert_agree(payload: dict[str, Any]) -> None:
    """Schema valid => accepted; accepted => schema valid, or only the documented gap."""
    if len(orjson.dumps(payload)) > MAX_PAYLOAD:
        return  # the size in bytes: only intake can check it
    valid = VALIDATOR.is_valid(payload)
    result = intake(payload)
    if valid:
        assert isinstance(result, Accepted), (result, payload)
        assert result.payload == {k: v for k, v in payload.items() if v is not None}
    elif isinstance(result, Accepted):
        gap = [k for k in INSTANT_FIELDS if offset_dependent(payload.get(k))]
        assert gap, ("intake accepts what the schema refuses", payload, _errors(payload))
        safe = {**payload, **{k: "2025-07-01T08:00:00+07:00" for k in gap}}
        assert VALIDATOR.is_valid(safe), _errors(safe)


def _errors(payload: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(payload)]


# -- schema -> intake ----------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_07_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert set(SCHEMA["properties"]["event_type"]["enum"]) == EVENT_TYPES


@FAST
@given(GEN.strategy(SCHEMA))
def test_payloads_drawn_from_the_schema_are_accepted(payload: dict[str, Any]) -> None:
    """Anything the schema allows, intake accepts (with its own subject, registry, clock)."""
    assert VALIDATOR.is_valid(payload)
    result = intake(payload)
    assert isinstance(result, Accepted), (result, payload)


# -- intake -> schema ----------------------------------------------------------------------

_DELETE = object()
FIELDS = (
    "event_id",
    "event_type",
    "case_id",
    "commune_code",
    "occurred_at",
    "procedure_code",
    "field",
    "agency",
    "actor",
    "channel",
    "due_at",
    "new_due_at",
    "result_channel",
    "reason",
    "note",
)
CONTROLS = ["\x00", "\x1f", "\n", "\t", "\x7f", "\x80", "\x9f", "\xa0", "\u2028"]


@st.composite
def near_timestamps(draw: st.DrawFn) -> str:
    """Texts around RFC 3339 with an offset: edge years, days, times, fractions, offsets."""
    year = draw(
        st.sampled_from([1, 999, 1899, 1900, 1901, 1904, 2000, 2023, 2024, 2100, 9997, 9998, 9999])
        | st.integers(0, 12000)
    )
    month = draw(st.sampled_from([1, 2, 12]) | st.integers(0, 13))
    day = draw(st.sampled_from([1, 28, 29, 30, 31]) | st.integers(0, 32))
    hour = draw(st.sampled_from([0, 23]) | st.integers(0, 25))
    minute = draw(st.sampled_from([0, 59]) | st.integers(0, 61))
    second = draw(st.sampled_from([0, 59, 60]) | st.integers(0, 61))
    fraction = draw(st.sampled_from(["", ".", ".5", ".999999", ".999999999", ".9999999999"]))
    separator = draw(st.sampled_from(["T", "t", " ", "_", ""]))
    offset = draw(
        st.sampled_from(["Z", "z", "+00:00", "-00:00", "+07:00", "-05:00", "+23:59", "-23:59"])
        | st.sampled_from(["", "+24:00", "+07:60", "+0700", "+7:00", "UTC", "Z\n", "Z "])
        | st.builds(
            "{}{:02d}:{:02d}".format,
            st.sampled_from("+-"),
            st.integers(0, 23),
            st.integers(0, 59),
        )
    )
    width = draw(st.sampled_from([4, 4, 4, 3, 5]))
    return (
        f"{year:0{width}d}-{month:02d}-{day:02d}{separator}"
        f"{hour:02d}:{minute:02d}:{second:02d}{fraction}{offset}"
    )


NEAR_STRINGS = st.one_of(
    st.sampled_from(
        [
            "",
            "a",
            "A",
            "ho_tich",
            "Ho_tich",
            "ho-tich",
            "_x",
            "x_",
            "ubnd",
            "cong_an",
            "Công an",
            "direct",
            "postal",
            "online",
            "online_full",
            "fax",
            "Direct",
            "received",
            "resolved",
            "archived",
            "16096",
            "00004",
            "1609",
            "160960",
            "１６０９６",
            "1609\n",
        ]
    ),
    st.builds(
        lambda n, c: c * n,
        st.sampled_from([1, 5, 31, 32, 33, 63, 64, 65, 127, 128, 129]),
        st.sampled_from(["a", "é", "0", "_", "😀"]),
    ),
    st.builds(
        lambda s, c, i: s[:i] + c + s[i:],
        st.text(max_size=6),
        st.sampled_from(CONTROLS),
        st.integers(0, 6),
    ),
    st.text(max_size=8),
    near_timestamps(),
)
NEAR_VALUES = st.one_of(
    st.just(_DELETE),
    st.none(),
    NEAR_STRINGS,
    st.integers(-5, 100_000),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    JSON_VALUES,
)


@MANY
@given(
    GEN.strategy(SCHEMA),
    st.lists(st.tuples(st.sampled_from(FIELDS), NEAR_VALUES), min_size=1, max_size=3),
)
def test_near_valid_payloads_get_the_same_verdict(
    payload: dict[str, Any], changes: list[tuple[str, Any]]
) -> None:
    """Change one to three fields of a valid payload: the schema and intake still agree."""
    for key, value in changes:
        if value is _DELETE:
            payload.pop(key, None)
        else:
            payload[key] = value
    assert_agree(payload)


@MANY
@given(near_timestamps(), st.sampled_from(INSTANT_FIELDS), st.sampled_from(sorted(EVENT_TYPES)))
def test_near_valid_timestamps_get_the_same_verdict(text: str, key: str, event_type: str) -> None:
    """Every instant field, every type: the Instant pattern says what intake's parser says."""
    payload = {
        "event_id": "e1",
        "event_type": event_type,
        "case_id": "C1",
        "commune_code": "16096",
        "occurred_at": "2025-07-01T08:00:00+07:00",
    }
    if event_type == "received":
        payload.update(channel="direct", due_at="2025-07-04T17:00:00+07:00")
    payload[key] = text
    assert_agree(payload)


@pytest.mark.parametrize(
    ("text", "schema", "intake_accepts"),
    [
        ("1900-01-01T00:00:00Z", True, True),
        ("1900-01-01T00:00:00-05:00", True, True),
        ("1899-12-31T23:59:59.999999Z", False, False),
        ("9998-12-31T23:59:59.999999999Z", True, True),
        ("9998-12-31T23:59:59+07:00", True, True),
        ("9999-01-01T00:00:00Z", False, False),
        ("2024-02-29T08:00:00+07:00", True, True),
        ("2023-02-29T08:00:00+07:00", False, False),
        ("2000-02-29 08:00:00z", True, True),
        ("1900-02-29T08:00:00Z", False, False),
        ("2025-07-01T08:00:60+07:00", False, False),
        ("2025-07-01T08:00:00", False, False),
        ("2025-07-01T08:00:00.1234567890Z", False, False),
        ("2025-07-01T08:00:00+07:00\n", False, False),
        # the documented gap: the schema refuses, intake decides by the instant
        ("1900-01-01T08:00:00+07:00", False, True),
        ("1900-01-01T06:00:00+07:00", False, False),
        ("1899-12-31T20:00:00-05:00", False, True),
        ("9998-12-31T20:00:00-05:00", False, False),
        ("9998-12-31T10:00:00-05:00", False, True),
        ("9999-01-01T05:00:00+07:00", False, True),
    ],
)
def test_instant_limits(text: str, schema: bool, intake_accepts: bool) -> None:
    payload = {
        "event_id": "e1",
        "event_type": "resolved",
        "case_id": "C1",
        "commune_code": "16096",
        "occurred_at": text,
    }
    assert VALIDATOR.is_valid(payload) is schema
    assert isinstance(intake(payload), Accepted) is intake_accepts
    if schema is not intake_accepts:
        assert offset_dependent(text)


BASE = {
    "event_id": "e1",
    "event_type": "received",
    "case_id": "C1",
    "commune_code": "16096",
    "occurred_at": "2025-07-01T08:00:00+07:00",
    "channel": "direct",
    "due_at": "2025-07-04T17:00:00+07:00",
}
LENGTHS = (0, 1, 2, 4, 5, 6, 31, 32, 33, 63, 64, 65, 127, 128, 129, 300)


@pytest.mark.parametrize(
    "key", ["event_id", "case_id", "commune_code", "procedure_code", "field", "agency", "actor"]
)
def test_every_length_and_character_class_gets_the_same_verdict(key: str) -> None:
    """Each limited field at and around every limit, in several alphabets, and with each
    control character (and its neighbours) anywhere: the same verdict."""
    for length in LENGTHS:
        for char in ("a", "0", "_", "A", "-", ".", "é", "😀", " "):
            assert_agree({**BASE, key: char * length})
            assert_agree({**BASE, key: "a" * max(length - 1, 0) + char})
    for code in [*range(0x00, 0x21), *range(0x7E, 0xA2), 0x2028, 0xFEFF]:
        for text in (chr(code), "ab" + chr(code), chr(code) + "12345"[:4], "1609" + chr(code)):
            assert_agree({**BASE, key: text})


def test_every_year_month_day_time_and_offset_gets_the_same_verdict() -> None:
    """A sweep of the calendar and the clock through the Instant pattern: the years around
    every century and both ends of the range, every seventh year, on 28 and 29 February,
    1 March, 1 January and 31 December (leap years, the year range); every month and day
    number of five years; every hour, minute, second and offset number; the edge days."""
    texts = []
    years = {*range(1895, 2110), *range(9990, 10001), *range(0, 10001, 7)}
    years |= {c + d for c in range(0, 10100, 100) for d in (-4, -1, 0, 1, 4) if c + d >= 0}
    for year in sorted(years):
        for month_day in ("02-28", "02-29", "03-01", "01-01", "12-31"):
            texts.append(f"{year:04d}-{month_day}T12:00:00Z")
    for year in (1900, 2000, 2023, 2024, 9998):
        for month in range(0, 14):
            for day in range(0, 33):
                texts.append(f"{year:04d}-{month:02d}-{day:02d}T08:00:00+07:00")
    for number in range(0, 62):
        texts += [
            f"2025-07-01T{number:02d}:00:00Z",
            f"2025-07-01T08:{number:02d}:00Z",
            f"2025-07-01T08:00:{number:02d}Z",
            f"2025-07-01T08:00:00+{number:02d}:00",
            f"2025-07-01T08:00:00-00:{number:02d}",
        ]
    for day in ("1899-12-31", "1900-01-01", "9998-12-31", "9999-01-01"):
        for hour in (0, 1, 12, 22, 23):
            for offset in ("Z", "+00:00", "-00:00", "+01:00", "-01:00", "+23:59", "-23:59"):
                texts.append(f"{day}T{hour:02d}:30:00{offset}")
    for text in texts:
        assert_agree({**BASE, "occurred_at": text})


def test_nulls_are_absent_for_optional_fields_and_missing_for_required_ones() -> None:
    """Contract 1.1 in both: an optional null is accepted, a required null is not."""
    base = {
        "event_id": "e1",
        "event_type": "received",
        "case_id": "C1",
        "commune_code": "16096",
        "occurred_at": "2025-07-01T08:00:00+07:00",
        "channel": "direct",
        "due_at": "2025-07-04T17:00:00+07:00",
    }
    for key in ("procedure_code", "field", "agency", "actor", "new_due_at", "result_channel"):
        assert VALIDATOR.is_valid({**base, key: None})
        assert isinstance(intake({**base, key: None}), Accepted)
    for key in ("event_id", "case_id", "commune_code", "occurred_at", "channel", "due_at"):
        assert not VALIDATOR.is_valid({**base, key: None})
        result = intake({**base, key: None})
        assert isinstance(result, Rejected) and result.reason == "missing_field"


# -- the simulator's traffic -----------------------------------------------------------------

# Rejected by intake for what only intake can check: the schema accepts these payloads.
INTAKE_ONLY_KINDS = {"unknown_commune", "subject_mismatch", "future_timestamp"}


def test_the_simulators_traffic_agrees_with_the_schema() -> None:
    """Every event the simulator publishes is valid against the schema and the AsyncAPI
    payload of its channel; its broken ones are refused by the schema unless only intake
    can tell (registry, subject, clock)."""
    now = datetime(2025, 9, 30, 18, 0, tzinfo=UTC)
    cfg = SimConfig(
        communes=("16096", "00004"),
        start=date(2025, 7, 1),
        end=date(2025, 9, 30),
        now=now,
        cases_per_day=6,
        invalid=0.02,
        duplicates=0.01,
    )
    doc = asyncapi.document()
    per_type = {
        t: jsonschema.Draft7Validator(
            {**doc["components"]["schemas"][name], "components": doc["components"]}
        )
        for t, name in asyncapi.EVENT_DEFINITIONS.items()
    }
    kinds: set[str] = set()
    events = 0
    for msg in generate(cfg):
        if msg.kind.startswith("invalid:"):
            kind = msg.kind.split(":", 1)[1]
            kinds.add(kind)
            if msg.payload is not None:
                assert VALIDATOR.is_valid(msg.payload) is (kind in INTAKE_ONLY_KINDS), kind
            continue
        events += 1
        assert VALIDATOR.is_valid(msg.payload), _errors(msg.payload)
        assert per_type[msg.payload["event_type"]].is_valid(msg.payload)
        result = validate(
            msg.subject,
            orjson.dumps(msg.payload),
            registry=frozenset(cfg.communes),
            received_at=int((now + timedelta(minutes=1)).timestamp() * 1_000_000),
            max_skew_us=300_000_000,
            max_payload_bytes=MAX_PAYLOAD,
        )
        assert isinstance(result, Accepted)
    assert events > 1000 and kinds >= INTAKE_ONLY_KINDS | {"missing_field", "bad_type"}
