"""Hypothesis fuzzing of payloads, headers and subjects through the real intake (a
running `tthc run intake` and a real nats-server): it never crashes, every bad message
is rejected with a reason code and kept byte for byte, every good one is handed on."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import nats
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import handoff
from shared.domain.validation import REASONS
from shared.natsserver import LocalNatsServer
from shared.subjects import (
    ACCEPTED_STREAM,
    EVENTS_STREAM,
    INTAKE_CONSUMER,
    REJECTED_STREAM,
    commune_token,
)
from tests.kits.reliability import COMMUNES, Proc, publish, service_env

pytestmark = [pytest.mark.nats, pytest.mark.slow]

_ids = itertools.count()
AT, DUE = "2025-11-20T09:00:00+07:00", "2025-11-25T17:00:00+07:00"
TOKEN = st.text(
    alphabet="abcXYZ0123456789_-$%&#@!~", min_size=1, max_size=12
)  # no '.', '*', '>', whitespace: still a publishable subject token
HEADERS = st.dictionaries(
    st.sampled_from(["X-Desk", "Tthc-Reason", "Tthc-Original-Subject", "X-Trace", "Content-Type"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40),
    max_size=3,
)
EXTRA = st.dictionaries(
    st.sampled_from(["applicant_name", "note", "agency", "actor", "x"]),
    st.one_of(st.text(max_size=20), st.integers(-(2**53), 2**53), st.none()),
    max_size=2,
)


def _good(extra: dict) -> dict:
    n = next(_ids)
    return {
        **extra,
        "event_id": f"fz-{n}",
        "event_type": "received",
        "case_id": f"FZ-{n}",
        "commune_code": COMMUNES[n % len(COMMUNES)],
        "occurred_at": AT,
        "channel": "direct",
        "due_at": DUE,
        "agency": "ubnd",
        "actor": "cb-1",
    }


MUTATIONS = {
    "subject_mismatch": lambda p: (f"tthc.events.{COMMUNES[-1]}.received", {**p, "commune_code": "16012"} if p["commune_code"] != "16012" else {**p, "commune_code": "16000"}),
    "unknown_commune": lambda p: ("tthc.events.99998.received", {**p, "commune_code": "99998"}),
    "bad_type": lambda p: (None, {**p, "case_id": 7}),
    "missing_field": lambda p: (None, {k: v for k, v in p.items() if k != "occurred_at"}),
    "unknown_event_type": lambda p: (f"tthc.events.{p['commune_code']}.approved", {**p, "event_type": "approved"}),
    "bad_timestamp": lambda p: (None, {**p, "occurred_at": "20/11/2025"}),
    "future_timestamp": lambda p: (None, {**p, "occurred_at": "2999-01-01T00:00:00Z"}),
    "payload_too_large": lambda p: (None, {**p, "note": "x" * 66_000}),
}  # fmt: skip


@st.composite
def message(draw) -> tuple[str, bytes, dict, str | None]:
    """(subject, body, headers, expected): expected None = good, a reason, or '?' (any)."""
    headers = draw(HEADERS)
    kind = draw(st.sampled_from(["good", "good", "mutated", "bytes", "json", "subject"]))
    payload = _good(draw(EXTRA))
    subject = f"tthc.events.{payload['commune_code']}.received"
    if kind == "good":
        return subject, orjson.dumps(payload), headers, None
    if kind == "mutated":
        reason = draw(st.sampled_from(sorted(MUTATIONS)))
        new_subject, mutated = MUTATIONS[reason](payload)
        return new_subject or subject, orjson.dumps(mutated), headers, reason
    if kind == "bytes":
        return subject, draw(st.binary(max_size=200)), headers, "?"
    if kind == "json":
        value = draw(st.recursive(st.none() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
                                  lambda c: st.lists(c, max_size=3)
                                  | st.dictionaries(st.text(max_size=8), c, max_size=3),
                                  max_leaves=8))  # fmt: skip
        return subject, orjson.dumps(value), headers, "?"
    tokens = draw(st.lists(TOKEN, min_size=1, max_size=3))
    return "tthc.events." + ".".join(tokens), orjson.dumps(payload), headers, "?"


@pytest.fixture(scope="module")
def running_intake(tmp_path_factory) -> Iterator[tuple[str, Proc]]:
    base: Path = tmp_path_factory.mktemp("fuzz")
    server = LocalNatsServer(store_dir=base / "nats").start()
    data = base / "data"
    data.mkdir()
    proc = Proc("intake", service_env(server.url, data), base).start()
    deadline = time.monotonic() + 30
    while not proc.ready():
        assert time.monotonic() < deadline and proc.alive(), "intake did not start"
        time.sleep(0.1)
    try:
        yield server.url, proc
    finally:
        proc.stop()
        server.stop()


async def _counts(url: str) -> tuple[int, list]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + 30
        while True:
            ci = await js.consumer_info(EVENTS_STREAM, INTAKE_CONSUMER)
            if ci.num_pending == 0 and ci.num_ack_pending == 0:
                break
            assert time.monotonic() < deadline, "intake did not drain"
            await asyncio.sleep(0.1)
        accepted = 0
        info = await js.stream_info(ACCEPTED_STREAM)
        for seq in range(info.state.first_seq or 1, info.state.last_seq + 1):
            accepted += len(handoff.decode((await js.get_msg(ACCEPTED_STREAM, seq)).data)[0])
        info = await js.stream_info(REJECTED_STREAM)
        rejected = [
            await js.get_msg(REJECTED_STREAM, seq)
            for seq in range(info.state.first_seq or 1, info.state.last_seq + 1)
            if info.state.messages
        ]
        return accepted, rejected
    finally:
        await nc.close()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(message(), min_size=20, max_size=60))
def test_fuzzed_messages_are_counted_or_rejected_and_kept(running_intake, batch) -> None:
    """Every fuzzed message is handed on (good) or rejected with a known reason, kept whole."""
    url, proc = running_intake
    accepted_before, rejected_before = asyncio.run(_counts(url))
    msgs = []
    for subject, body, _headers, _ in batch:
        msgs.append((subject, body, f"m-{next(_ids)}"))
    asyncio.run(_publish_with_headers(url, msgs, [h for _, _, h, _ in batch]))
    accepted_after, rejected_after = asyncio.run(_counts(url))
    assert proc.alive(), "intake crashed"
    new_rejected = rejected_after[len(rejected_before) :]
    good = [b for _, b, _, e in batch if e is None]
    bad = [(b, e) for _, b, _, e in batch if e is not None]
    assert accepted_after - accepted_before == len(good)
    assert len(new_rejected) == len(bad)
    assert Counter(m.data or b"" for m in new_rejected) == Counter(
        b for b, _ in bad
    )  # byte for byte
    for m in new_rejected:
        assert m.headers["Tthc-Reason"] in REASONS
        reason, commune = m.subject.removeprefix("tthc.rejected.").split(".")
        assert reason == m.headers["Tthc-Reason"]
        original = m.headers["Tthc-Original-Subject"]
        if m.headers.get("Tthc-Original-Subject-Encoding") == "percent":
            original = unquote(original)
        assert commune == (commune_token(original) or "none")
    want = Counter(e for _, e in bad if e != "?")
    have = Counter(m.headers["Tthc-Reason"] for m in new_rejected)
    assert not want - have, (want, have)


async def _publish_with_headers(url: str, msgs: list, headers: list[dict]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)
    try:
        for (subject, body, msg_id), extra in zip(msgs, headers, strict=True):
            await js.publish(subject, body, headers={**extra, "Nats-Msg-Id": msg_id})
    finally:
        await nc.close()


_ = publish  # the plain publisher of kit.py is not enough here: headers are fuzzed
