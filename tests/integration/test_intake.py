"""Intake against a real nats-server: hand-off, rejections, duplicates, crash and restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.js.api import StreamConfig

from services.bootstrap import build_intake
from services.intake.service import IntakeService, ensure_consumer
from shared import handoff
from shared.natsutil import ensure_streams
from shared.registry import load_registry
from shared.settings import Settings
from shared.subjects import (
    ACCEPTED_STREAM,
    EVENTS_STREAM,
    INTAKE_CONSUMER,
    REJECTED_STREAM,
)

pytestmark = pytest.mark.nats
REPO = Path(__file__).resolve().parents[2]


def event(i: int, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": f"ev-{i}",
        "event_type": "received",
        "case_id": f"H38-{i:06d}",
        "commune_code": "16000",
        "occurred_at": "2025-09-01T09:00:00+07:00",
        "channel": "direct",
        "due_at": "2025-09-05T17:00:00+07:00",
    }
    body.update(over)
    return body


def subject_of(body: dict[str, Any]) -> str:
    return f"tthc.events.{body['commune_code']}.{body['event_type']}"


async def publish(
    js: Any, body: dict[str, Any] | bytes, subject: str | None = None, **kw: Any
) -> int:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    ack = await js.publish(subject or subject_of(body), data, **kw)  # type: ignore[arg-type]
    return ack.seq


async def stream_msgs(js: Any, stream: str) -> list[Any]:
    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        out.append(await js.get_msg(stream, seq))
    return out


async def accepted_ids(js: Any) -> list[str]:
    ids: list[str] = []
    for msg in await stream_msgs(js, ACCEPTED_STREAM):
        ids.extend(e.event_id for e in handoff.decode(msg.data)[0])
    return ids


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def drained(js: Any) -> bool:
    info = await js.consumer_info(EVENTS_STREAM, INTAKE_CONSUMER)
    return info.num_pending == 0 and info.num_ack_pending == 0


@pytest.fixture
async def js_client(settings: Settings):
    nc = await nats.connect(settings.nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


@pytest.fixture
async def intake(settings: Settings, js_client: Any):
    service = build_intake(settings, load_registry())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def test_valid_events_flow_in_documented_format(
    intake: IntakeService, js_client: Any
) -> None:
    """Valid events reach TTHC_ACCEPTED as hand-off batches (parsed fields, the raw bytes)
    with the headers."""
    js = js_client
    raws = []
    seqs = []
    for i in range(5):
        raw = orjson.dumps(event(i, extra={"note": i})) + b" "
        raws.append(raw)
        seqs.append(
            await publish(js, raw, subject_of(event(i)), headers={"Nats-Msg-Id": f"ev-{i}"})
        )
    await wait_for(lambda: drained(js))
    msgs = await stream_msgs(js, ACCEPTED_STREAM)
    assert all(m.subject == "tthc.accepted.batch" for m in msgs)
    all_seq, all_events = [], []
    for m in msgs:
        events, unreadable = handoff.decode(m.data)
        assert unreadable == []
        body_seqs = [e.seq for e in events]
        assert m.headers["Nats-Msg-Id"].startswith(f"intake-{body_seqs[0]}-{body_seqs[-1]}")
        assert m.headers["Tthc-Events-Seq-Max"] == str(max(body_seqs))
        assert all(e.published_ns > 1_700_000_000 * 10**9 for e in events)
        all_seq += body_seqs
        all_events += events
    assert all_seq == seqs
    assert [e.event_id for e in all_events] == [f"ev-{i}" for i in range(5)]
    assert [e.payload for e in all_events] == raws  # the desk's bytes, byte for byte
    assert orjson.loads(all_events[0].payload)["extra"] == {"note": 0}
    assert intake.metrics.accepted._value.get() == 5


INVALID: list[tuple[str, bytes, str]] = [
    ("invalid_json", b"{not json", "tthc.events.16000.received"),
    ("bad_subject", orjson.dumps(event(1)), "tthc.events.16000"),
    (
        "missing_field",
        orjson.dumps({k: v for k, v in event(2).items() if k != "case_id"}),
        "tthc.events.16000.received",
    ),
    ("bad_type", orjson.dumps(event(3, case_id=7)), "tthc.events.16000.received"),
    ("bad_value", orjson.dumps(event(4, channel="fax")), "tthc.events.16000.received"),
    (
        "unknown_event_type",
        orjson.dumps(event(5, event_type="archived")),
        "tthc.events.16000.archived",
    ),
    ("unknown_commune", orjson.dumps(event(6, commune_code="99999")), "tthc.events.99999.received"),
    ("subject_mismatch", orjson.dumps(event(7)), "tthc.events.16000.resolved"),
    (
        "bad_timestamp",
        orjson.dumps(event(8, occurred_at="2025-09-01 09:00")),
        "tthc.events.16000.received",
    ),
    (
        "future_timestamp",
        orjson.dumps(event(9, occurred_at="2999-01-01T00:00:00Z")),
        "tthc.events.16000.received",
    ),
    ("payload_too_large", orjson.dumps(event(10, pad="x" * 70_000)), "tthc.events.16000.received"),
]


async def test_each_invalid_kind_is_rejected_and_kept_byte_for_byte(
    intake: IntakeService, js_client: Any
) -> None:
    """Each kind of invalid input lands in TTHC_REJECTED with its reason, bytes and headers."""
    js = js_client
    sent = {}
    for reason, raw, subject in INVALID:
        seq = await publish(
            js, raw, subject, headers={"Nats-Msg-Id": f"bad-{reason}", "X-Desk": "v1"}
        )
        sent[seq] = (reason, raw, subject)
    good_seq = await publish(js, event(100))  # behind the poison messages
    await wait_for(lambda: drained(js))
    rejected = await stream_msgs(js, REJECTED_STREAM)
    assert len(rejected) == len(INVALID)
    for m in rejected:
        original_seq = int(m.headers["Tthc-Original-Seq"])
        reason, raw, subject = sent[original_seq]
        # tthc.rejected.<reason>.<commune of the subject published on>
        commune = subject.split(".")[2]
        assert m.subject == f"tthc.rejected.{reason}.{commune}"
        assert m.headers["Tthc-Reason"] == reason
        assert m.data == raw
        assert m.headers["Tthc-Original-Subject"] == subject
        assert orjson.loads(m.headers["Tthc-Original-Headers"])["X-Desk"] == "v1"
        assert m.headers["Nats-Msg-Id"] == f"rejected-{original_seq}"
        assert m.headers["Tthc-Rejected-At"][:2] == "20"
        assert "x" * 20 not in m.headers["Tthc-Detail"]
    assert await accepted_ids(js) == ["ev-100"]
    assert good_seq > max(sent)
    for reason, _, _ in INVALID:
        assert intake.metrics.rejected.labels(reason=reason)._value.get() == 1


async def test_message_at_the_size_limit_is_dead_lettered_not_stuck(
    intake: IntakeService, js_client: Any
) -> None:
    """A message so near max_payload that its dead letter would not fit does not block intake."""
    js = js_client
    limit = js._nc.max_payload
    headers = {"Nats-Msg-Id": "huge-1", "X-Desk": "d" * 2000}
    raw = b"{" + b" " * (limit - 2200) + b"}"
    huge_seq = await publish(js, raw, "tthc.events.16000.received", headers=headers)
    await publish(js, event(200))  # behind it
    await wait_for(lambda: drained(js))
    [dead] = await stream_msgs(js, REJECTED_STREAM)
    assert dead.headers["Tthc-Reason"] == "payload_too_large"
    assert dead.headers["Tthc-Original-Seq"] == str(huge_seq)
    assert dead.headers["Tthc-Original-Headers-Omitted"] == "true"
    assert dead.data == raw[: len(dead.data)]
    if len(dead.data) < len(raw):
        assert dead.headers["Tthc-Truncated-From"] == str(len(raw))
    assert await accepted_ids(js) == ["ev-200"]


async def test_duplicates_in_batch_and_recently_seen_are_dropped(
    intake: IntakeService, js_client: Any
) -> None:
    """The same event id inside a batch or after the JetStream window is handed on once."""
    js = js_client
    for _ in range(3):  # no Nats-Msg-Id: JetStream keeps all three
        await publish(js, event(1))
    await wait_for(lambda: drained(js))
    await publish(js, event(1), headers={"Nats-Msg-Id": "other-id"})  # later batch
    await publish(js, event(2))
    await wait_for(lambda: drained(js))
    assert sorted(await accepted_ids(js)) == ["ev-1", "ev-2"]
    assert intake.metrics.duplicates._value.get() == 3


async def test_streams_and_consumer_created_when_absent_existing_stream_left_alone(
    settings: Settings,
) -> None:
    """Start-up creates what is absent, keeps an existing stream's config, updates the consumer."""
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    try:
        await js.add_stream(
            StreamConfig(name=EVENTS_STREAM, subjects=["tthc.events.>"], max_msgs=12345)
        )
        await js.add_consumer(
            EVENTS_STREAM,
            durable_name=INTAKE_CONSUMER,
            deliver_subject="_TTHC.deliver.intake",
            ack_wait=99,
        )
        service = build_intake(settings, load_registry())
        await service.start()
        await service.stop()
        assert (await js.stream_info(EVENTS_STREAM)).config.max_msgs == 12345
        for name in (REJECTED_STREAM, ACCEPTED_STREAM):
            assert (await js.stream_info(name)).config.name == name
        info = await js.consumer_info(EVENTS_STREAM, INTAKE_CONSUMER)
        assert info.config.ack_wait == settings.ack_wait_seconds
        assert info.config.max_ack_pending >= settings.batch_size
        assert info.config.deliver_group == "tthc-intake"  # an old consumer gets the group
        assert await ensure_consumer(js, settings) == "updated"
    finally:
        await nc.close()


async def test_two_intakes_replacing_an_old_consumer_at_once(settings: Settings) -> None:
    """Two intakes starting together find the consumer of an earlier version, without the
    queue group: both replace it (docs/operations.md, "A standby"). Neither start
    fails on the other's delete, and the one left has the group and starts after what
    was acknowledged."""
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    try:
        await js.add_stream(StreamConfig(name=EVENTS_STREAM, subjects=["tthc.events.>"]))
        await js.add_consumer(
            EVENTS_STREAM, durable_name=INTAKE_CONSUMER, deliver_subject="_TTHC.deliver.intake"
        )
        outcomes = await asyncio.gather(
            ensure_consumer(js, settings), ensure_consumer(js, settings), return_exceptions=True
        )
        assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
        assert "recreated" in outcomes
        info = await js.consumer_info(EVENTS_STREAM, INTAKE_CONSUMER)
        assert info.config.deliver_group == "tthc-intake"
        assert info.config.opt_start_seq == 1  # nothing was acknowledged: from the first
    finally:
        await nc.close()


async def test_stop_then_restart_continues(settings: Settings, js_client: Any) -> None:
    """Events published while intake is down are taken after a restart."""
    js = js_client
    service = build_intake(settings, load_registry())
    await service.start()
    await publish(js, event(1))
    await wait_for(lambda: drained(js))
    await service.stop()
    await publish(js, event(2))
    service = build_intake(settings, load_registry())
    await service.start()
    try:
        await wait_for(lambda: drained(js))
    finally:
        await service.stop()
    assert sorted(await accepted_ids(js)) == ["ev-1", "ev-2"]


@pytest.mark.slow
async def test_kill_mid_stream_and_restart_loses_nothing(
    settings: Settings, js_client: Any, tmp_path: Path
) -> None:
    """SIGKILL of `tthc run intake` mid-stream, then a restart: every valid event id is handed on."""
    js = js_client
    env = {
        **os.environ,
        "TTHC_NATS_URL": settings.nats_url,
        "TTHC_DATA_DIR": str(tmp_path / "data"),
        "TTHC_METRICS_PORT": "0",
        "TTHC_ACK_WAIT_SECONDS": "2",
        "TTHC_BATCH_SIZE": "200",
        "TTHC_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "services.cli", "run", "intake"]
    n = 6000
    body = [orjson.dumps(event(i)) for i in range(n)]
    nc = js._nc
    await ensure_streams(js, settings)
    for raw in body[:3000]:
        await nc.publish("tthc.events.16000.received", raw)
    await nc.flush()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    try:

        async def some_accepted() -> bool:
            try:
                return (await js.stream_info(ACCEPTED_STREAM)).state.messages > 0
            except Exception:
                return False

        await wait_for(some_accepted, timeout=30)
        for raw in body[3000:]:
            await nc.publish("tthc.events.16000.received", raw)
        await nc.flush()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc = subprocess.Popen(cmd, cwd=REPO, env=env)
        await wait_for(lambda: drained(js), timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    ids = await accepted_ids(js)
    assert set(ids) == {f"ev-{i}" for i in range(n)}


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TTHC_NATS_URL": settings.nats_url,
        "TTHC_DATA_DIR": str(settings.data_dir),
        "TTHC_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_rejected_list_and_replay(
    intake: IntakeService, js_client: Any, settings: Settings
) -> None:
    """`rejected list` shows a safe preview; `replay` sends fixed-up messages back through intake."""
    js = js_client
    secret = "Nguyễn Văn A 079123456789"
    await publish(
        js, event(1, commune_code="99999", applicant_name=secret), "tthc.events.99999.received"
    )
    await publish(js, b"{broken", "tthc.events.16000.received")
    await wait_for(lambda: drained(js))

    listed = run_cli(settings, "rejected", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert [r["reason"] for r in rows] == ["unknown_commune", "invalid_json"]
    assert (
        rows[0]["preview"]["event_id"] == "ev-1"
        and rows[0]["original_subject"] == "tthc.events.99999.received"
    )
    assert secret not in listed.stdout
    text = run_cli(settings, "rejected", "list", "--reason", "invalid_json")
    assert "invalid_json" in text.stdout and "unknown_commune" not in text.stdout

    dry = run_cli(settings, "rejected", "replay", "--reason", "invalid_json", "--dry-run")
    assert dry.returncode == 0 and "would replay 1" in dry.stdout
    before = (await js.stream_info(EVENTS_STREAM)).state.messages
    done = run_cli(settings, "rejected", "replay", "--all")
    assert done.returncode == 0 and "replayed 2" in done.stdout, done.stderr
    assert (await js.stream_info(EVENTS_STREAM)).state.messages == before + 2
    await wait_for(lambda: drained(js))
    # Still invalid (registry unchanged): each is rejected again, not lost, not accepted.
    assert len(await stream_msgs(js, REJECTED_STREAM)) == 4
    missing = run_cli(settings, "rejected", "replay", "--seq", "999")
    assert missing.returncode == 1 and "not in TTHC_REJECTED" in missing.stderr
    bad = run_cli(settings, "rejected", "list", "--limit", "0")
    assert bad.returncode == 2
