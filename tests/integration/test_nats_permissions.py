"""The production nats-server configuration: desks publish only for their own commune,
each service user can do its job and no more, JetStream works under the accounts."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from shared.natsserver import LocalNatsServer, find_nats_server
from shared.natsutil import ensure_streams
from shared.subjects import (
    ACCEPTED_STREAM,
    AGGREGATOR_CONSUMER,
    EVENTS_STREAM,
    FIGURES_QUERY_SUBJECT,
    INTAKE_CONSUMER,
)
from tests.conftest import make_settings

pytestmark = pytest.mark.nats

ROOT = Path(__file__).parents[2]
CONF = ROOT / "deploy" / "nats" / "nats-server.conf"
ACCOUNTS = CONF.parent / "accounts.conf"
OWN, OTHER = "16096", "16099"
PASSWORDS = {
    "TTHC_NATS_SYS_PASSWORD": "sys-pw",
    "TTHC_NATS_OPS_PASSWORD": "ops-pw",
    "TTHC_NATS_INTAKE_PASSWORD": "intake-pw",
    "TTHC_NATS_AGGREGATOR_PASSWORD": "aggregator-pw",
    "TTHC_NATS_REPORTER_PASSWORD": "reporter-pw",
}


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "gen_desk_users", CONF.parent / "gen_desk_users.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_config(tmp_path: Path, desks: dict[str, str]) -> Path:
    """The repository's nats-server.conf and accounts.conf, with generated desk users."""
    gen = load_generator()
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "nats-server.conf").write_text(CONF.read_text(encoding="utf-8"), encoding="utf-8")
    block = gen.users_block(list(desks), desks)
    (conf_dir / "accounts.conf").write_text(
        gen.replace_block(ACCOUNTS.read_text(encoding="utf-8"), block), encoding="utf-8"
    )
    return conf_dir / "nats-server.conf"


@pytest.fixture
def secured_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalNatsServer]:
    """nats-server with the repository's configuration and two generated desk users."""
    find_nats_server()
    conf = write_config(tmp_path, {OWN: "desk-own-pw", OTHER: "desk-other-pw"})
    for name, value in PASSWORDS.items():
        monkeypatch.setenv(name, value)
    server = LocalNatsServer(store_dir=tmp_path / "nats", config_file=conf).start()
    try:
        yield server
    finally:
        server.stop()


class Conn:
    """A connection that records the asynchronous errors the server sends it."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: Client | None = None

    async def open(self, server: LocalNatsServer, user: str, password: str, **kw: object) -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc))

        self.nc = await nats.connect(
            server.url,
            user=user,
            password=password,
            error_cb=on_error,
            max_reconnect_attempts=0,
            **kw,  # type: ignore[arg-type]
        )
        return self.nc

    async def violation(self, needle: str, timeout: float = 3.0) -> bool:
        """Whether the server reported a permissions violation mentioning `needle`
        (nats-py lower-cases the server's message)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if any(
                "permissions violation" in e.lower() and needle.lower() in e.lower()
                for e in self.errors
            ):
                return True
            await asyncio.sleep(0.05)
        return False


@pytest.fixture
async def conns() -> AsyncIterator[list[Conn]]:
    opened: list[Conn] = []
    yield opened
    for conn in opened:
        if conn.nc and not conn.nc.is_closed:
            await conn.nc.close()


async def connect(conns: list[Conn], server: LocalNatsServer, user: str, password: str, **kw):
    conn = Conn()
    conns.append(conn)
    nc = await conn.open(server, user, password, **kw)
    return conn, nc


def event(commune: str, n: int) -> bytes:
    return (
        f'{{"event_id":"e-{commune}-{n}","event_type":"received","case_id":"C{n}",'
        f'"commune_code":"{commune}","occurred_at":"2025-07-01T08:00:00+07:00",'
        f'"channel":"direct","due_at":"2025-07-05T17:00:00+07:00"}}'
    ).encode()


async def test_configuration_file_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`nats-server -t` accepts the committed configuration as it is."""
    for name, value in PASSWORDS.items():
        monkeypatch.setenv(name, value)
    proc = await asyncio.create_subprocess_exec(
        find_nats_server(),
        "-t",
        "-c",
        str(CONF),
        "-js",
        "-sd",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()


async def test_desk_publishes_only_for_its_own_commune(
    secured_server: LocalNatsServer, tmp_path: Path, conns: list[Conn]
) -> None:
    """A desk's JetStream publish for its commune is stored; for another commune it is refused."""
    settings = make_settings(tmp_path, secured_server.url)
    _, intake_nc = await connect(
        conns, secured_server, "intake", PASSWORDS["TTHC_NATS_INTAKE_PASSWORD"]
    )
    assert set(await ensure_streams(intake_nc.jetstream(), settings)) == {
        "TTHC_EVENTS",
        "TTHC_REJECTED",
        "TTHC_ACCEPTED",
    }

    desk, nc = await connect(
        conns, secured_server, f"desk-{OWN}", "desk-own-pw", inbox_prefix=f"_INBOX_{OWN}"
    )
    js = nc.jetstream()
    ack = await js.publish(
        f"tthc.events.{OWN}.received", event(OWN, 1), headers={"Nats-Msg-Id": f"e-{OWN}-1"}
    )
    assert ack.stream == EVENTS_STREAM and ack.seq == 1
    dup = await js.publish(
        f"tthc.events.{OWN}.received", event(OWN, 1), headers={"Nats-Msg-Id": f"e-{OWN}-1"}
    )
    assert dup.duplicate is True

    # Another commune's subject: core publish is refused by the server ...
    await nc.publish(f"tthc.events.{OTHER}.received", event(OTHER, 2))
    await nc.flush()
    assert await desk.violation(f"tthc.events.{OTHER}.received")
    # ... and a JetStream publish never gets an ack.
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await js.publish(f"tthc.events.{OTHER}.received", event(OTHER, 3), timeout=0.5)
    # Nor may a desk reach the JetStream API, internal subjects, or read events.
    await nc.publish("tthc.accepted.x", b"{}")
    await nc.publish("$JS.API.STREAM.INFO.TTHC_EVENTS", b"")
    await nc.subscribe("tthc.events.>")
    await nc.flush()
    assert await desk.violation("tthc.accepted.x")
    assert await desk.violation("$JS.API.STREAM.INFO.TTHC_EVENTS")
    assert await desk.violation("tthc.events.>")

    info = await intake_nc.jetstream().stream_info(EVENTS_STREAM)
    assert info.state.messages == 1  # only the own commune's event, once


async def test_desk_of_other_commune_uses_its_own_password(
    secured_server: LocalNatsServer,
) -> None:
    """A desk cannot log in with another desk's password."""
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(
            secured_server.url,
            user=f"desk-{OTHER}",
            password="desk-own-pw",
            max_reconnect_attempts=0,
            allow_reconnect=False,
        )


async def test_services_can_do_their_jobs_and_no_more(
    secured_server: LocalNatsServer, tmp_path: Path, conns: list[Conn]
) -> None:
    """intake consumes events and hands them on, aggregator consumes them and answers
    figures queries, reporter asks and announces snapshots; none can overstep."""
    settings = make_settings(tmp_path, secured_server.url)
    intake, intake_nc = await connect(
        conns, secured_server, "intake", PASSWORDS["TTHC_NATS_INTAKE_PASSWORD"]
    )
    await ensure_streams(intake_nc.jetstream(), settings)
    _, desk_nc = await connect(conns, secured_server, f"desk-{OWN}", "desk-own-pw")
    await desk_nc.publish(f"tthc.events.{OWN}.received", event(OWN, 1))  # core publish lands too
    await desk_nc.flush()

    # intake: its durable consumer on TTHC_EVENTS, ack, hand-off to TTHC_ACCEPTED/REJECTED.
    ijs = intake_nc.jetstream()
    sub = await ijs.pull_subscribe("tthc.events.>", durable=INTAKE_CONSUMER, stream=EVENTS_STREAM)
    [msg] = await sub.fetch(1, timeout=5)
    assert msg.subject == f"tthc.events.{OWN}.received"
    ack = await ijs.publish(f"tthc.accepted.{OWN}", msg.data)
    assert ack.stream == ACCEPTED_STREAM
    assert (await ijs.publish("tthc.rejected.invalid_json", b"x")).stream == "TTHC_REJECTED"
    await msg.ack_sync()
    await intake_nc.publish(f"tthc.events.{OWN}.received", b"{}")  # intake never forges events
    await intake_nc.flush()
    assert await intake.violation(f"tthc.events.{OWN}.received")

    # aggregator: its durable consumer on TTHC_ACCEPTED, and the figures query service.
    agg, agg_nc = await connect(
        conns, secured_server, "aggregator", PASSWORDS["TTHC_NATS_AGGREGATOR_PASSWORD"]
    )
    ajs = agg_nc.jetstream()
    asub = await ajs.pull_subscribe(
        "tthc.accepted.>", durable=AGGREGATOR_CONSUMER, stream=ACCEPTED_STREAM
    )
    [amsg] = await asub.fetch(1, timeout=5)
    assert amsg.data == event(OWN, 1)
    await amsg.ack_sync()
    lag = await ajs.consumer_info(EVENTS_STREAM, INTAKE_CONSUMER)
    assert lag.num_pending == 0 and lag.num_ack_pending == 0

    async def answer(request) -> None:
        await request.respond(b'{"figures":{}}')

    await agg_nc.subscribe(FIGURES_QUERY_SUBJECT, queue="tthc-aggregator", cb=answer)
    await agg_nc.flush()
    await agg_nc.publish("tthc.snapshots.x", b"{}")  # not the aggregator's business
    await agg_nc.flush()
    assert await agg.violation("tthc.snapshots.x")

    # reporter: asks for figures, announces snapshots, cannot read the event streams.
    rep, rep_nc = await connect(
        conns, secured_server, "reporter", PASSWORDS["TTHC_NATS_REPORTER_PASSWORD"]
    )
    reply = await rep_nc.request(FIGURES_QUERY_SUBJECT, b"{}", timeout=5)
    assert reply.data == b'{"figures":{}}'
    await rep_nc.publish("tthc.snapshots.16096.2025-M07", b"{}")
    await rep_nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{EVENTS_STREAM}.{INTAKE_CONSUMER}", b"")
    await rep_nc.flush()
    assert await rep.violation(f"$JS.API.CONSUMER.MSG.NEXT.{EVENTS_STREAM}")
    assert not any("tthc.snapshots" in e for e in rep.errors)


async def test_desks_ask_intake_for_their_rejections_and_intake_only_answers(
    secured_server: LocalNatsServer, tmp_path: Path, conns: list[Conn]
) -> None:
    """A desk may request tthc.rejections.<its commune> (not another's); intake may serve
    those requests, read TTHC_REJECTED message by message and answer on the desk's inbox,
    but never publish to a desk's inbox unasked."""
    settings = make_settings(tmp_path, secured_server.url)
    intake, intake_nc = await connect(
        conns, secured_server, "intake", PASSWORDS["TTHC_NATS_INTAKE_PASSWORD"]
    )
    ijs = intake_nc.jetstream()
    await ensure_streams(ijs, settings)
    await ijs.publish(f"tthc.rejected.bad_type.{OWN}", b"{}")
    assert (await ijs.get_msg("TTHC_REJECTED", seq=1)).subject == f"tthc.rejected.bad_type.{OWN}"

    async def answer(request) -> None:
        await request.respond(b'{"rejections": []}')

    await intake_nc.subscribe("tthc.rejections.*", queue="tthc-intake", cb=answer)
    await intake_nc.flush()
    desk, nc = await connect(
        conns, secured_server, f"desk-{OWN}", "desk-own-pw", inbox_prefix=f"_INBOX_{OWN}"
    )
    reply = await nc.request(f"tthc.rejections.{OWN}", b"", timeout=5)
    assert reply.data == b'{"rejections": []}'
    with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
        await nc.request(f"tthc.rejections.{OTHER}", b"", timeout=1)
    assert await desk.violation(f"tthc.rejections.{OTHER}")

    await intake_nc.publish(f"_INBOX_{OWN}.unasked", b"{}")
    await intake_nc.flush()
    assert await intake.violation(f"_INBOX_{OWN}.unasked")
