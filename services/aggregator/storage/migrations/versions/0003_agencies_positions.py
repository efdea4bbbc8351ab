"""contract 1.1 and the log of record: agencies, procedures, applied positions, conflicts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00.000000

- `case_event` gains `agency`, `procedure_code` (copied from the stored payloads) and
  `digest` (NULL for events stored before: their content is compared by payload).
- `case_state` gains `agency` and `procedure_code`; a database with events is marked
  `rebuild_required`, and the aggregator refolds every case at its next start
  (`tthc rebuild` does the same by hand).
- `ix_case_state_plain` is rebuilt with the grouping columns of contract 1.1.
- New tables: `applied_position`, `conflicting_event`, `set_aside`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OLD_PLAIN = ['commune_code', 'channel', 'end_kind', 'lateness', 'field', 'received_at',
             'ended_at', 'overdue_at', 'summary']
NEW_PLAIN = ['commune_code', 'agency', 'field', 'channel', 'end_kind', 'lateness',
             'received_at', 'ended_at', 'overdue_at', 'procedure_code', 'summary']


def _plain_index(batch_op, columns) -> None:
    batch_op.create_index(
        'ix_case_state_plain',
        columns,
        unique=False,
        sqlite_where=sa.text('summary IS NULL'),
        postgresql_where=sa.text('summary IS NULL'),
    )


def upgrade() -> None:
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('procedure_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('digest', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "UPDATE case_event SET agency = left(payload::json->>'agency', 32), "
            "procedure_code = left(payload::json->>'procedure_code', 64)"
        )
    else:
        op.execute(
            "UPDATE case_event SET agency = substr(json_extract(payload, '$.agency'), 1, 32), "
            "procedure_code = substr(json_extract(payload, '$.procedure_code'), 1, 64)"
        )
    with op.batch_alter_table('case_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('procedure_code', sa.String(length=64), nullable=True))
        batch_op.drop_index('ix_case_state_plain')
    with op.batch_alter_table('case_state', schema=None) as batch_op:
        _plain_index(batch_op, NEW_PLAIN)
    op.execute(
        "INSERT INTO aggregator_meta (key, value) SELECT 'rebuild_required', 1 "
        "WHERE EXISTS (SELECT 1 FROM case_event)"
    )
    op.create_table('applied_position',
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('incarnation', sa.String(length=64), nullable=False),
    sa.Column('applied', sa.Text(), nullable=False),
    sa.Column('lost', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('stream')
    )
    op.create_table('conflicting_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.BigInteger(), nullable=False),
    sa.Column('agency', sa.String(length=32), nullable=True),
    sa.Column('digest', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('events_seq', sa.BigInteger(), nullable=True),
    sa.Column('stored_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conflicting_event', schema=None) as batch_op:
        batch_op.create_index('ix_conflicting_event_case', ['commune_code', 'occurred_at'], unique=False)
    op.create_table('set_aside',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('accepted_seq', sa.BigInteger(), nullable=True),
    sa.Column('events_seq', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('stored_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('set_aside')
    with op.batch_alter_table('conflicting_event', schema=None) as batch_op:
        batch_op.drop_index('ix_conflicting_event_case')
    op.drop_table('conflicting_event')
    op.drop_table('applied_position')
    op.execute("DELETE FROM aggregator_meta WHERE key = 'rebuild_required'")
    with op.batch_alter_table('case_state', schema=None) as batch_op:
        batch_op.drop_index('ix_case_state_plain')
    with op.batch_alter_table('case_state', schema=None) as batch_op:
        batch_op.drop_column('procedure_code')
        batch_op.drop_column('agency')
        _plain_index(batch_op, OLD_PLAIN)
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_column('digest')
        batch_op.drop_column('procedure_code')
        batch_op.drop_column('agency')
