#!/usr/bin/env bash
# The test suite: unit, integration (real nats-server on free ports, SQLite and
# PostgreSQL) and end to end.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test-tools
.venv/bin/ruff check --quiet .
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest "$@"
