"""Privacy under errors: database errors provoked while events carry personal data, and
no log line of any service, at DEBUG, carries a payload or a bound parameter.

PostgreSQL is made to fail in both ways it can: a trigger that refuses some events with
a message quoting their payload (a data error: the aggregator isolates them and sets
them aside), and a trigger that fails every insert the same way (an error it retries).
The services' logs are then read whole for the names and numbers."""

from __future__ import annotations

import asyncio
import time

import orjson
import psycopg
import pytest

from tests.kits.reliability import (
    COMMUNES,
    Proc,
    publish,
    service_env,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.postgres]

NAME, CITIZEN_ID = "Trần Thị Mỹ Duyên", "079188001122"
SECRETS = (NAME, CITIZEN_ID, "Tr\\u1ea7n")

REFUSE = """
CREATE FUNCTION tthc_test_refuse() RETURNS trigger AS $$
BEGIN
  IF NEW.payload LIKE '%refuse-me%' THEN
    RAISE EXCEPTION 'refused: %', NEW.payload USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER tthc_test_refuse BEFORE INSERT ON case_event
  FOR EACH ROW EXECUTE FUNCTION tthc_test_refuse();
"""
FAIL_ALL = """
CREATE FUNCTION tthc_test_fail() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'failing: %', NEW.payload;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER tthc_test_fail BEFORE INSERT ON case_event
  FOR EACH ROW EXECUTE FUNCTION tthc_test_fail();
"""


def event(n: int, marker: str = "") -> tuple[str, bytes, str]:
    body = {
        "event_id": f"pv-{n}{marker}",
        "event_type": "received",
        "case_id": f"PV-{n}",
        "commune_code": COMMUNES[0],
        "occurred_at": "2025-11-20T09:00:00+07:00",
        "channel": "direct",
        "due_at": "2025-11-25T17:00:00+07:00",
        "applicant_name": NAME,
        "citizen_id": CITIZEN_ID,
    }
    return f"tthc.events.{COMMUNES[0]}.received", orjson.dumps(body), body["event_id"]


def sql(url: str, statement: str) -> None:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(statement)


def count(url: str, statement: str) -> int:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as c:
        return int(c.execute(statement).fetchone()[0])


async def test_database_errors_never_log_personal_data(
    nats_server, data_dir, tmp_path, fresh_postgres_url: str
) -> None:
    """Refused and failing inserts with names in the payloads: logged, never with the names."""
    env = service_env(
        nats_server.url, data_dir, TTHC_DATABASE_URL=fresh_postgres_url, TTHC_LOG_LEVEL="DEBUG"
    )
    services = [Proc(which, env, tmp_path).start() for which in ("intake", "aggregator")]
    try:
        deadline = time.monotonic() + 60
        while not all(p.ready() for p in services):
            assert time.monotonic() < deadline, [p.log_text()[-1500:] for p in services]
            await asyncio.sleep(0.2)
        sql(fresh_postgres_url, REFUSE)
        await publish(nats_server.url, [event(n, "-refuse-me" if n % 4 == 0 else "") for n in range(20)])
        await wait_drained(nats_server.url, timeout=60)
        assert count(fresh_postgres_url, "SELECT count(*) FROM case_event") == 15
        assert count(fresh_postgres_url, "SELECT count(*) FROM set_aside WHERE kind = 'refused_event'") == 5
        sql(fresh_postgres_url, "DROP TRIGGER tthc_test_refuse ON case_event")
        sql(fresh_postgres_url, FAIL_ALL)
        await publish(nats_server.url, [event(n) for n in range(100, 110)])
        deadline = time.monotonic() + 20
        while "batch_failed" not in services[1].log_text():
            assert time.monotonic() < deadline, "the failing inserts were not retried and logged"
            await asyncio.sleep(0.2)
        sql(fresh_postgres_url, "DROP TRIGGER tthc_test_fail ON case_event")
        await wait_drained(nats_server.url, timeout=60)
        assert count(fresh_postgres_url, "SELECT count(*) FROM case_event") == 25
    finally:
        for proc in services:
            proc.stop()
    logs = "\n".join(p.log_text() for p in services)
    assert "event_refused_by_database" in logs and "batch_failed" in logs
    for secret in SECRETS:
        assert secret not in logs, secret
