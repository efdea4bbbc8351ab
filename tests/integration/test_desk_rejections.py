"""Each desk sees its own rejected messages and nobody else's, under the production NATS
configuration (deploy/nats) with the real intake service answering
`tthc.rejections.<commune>` (services/intake/feed.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest

from services.bootstrap import build_intake
from services.intake.rejected import iter_rejected
from services.intake.service import IntakeService
from shared.natsserver import LocalNatsServer, find_nats_server
from shared.registry import load_registry
from shared.subjects import REJECTED_STREAM
from tests.conftest import make_settings
from tests.integration.test_nats_permissions import PASSWORDS, Conn, connect, write_config

pytestmark = pytest.mark.nats

A, B = "00004", "00070"  # two communes of the 2025 registry (Hà Nội)
DESKS = {A: "desk-a-pw", B: "desk-b-pw"}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    find_nats_server()
    conf = write_config(tmp_path, DESKS)
    for name, value in PASSWORDS.items():
        monkeypatch.setenv(name, value)
    srv = LocalNatsServer(store_dir=tmp_path / "nats", config_file=conf).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def intake(server: LocalNatsServer, tmp_path: Path) -> AsyncIterator[IntakeService]:
    """The real intake service, as its own least-privilege user."""
    url = f"nats://intake:{PASSWORDS['TTHC_NATS_INTAKE_PASSWORD']}@127.0.0.1:{server.port}"
    service = build_intake(make_settings(tmp_path, url), load_registry())
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
async def conns() -> AsyncIterator[list[Conn]]:
    opened: list[Conn] = []
    yield opened
    for conn in opened:
        if conn.nc and not conn.nc.is_closed:
            await conn.nc.close()


async def desk(conns: list[Conn], server: LocalNatsServer, commune: str) -> tuple[Conn, Any]:
    return await connect(
        conns, server, f"desk-{commune}", DESKS[commune], inbox_prefix=f"_INBOX_{commune}"
    )


def event(commune: str, n: int, **changes: object) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": f"ev-{commune}-{n}",
        "event_type": "received",
        "case_id": f"HS-{n}",
        "commune_code": commune,
        "occurred_at": "2025-07-01T08:00:00+07:00",
        "channel": "direct",
        "due_at": "2025-07-04T17:00:00+07:00",
        "applicant_name": "Nguyễn Văn A",  # personal data: never in a reply
    }
    body.update(changes)
    return body


async def send(nc: Any, commune: str, body: dict[str, Any], subject_commune: str | None = None):
    subject = f"tthc.events.{subject_commune or commune}.{body['event_type']}"
    ack = await nc.jetstream().publish(
        subject, orjson.dumps(body), headers={"Nats-Msg-Id": str(body["event_id"])}
    )
    return ack.seq


async def ask(nc: Any, commune: str, body: bytes = b"") -> dict[str, Any]:
    reply = await nc.request(f"tthc.rejections.{commune}", body, timeout=5)
    return orjson.loads(reply.data)


async def wait_rejected(server: LocalNatsServer, count: int) -> None:
    ops = await nats.connect(
        server.url, user="tthc-ops", password=PASSWORDS["TTHC_NATS_OPS_PASSWORD"]
    )
    try:
        deadline = time.monotonic() + 15
        while (await ops.jetstream().stream_info(REJECTED_STREAM)).state.messages < count:
            assert time.monotonic() < deadline, "intake did not reject in time"
            await asyncio.sleep(0.05)
    finally:
        await ops.close()


async def test_a_desk_gets_its_own_rejections_and_never_another_communes(
    server: LocalNatsServer, intake: IntakeService, conns: list[Conn]
) -> None:
    desk_a, nc_a = await desk(conns, server, A)
    _, nc_b = await desk(conns, server, B)
    await send(nc_a, A, event(A, 1))  # accepted
    seq_type = await send(nc_a, A, event(A, 2, field=7))  # bad_type
    seq_mismatch = await send(nc_a, A, event(B, 3, event_id="ev-a-as-b"), subject_commune=A)
    await send(nc_b, B, {k: v for k, v in event(B, 4).items() if k != "case_id"})  # missing
    await send(nc_b, B, event(B, 5, channel="fax"))  # bad_value
    await wait_rejected(server, 4)

    page = await ask(nc_a, A)
    assert page["commune_code"] == A and page["more"] is False
    got = page["rejections"]
    assert [(r["reason"], r["event_id"], r["original_seq"]) for r in got] == [
        ("bad_type", f"ev-{A}-2", seq_type),
        # published by desk A with B's commune in the body: A's message, A's rejection
        ("subject_mismatch", "ev-a-as-b", seq_mismatch),
    ]
    first = got[0]
    assert first["msg_id"] == f"ev-{A}-2" and first["case_id"] == "HS-2"
    assert first["event_type"] == "received" and first["subject"] == f"tthc.events.{A}.received"
    assert first["detail"] == "field must be a string" and first["rejected_at"]
    assert page["next_after_seq"] == got[-1]["seq"]
    assert "Nguyễn" not in orjson.dumps(page).decode()  # ids only, never the body

    # Desk B sees its own two, and nothing of A's.
    page_b = await ask(nc_b, B)
    assert [r["reason"] for r in page_b["rejections"]] == ["missing_field", "bad_value"]
    assert all(r["subject"].startswith(f"tthc.events.{B}.") for r in page_b["rejections"])

    # Desk A may not ask for B's: the server refuses the request, no reply ever comes.
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await nc_a.request(f"tthc.rejections.{B}", b"", timeout=1)
    assert await desk_a.violation(f"tthc.rejections.{B}")
    # Nor read B's replies, nor the dead letters themselves, nor requests of others.
    for subject in (f"_INBOX_{B}.>", "tthc.rejected.>", "tthc.rejections.*"):
        await nc_a.subscribe(subject)
    await nc_a.flush()
    for subject in (f"_INBOX_{B}.>", "tthc.rejected.>", "tthc.rejections.*"):
        assert await desk_a.violation(subject), subject
    await nc_a.publish(f"$JS.API.STREAM.MSG.GET.{REJECTED_STREAM}", b'{"seq": 1}')
    await nc_a.flush()
    assert await desk_a.violation(f"$JS.API.STREAM.MSG.GET.{REJECTED_STREAM}")


async def test_pages_and_bad_requests(
    server: LocalNatsServer, intake: IntakeService, conns: list[Conn]
) -> None:
    """after_seq and limit page through a desk's rejections; a bad request says why."""
    _, nc = await desk(conns, server, A)
    for n in range(5):
        await send(nc, A, event(A, n, channel="fax"))
    await wait_rejected(server, 5)

    seen: list[str] = []
    after = 0
    for _ in range(10):
        page = await ask(nc, A, orjson.dumps({"after_seq": after, "limit": 2}))
        seen += [r["event_id"] for r in page["rejections"]]
        after = page["next_after_seq"]
        if not page["more"]:
            break
    assert seen == [f"ev-{A}-{n}" for n in range(5)]
    assert (await ask(nc, A, orjson.dumps({"after_seq": after})))["rejections"] == []

    for body, detail in [
        (b"{", "the body is not JSON"),
        (b"[1]", 'the body is not {"after_seq": N, "limit": L}'),
        (b'{"since": 1}', 'the body is not {"after_seq": N, "limit": L}'),
        (b'{"after_seq": -1}', "after_seq must be an integer of 0 or more"),
        (b'{"after_seq": true}', "after_seq must be an integer of 0 or more"),
        (b'{"limit": 101}', "limit must be an integer from 1 to 100"),
    ]:
        assert await ask(nc, A, body) == {"error": "bad_request", "detail": detail}


async def test_old_dead_letters_still_list_by_reason(
    server: LocalNatsServer, intake: IntakeService, conns: list[Conn]
) -> None:
    """Dead letters written before the commune token (tthc.rejected.<reason>) are still
    listed by `tthc rejected list --reason`, in sequence order with the new ones; they
    belong to no desk."""
    _, ops = await connect(conns, server, "tthc-ops", PASSWORDS["TTHC_NATS_OPS_PASSWORD"])
    js = ops.jetstream()
    await js.publish("tthc.rejected.bad_value", b"{}", headers={"Tthc-Reason": "bad_value"})
    _, nc = await desk(conns, server, A)
    await send(nc, A, event(A, 1, channel="fax"))
    await wait_rejected(server, 2)
    await js.publish("tthc.rejected.bad_value", b"{}", headers={"Tthc-Reason": "bad_value"})
    entries = [e async for e in iter_rejected(js, "bad_value")]
    assert [e.seq for e in entries] == [1, 2, 3]
    assert [e.reason for e in entries] == ["bad_value"] * 3
    assert [r["seq"] for r in (await ask(nc, A))["rejections"]] == [2]
