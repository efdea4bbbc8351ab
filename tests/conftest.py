"""Shared fixtures: a real nats-server on a free port, SQLite and PostgreSQL databases.

Tests never touch the machine's own NATS on 4222 or its existing databases: each
NATS test starts its own server with a temporary store, and the PostgreSQL tests
create databases of their own and drop them afterwards, here and nowhere else.

`database_url` and `engine` are parametrized over both backends: a storage test written
once is the contract both SQLite and PostgreSQL are held to.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from shared.natsserver import LocalNatsServer, find_nats_server
from shared.settings import Settings

PG_ADMIN_URL = os.environ.get("TTHC_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[LocalNatsServer]:
    """A fresh nats-server with JetStream for one test."""
    find_nats_server()
    server = LocalNatsServer(store_dir=tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path, nats_server: LocalNatsServer) -> Settings:
    """Settings pointing at the test's nats-server and a SQLite database in tmp_path."""
    return make_settings(tmp_path, nats_server.url)


def make_settings(tmp_path: Path, nats_url: str, **overrides: object) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    values: dict[str, object] = {
        "nats_url": nats_url,
        "data_dir": data_dir,
        "database_url": f"sqlite:///{data_dir / 'tthc.sqlite3'}",
        "metrics_port": 0,
        "batch_wait_ms": 20,
    }
    values.update(overrides)
    return Settings.from_env(**values)


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database created for this test session and dropped after it."""
    import psycopg

    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432, and CI needs it")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"tthc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """An empty schema-less database per test, inside the session's PostgreSQL server."""
    import psycopg

    name = f"tthc_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'agg.sqlite3'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated, empty aggregator database on each backend."""
    from tests.kits.aggregator import migrated

    eng = migrated(database_url)
    yield eng
    eng.dispose()
