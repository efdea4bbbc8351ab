"""End to end: `tthc run all` as a process, events published to TTHC_EVENTS by a desk,
`tthc status --json` until nothing is pending, then `tthc appendix` for a commune and
its province, compared with figures computed by hand from the contract's rules."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
import nats.js.errors
import pytest

from tests.kits.reliability import wait_stream

pytestmark = [pytest.mark.nats, pytest.mark.slow]

TTHC = str(Path(sys.executable).with_name("tthc"))
A, B = "16000", "16012"  # two communes of province 38 (Thanh Hóa) in the 2025 registry


def ev(eid: str, etype: str, commune: str, case: str, at: str, **extra: object) -> dict:
    return {
        "event_id": eid,
        "event_type": etype,
        "case_id": case,
        "commune_code": commune,
        "occurred_at": at,
        **extra,
    }


# Decree 09 quarter 2024-Q1 runs 2023-12-15 .. 2024-03-14 (local dates).
STORY = [
    # A-1 direct, resolved two days before the due day: early.
    ev(
        "a1-r",
        "received",
        A,
        "A-1",
        "2024-01-10T09:00:00+07:00",
        channel="direct",
        due_at="2024-01-15T17:00:00+07:00",
    ),
    ev("a1-x", "resolved", A, "A-1", "2024-01-12T03:00:00Z"),
    # A-2 online_full, resolved on the due day before the due instant: on time.
    ev(
        "a2-r",
        "received",
        A,
        "A-2",
        "2024-01-10T09:00:00+07:00",
        channel="online_full",
        due_at="2024-01-11T17:00:00+07:00",
    ),
    ev("a2-x", "resolved", A, "A-2", "2024-01-11T16:00:00+07:00"),
    # A-3 postal, overdue from its due date, apology, then resolved: late, with apology.
    ev(
        "a3-r",
        "received",
        A,
        "A-3",
        "2024-02-01T08:00:00+07:00",
        channel="postal",
        due_at="2024-02-05T17:00:00+07:00",
    ),
    ev(
        "a3-p",
        "apology_sent",
        A,
        "A-3",
        "2024-02-06T09:00:00+07:00",
        new_due_at="2024-02-08T17:00:00+07:00",
    ),
    ev("a3-x", "resolved", A, "A-3", "2024-02-07T10:00:00+07:00"),
    # A-4 online_partial, waits two days for a supplement (due moves to 7 Mar 17:00),
    # still open at the end of the quarter: overdue, no apology.
    ev(
        "a4-r",
        "received",
        A,
        "A-4",
        "2024-03-01T08:00:00+07:00",
        channel="online_partial",
        due_at="2024-03-05T17:00:00+07:00",
    ),
    ev("a4-s", "supplement_requested", A, "A-4", "2024-03-02T08:00:00+07:00"),
    ev("a4-t", "supplement_received", A, "A-4", "2024-03-04T08:00:00+07:00"),
    # A-5 received before the quarter (carried over), due 20 Dec: became overdue in Q1,
    # then handed back.
    ev(
        "a5-r",
        "received",
        A,
        "A-5",
        "2023-12-01T08:00:00+07:00",
        channel="direct",
        due_at="2023-12-20T17:00:00+07:00",
    ),
    ev("a5-x", "returned", A, "A-5", "2024-01-05T08:00:00+07:00", reason="thiếu giấy tờ"),
    # A-6 direct, paused at the end of the quarter, not yet due.
    ev(
        "a6-r",
        "received",
        A,
        "A-6",
        "2024-03-10T08:00:00+07:00",
        channel="direct",
        due_at="2024-03-20T17:00:00+07:00",
    ),
    ev("a6-p", "paused", A, "A-6", "2024-03-12T08:00:00+07:00"),
    # B-1 online_full, withdrawn.
    ev(
        "b1-r",
        "received",
        B,
        "B-1",
        "2024-02-10T08:00:00+07:00",
        channel="online_full",
        due_at="2024-02-12T17:00:00+07:00",
    ),
    ev("b1-w", "withdrawn", B, "B-1", "2024-02-11T08:00:00+07:00"),
    # B-2 direct, land (đất đai), resolved early.
    ev(
        "b2-r",
        "received",
        B,
        "B-2",
        "2024-02-10T08:00:00+07:00",
        channel="direct",
        due_at="2024-02-20T17:00:00+07:00",
        field="dat_dai",
    ),
    ev("b2-x", "resolved", B, "B-2", "2024-02-19T08:00:00+07:00"),
]

EXPECTED_A = {
    "carried_over": 1,
    "received_total": 5,
    "received_direct": 2,
    "received_postal": 1,
    "received_online_partial": 1,
    "received_online_full": 1,
    "resolved_total": 3,
    "resolved_early": 1,
    "resolved_on_time": 1,
    "resolved_late": 1,
    "resolved_in_time_direct": 1,
    "resolved_in_time_postal": 0,
    "resolved_in_time_online_partial": 0,
    "resolved_in_time_online_full": 1,
    "resolved_in_time_land": 0,
    "resolved_in_time_construction": 0,
    "returned": 1,
    "withdrawn": 0,
    "open_at_end": 2,
    "open_in_time_at_end": 1,
    "open_overdue_at_end": 1,
    "awaiting_supplement_at_end": 0,
    "paused_at_end": 1,
    "became_overdue": 3,
    "apologies_sent": 1,
    "apologized_cases": 1,
    "resolved_late_without_apology": 0,
    "open_overdue_without_apology_at_end": 1,
    "on_time_rate": 66.67,
    "online_rate": 40.0,
}
EXPECTED_PROVINCE_38 = {
    "carried_over": 1,
    "received_total": 7,
    "received_direct": 3,
    "received_online_full": 2,
    "resolved_total": 4,
    "resolved_early": 2,
    "resolved_in_time_direct": 2,
    "resolved_in_time_land": 1,
    "returned": 1,
    "withdrawn": 1,
    "open_at_end": 2,
    "on_time_rate": 75.0,
    "online_rate": 42.86,
}


def _env(nats_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TTHC_NATS_URL=nats_url,
        TTHC_DATA_DIR=str(data_dir),
        TTHC_METRICS_PORT="0",
        TTHC_LOG_FORMAT="json",
        TTHC_BATCH_WAIT_MS="20",
    )
    env.pop("TTHC_DATABASE_URL", None)
    return env


def _tthc(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TTHC, *args], env=env, capture_output=True, text=True, timeout=120, check=check
    )


async def _publish(url: str, messages: list[tuple[str, bytes, str]]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await wait_stream(js)  # the services create the stream on start-up
    for subject, body, msg_id in messages:
        for attempt in range(10):
            try:
                await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
                break
            except nats.js.errors.NoStreamResponseError:
                # A stream just created can answer "no responders" for a moment (CI saw
                # it once on the first publish); nats.go retries this answer, so do we.
                if attempt == 9:
                    raise
                await asyncio.sleep(0.2)
    await nc.close()


def _wait_drained(env: dict[str, str], expected_consumers: int = 2, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        proc = _tthc(env, "status", "--json", check=False)
        if proc.returncode == 0:
            status = json.loads(proc.stdout)
            consumers = status["consumers"]
            if len(consumers) >= expected_consumers and all(
                c["num_pending"] == 0 and c["num_ack_pending"] == 0 for c in consumers
            ):
                return status
        time.sleep(0.3)
    raise AssertionError(f"not drained in {timeout}s: {status}")


def test_published_events_become_the_appendix(nats_server, tmp_path: Path) -> None:
    """Desk events, out of order, duplicated and with a bad one, give the hand-computed appendix."""
    env = _env(nats_server.url, tmp_path / "data")
    service = subprocess.Popen(
        [TTHC, "run", "all"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        story = list(reversed(STORY))  # arrival order is not story order
        messages = [
            (
                f"tthc.events.{e['commune_code']}.{e['event_type']}",
                json.dumps(e).encode(),
                e["event_id"],
            )
            for e in story
        ]
        # The same event again, outside JetStream's window (another message id).
        messages.append((messages[0][0], messages[0][1], "resent-later"))
        # A message for a commune that is not in the registry: rejected, kept.
        bad = ev(
            "bad-1",
            "received",
            "99999",
            "X-1",
            "2024-01-10T09:00:00+07:00",
            channel="direct",
            due_at="2024-01-11T17:00:00+07:00",
        )
        messages.append(("tthc.events.99999.received", json.dumps(bad).encode(), "bad-1"))
        asyncio.run(_publish(nats_server.url, messages))

        status = _wait_drained(env)
        streams = {c["stream"] for c in status["consumers"]}
        assert "TTHC_EVENTS" in streams

        commune = json.loads(
            _tthc(env, "appendix", "--commune", A, "--period", "2024-Q1", "--format", "json").stdout
        )
        assert commune["schema"] == "tthc.appendix/1"
        assert commune["period"] == {
            "label": "2024-Q1",
            "calendar": "decree09",
            "start": "2023-12-15",
            "end": "2024-03-14",
        } | {
            k: v
            for k, v in commune["period"].items()
            if k not in ("label", "calendar", "start", "end")
        }
        assert {k: commune["figures"][k] for k in EXPECTED_A} == EXPECTED_A
        assert commune["rows"], "the appendix has rows"

        province = json.loads(
            _tthc(env, "appendix", "--province", "38", "--period", "2024-Q1").stdout
        )
        assert {k: province["figures"][k] for k in EXPECTED_PROVINCE_38} == EXPECTED_PROVINCE_38

        bad_args = _tthc(env, "appendix", "--commune", "99999", "--period", "2024-Q1", check=False)
        assert bad_args.returncode == 2 and len(bad_args.stderr.strip().splitlines()) == 1
        bad_period = _tthc(env, "appendix", "--commune", A, "--period", "2024-Q5", check=False)
        assert bad_period.returncode == 2 and len(bad_period.stderr.strip().splitlines()) == 1
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            _, err = service.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            raise
    assert service.returncode == 0, err.decode()[-2000:]
