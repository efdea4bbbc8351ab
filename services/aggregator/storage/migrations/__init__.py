"""Alembic migrations of the aggregator's database (`storage.engine.migrate()` at start)."""
