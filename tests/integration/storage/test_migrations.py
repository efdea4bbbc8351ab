"""The schema's migrations on SQLite and PostgreSQL (storage/migrations, storage/schema.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.schema import CreateIndex

from services.aggregator.service import prepare_database
from services.aggregator.storage.apply import apply_batch
from services.aggregator.storage.engine import alembic_config, migrate, schema_present
from services.aggregator.storage.meta import REBUILD_KEY, counts, read_meta
from services.aggregator.storage.schema import ENDED_SPAN_SQL, case_state, metadata
from shared.registry import load_registry
from tests.kits.aggregator import items, migrated, story

province_of = load_registry().province_of


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_upgrade_head_matches_models(engine: Engine) -> None:
    """`alembic upgrade head` on an empty database gives exactly the models' tables."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert {"case_event", "case_state", "aggregator_meta", "applied_position"} <= set(
        inspect(engine).get_table_names()
    )


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_downgrade_to_0001_and_back_keeps_rows_and_matches_models(engine: Engine) -> None:
    """0005, 0004, 0003 and 0002 go down to 0001 and up again on tables with rows."""
    apply_batch(engine, items(story()), province_of)
    before = counts(engine)
    command.downgrade(alembic_config(engine), "0001")
    names = {i["name"] for i in inspect(engine).get_indexes("case_state")}
    assert {"ix_case_state_received", "ix_case_state_ended"} <= names
    assert not names & {"ix_case_state_plain", "ix_case_state_rich"}
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    after = counts(engine)
    assert {k: after[k] for k in before if k in ("events_stored", "cases")} == {
        k: before[k] for k in ("events_stored", "cases")
    }


def test_upgrade_to_0003_copies_agencies_and_asks_for_a_rebuild(engine: Engine) -> None:
    """Events stored before 0003 get their agency and procedure from their payloads, and
    the next start refolds every case, so the case rows carry them too."""
    events = [dict(p, agency="cong_an", procedure_code="1.0001") for p in story()]
    apply_batch(engine, items(events), province_of)
    command.downgrade(alembic_config(engine), "0002")
    migrate(engine)
    with engine.connect() as conn:
        assert read_meta(conn)[REBUILD_KEY] == 1
        assert conn.execute(select(case_state.c.agency).distinct()).all() == [(None,)]
    prepare_database(engine, load_registry())
    with engine.connect() as conn:
        assert REBUILD_KEY not in read_meta(conn) or not read_meta(conn)[REBUILD_KEY]
        assert {r[0] for r in conn.execute(select(case_state.c.agency).distinct())} == {"cong_an"}
        codes = {r[0] for r in conn.execute(select(case_state.c.procedure_code).distinct())}
        assert codes == {"1.0001"}


def test_upgrade_is_idempotent(engine: Engine) -> None:
    """Running the migrations again on a migrated database changes nothing."""
    migrate(engine)
    assert schema_present(engine)


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_sqlite_indexes_as_the_model_defines_them(tmp_path: Path) -> None:
    """Alembic cannot compare an index on an expression on SQLite (`ix_case_state_plain`
    and `ix_case_state_rich`, by ended span; PostgreSQL's are compared above): every
    migrated index of `case_state` is the model's, statement for statement."""
    engine = migrated(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        with engine.connect() as conn:
            stored = dict(
                conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                    " AND tbl_name = 'case_state' AND sql IS NOT NULL"
                ).all()
            )
        compiled = {
            i.name: str(CreateIndex(i).compile(dialect=engine.dialect)) for i in case_state.indexes
        }
    finally:
        engine.dispose()

    def words(sql: str) -> str:
        return " ".join(sql.replace('"', "").split())

    assert {k: words(v) for k, v in stored.items()} == {k: words(v) for k, v in compiled.items()}
    assert ENDED_SPAN_SQL in stored["ix_case_state_plain"]
    assert ENDED_SPAN_SQL in stored["ix_case_state_rich"]
