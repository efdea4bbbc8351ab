"""examples/node/publish_case.mjs, the desk vendors' Node.js example (nats.js), against a
real nats-server with the production configuration (deploy/nats) and the real intake:
its events reach TTHC_EVENTS once each with Nats-Msg-Id, intake accepts the good ones,
a publish made before the stream exists is retried with the same id, and the broken
event it sends is reported back to the desk by `tthc.rejections.<commune>`.

Node.js and the locked `nats` package (examples/node/package-lock.json) are installed by
tests/kits/node.py; without Node.js the tests skip, except in CI.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path

import jsonschema
import nats
import pytest

from services.bootstrap import build_intake
from shared import handoff
from shared.domain.validation import Accepted, validate
from shared.natsserver import LocalNatsServer, find_nats_server
from shared.registry import load_registry
from shared.subjects import ACCEPTED_STREAM, EVENTS_STREAM, REJECTED_STREAM
from tests.conftest import make_settings
from tests.integration.test_nats_permissions import PASSWORDS, write_config
from tests.kits.node import npm_folder

pytestmark = pytest.mark.nats

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "node"
COMMUNE, DESK_PASSWORD = "00004", "desk-00004-pw"
SCHEMA = json.loads((ROOT / "docs" / "event.schema.json").read_text(encoding="utf-8"))
PUBLISHED = re.compile(r"^published  (\w+) (\S+) -> (\w+) seq (\d+)( duplicate)?$", re.M)
REJECTED = re.compile(r"^rejected   (\d+) (\w+) (\S+) (\S+): (.*)$", re.M)


@pytest.fixture(scope="module")
def node() -> str:
    return npm_folder(EXAMPLE)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    find_nats_server()
    conf = write_config(tmp_path, {COMMUNE: DESK_PASSWORD})
    for name, value in PASSWORDS.items():
        monkeypatch.setenv(name, value)
    srv = LocalNatsServer(store_dir=tmp_path / "nats", config_file=conf).start()
    try:
        yield srv
    finally:
        srv.stop()


def run_example(node: str, server: LocalNatsServer, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            node,
            str(EXAMPLE / "publish_case.mjs"),
            "--url",
            server.url,
            "--user",
            f"desk-{COMMUNE}",
            "--password",
            DESK_PASSWORD,
            "--commune",
            COMMUNE,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    """Wait for the example without blocking the event loop intake runs on."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the example did not finish"
        await asyncio.sleep(0.1)
    return proc.communicate()


async def stream(server: LocalNatsServer, name: str) -> list:
    nc = await nats.connect(
        server.url, user="tthc-ops", password=PASSWORDS["TTHC_NATS_OPS_PASSWORD"]
    )
    try:
        js = nc.jetstream()
        last = (await js.stream_info(name)).state.last_seq
        return [await js.get_msg(name, seq) for seq in range(1, last + 1)]
    finally:
        await nc.close()


async def test_the_node_example_publishes_retries_and_hears_of_its_rejection(
    node: str, server: LocalNatsServer, tmp_path: Path
) -> None:
    # The desk starts before tthc has created its streams: its first publishes find no
    # responder, and it retries with the same bytes and id until the stream is there.
    proc = run_example(node, server, "--with-bad-event", "--wait", "30")
    await asyncio.sleep(1.5)
    url = f"nats://intake:{PASSWORDS['TTHC_NATS_INTAKE_PASSWORD']}@127.0.0.1:{server.port}"
    intake = build_intake(make_settings(tmp_path, url), load_registry())
    await intake.start()
    try:
        out, err = await finish(proc)
        assert proc.returncode == 0, (out, err)
        assert re.search(r"^retry      \S+ attempt 2 after 503$", err, re.M), err

        published = PUBLISHED.findall(out)
        assert [(t, s, int(q)) for t, _, s, q, _ in published] == [
            ("received", EVENTS_STREAM, 1),
            ("resolved", EVENTS_STREAM, 2),
            ("paused", EVENTS_STREAM, 3),
        ]
        ids = [event_id for _, event_id, _, _, _ in published]

        # In TTHC_EVENTS once each, with Nats-Msg-Id = event_id; the good two are valid.
        stored = await stream(server, EVENTS_STREAM)
        assert [m.headers["Nats-Msg-Id"] for m in stored] == ids
        for m in stored[:2]:
            jsonschema.validate(json.loads(m.data), SCHEMA)
            result = validate(
                m.subject,
                m.data,
                registry=load_registry(),
                received_at=time.time_ns() // 1000,
                max_skew_us=300_000_000,
                max_payload_bytes=65_536,
            )
            assert isinstance(result, Accepted) and result.event_id == m.headers["Nats-Msg-Id"]

        # Intake handed the good two on to the aggregator and dead-lettered the third.
        accepted = [
            e for m in await stream(server, ACCEPTED_STREAM) for e in handoff.decode(m.data)[0]
        ]
        assert [e.event_id for e in accepted] == ids[:2]
        [dead] = await stream(server, REJECTED_STREAM)
        assert dead.subject == f"tthc.rejected.bad_value.{COMMUNE}"

        # And the desk was told: its rejection, by its own event id.
        [(seq, reason, event_id, subject, detail)] = REJECTED.findall(out)
        assert (int(seq), reason, event_id) == (1, "bad_value", ids[2])
        assert subject == f"tthc.events.{COMMUNE}.paused" and "field must be a slug" in detail
        assert re.search(r"^rejections 1 after_seq 1$", out, re.M)

        # Asked again from that cursor: nothing new, and the good events are never reported.
        again = run_example(node, server, "--after-seq", "1")
        out2, err2 = await finish(again)
        assert again.returncode == 0, err2
        assert not REJECTED.findall(out2) and "rejections 0 after_seq 1" in out2
        assert [int(q) for _, _, _, q, _ in PUBLISHED.findall(out2)] == [4, 5]
    finally:
        if proc.poll() is None:
            proc.kill()
        await intake.stop()


def test_the_example_is_what_vendors_md_shows() -> None:
    """The guide's Node.js lines are the example's own (connection options, publish)."""
    guide = (ROOT / "docs" / "vendors.md").read_text(encoding="utf-8")
    code = (EXAMPLE / "publish_case.mjs").read_text(encoding="utf-8")
    for line in (
        "inboxPrefix: `_INBOX_${commune}`",
        "js.publish(subjectOf(event), data, { msgID: event.event_id, timeout })",
        "`tthc.rejections.${commune}`",
    ):
        assert line in code and line in guide, line
