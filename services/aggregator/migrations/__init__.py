"""Alembic migrations of the aggregator's database (run by `db.migrate()` at start-up)."""
