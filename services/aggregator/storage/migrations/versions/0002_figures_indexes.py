"""figures read side: partial indexes on case_state for plain and rich cases

They replace ix_case_state_received and ix_case_state_ended (dropped): every figures
query reads the new ones, and each index is paid for on every case row written.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 03:20:00.000000

`ix_case_state_plain` covers the plain cases (`summary IS NULL`) in the order the
figures count them by group; `ix_case_state_rich` finds the others. On a large existing
table this builds both indexes once, blocking writes meanwhile (7.5 million case rows:
about 24 s on SQLite, 47 s on PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

PLAIN_COLUMNS = [
    'commune_code',
    'channel',
    'end_kind',
    'lateness',
    'field',
    'received_at',
    'ended_at',
    'overdue_at',
    'summary',  # always NULL in this index: makes it covering for SQLite before 3.42
]


def upgrade() -> None:
    with op.batch_alter_table('case_state', schema=None) as batch_op:
        # Replaced by the two below for every figures query; each index costs writes.
        batch_op.drop_index('ix_case_state_received')
        batch_op.drop_index('ix_case_state_ended')
        batch_op.create_index(
            'ix_case_state_plain',
            PLAIN_COLUMNS,
            unique=False,
            sqlite_where=sa.text('summary IS NULL'),
            postgresql_where=sa.text('summary IS NULL'),
        )
        batch_op.create_index(
            'ix_case_state_rich',
            ['commune_code', 'received_at'],
            unique=False,
            sqlite_where=sa.text('summary IS NOT NULL'),
            postgresql_where=sa.text('summary IS NOT NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('case_state', schema=None) as batch_op:
        batch_op.drop_index('ix_case_state_rich')
        batch_op.drop_index('ix_case_state_plain')
        batch_op.create_index('ix_case_state_ended', ['commune_code', 'ended_at'], unique=False)
        batch_op.create_index('ix_case_state_received', ['commune_code', 'received_at'], unique=False)
