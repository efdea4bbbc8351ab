"""Operators' commands under the production NATS configuration: run as `tthc-ops` they
work; run with a service's user they stop with one line saying which user to use; an
unreadable database is never reported as "all caught up"."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shared.natsserver import LocalNatsServer, free_port
from tests.integration.test_nats_permissions import secured_server  # noqa: F401 - fixture
from tests.kits.reliability import TTHC, service_env

pytestmark = pytest.mark.nats


def tthc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TTHC, *args], env=env, capture_output=True, text=True, timeout=90, cwd=Path.cwd()
    )


def url(server: LocalNatsServer, user: str, password: str) -> str:
    return f"nats://{user}:{password}@127.0.0.1:{server.port}"


def test_ops_commands_with_a_service_user_say_to_use_tthc_ops(
    secured_server: LocalNatsServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    ops = service_env(url(secured_server, "tthc-ops", "ops-pw"), tmp_path / "data")
    first = tthc(ops, "rejected", "list")  # as tthc-ops: works (and creates the streams)
    assert first.returncode == 0, first.stderr
    assert tthc(ops, "status").returncode == 0
    cases = [
        ("intake", "intake-pw", ("status",)),
        ("reporter", "reporter-pw", ("status",)),
        ("aggregator", "aggregator-pw", ("rejected", "list")),
        # (not intake: it may read TTHC_REJECTED, to answer desks' tthc.rejections requests)
        ("reporter", "reporter-pw", ("rejected", "replay", "--all")),
    ]
    for user, password, argv in cases:
        env = {**ops, "TTHC_NATS_URL": url(secured_server, user, password)}
        done = tthc(env, *argv)
        assert done.returncode == 1, (user, argv, done.stdout, done.stderr)
        lines = [line for line in done.stderr.splitlines() if not line.startswith("{")]
        assert len(lines) == 1, (user, argv, done.stderr)
        assert "NATS refused it: permissions violation" in lines[0], lines[0]
        assert f"the user '{user}' of TTHC_NATS_URL" in lines[0]
        assert "run operators' commands as tthc-ops" in lines[0]
        assert password not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_status_with_an_unreadable_database_is_not_all_caught_up(
    nats_server: LocalNatsServer, tmp_path: Path
) -> None:
    env = service_env(nats_server.url, tmp_path / "data")
    env["TTHC_DATABASE_URL"] = f"postgresql+psycopg://tthc:s3cret@127.0.0.1:{free_port()}/tthc"
    done = tthc(env, "status")
    assert done.returncode == 1
    assert "all caught up" not in done.stdout
    assert "unknown: the database cannot be read" in done.stdout
    err = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(err) == 1 and err[0].startswith("tthc status: error: cannot connect to the database")
    assert "TTHC_DATABASE_URL" in err[0] and "s3cret" not in done.stdout + done.stderr


async def test_the_aggregator_user_may_read_the_hand_off_headers_for_its_lag(
    secured_server: LocalNatsServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """tthc_consumer_pending_events under accounts.conf: the aggregator's user may read
    TTHC_ACCEPTED's messages (STREAM.MSG.GET) for their Tthc-Events-Seq-Max headers."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    from shared import pipeline
    from shared.natsutil import ensure_streams
    from shared.subjects import ACCEPTED_STREAM, AGGREGATOR_CONSUMER
    from tests.conftest import make_settings

    ops = await nats.connect(url(secured_server, "tthc-ops", "ops-pw"))
    agg = await nats.connect(url(secured_server, "aggregator", "aggregator-pw"))
    try:
        js = ops.jetstream()
        await ensure_streams(js, make_settings(tmp_path, secured_server.url))
        await js.publish(
            "tthc.accepted.batch", b"batch", headers={pipeline.SEQ_MAX_HEADER: "1234"}
        )
        await js.add_consumer(
            ACCEPTED_STREAM,
            ConsumerConfig(durable_name=AGGREGATOR_CONSUMER, ack_policy=AckPolicy.EXPLICIT),
        )
        ajs = agg.jetstream(timeout=5)
        lag = await pipeline.events_pending(ajs, await pipeline.collect(ajs))
        assert lag[(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)] == 1234
    finally:
        await agg.close()
        await ops.close()


def test_simulate_stops_when_the_broker_goes_away_for_good(
    nats_server: LocalNatsServer, tmp_path: Path
) -> None:
    """`tthc simulate` publishing when nats-server stops ends within seconds, with one
    line, instead of waiting for ever on acknowledgements that cannot come."""
    import time

    env = service_env(nats_server.url, tmp_path / "data")
    with open(tmp_path / "sim.err", "wb") as err:
        proc = subprocess.Popen(
            [TTHC, "simulate", "--rate", "500", "--quiet"], env=env, stdout=err, stderr=err
        )
    try:
        time.sleep(4)
        assert proc.poll() is None, "the traffic must outlast the broker"
        nats_server.stop()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 1
    lines = (tmp_path / "sim.err").read_text().splitlines()
    last = [line for line in lines if not line.startswith("{")]
    assert len(last) == 1 and last[0].startswith("tthc: error: NATS acknowledged none of")
    assert "TTHC_NATS_URL" in last[0] and "Traceback" not in "\n".join(lines)
