"""the other cases' indexes: by ended span without anomalies, and the anomalous apart

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 14:00:00.000000

`ix_case_state_rich` (`commune_code, received_at` over every case with a story) becomes
`commune_code, <ended span>, received_at` over those without anomalies, so that a
window reads them from its start's span on, as 0004 made it read the plain ones; the
cases with anomalies, which every window reads whatever their instants, get
`ix_case_state_anomalous` (`commune_code`). Only indexes change (no rows, no rebuild);
both together cover about 5% of the case rows. The ended span's expression is copied
here as it was at this revision (0004).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ENDED_SPAN = "((coalesce(ended_at, 4611686018427387904) + 1558800000000) / 31557600000000)"
RICH_WHERE = "summary IS NOT NULL AND anomaly_count = 0"


def upgrade() -> None:
    op.drop_index("ix_case_state_rich", table_name="case_state")
    op.create_index(
        "ix_case_state_rich",
        "case_state",
        ["commune_code", sa.text(ENDED_SPAN), "received_at"],
        unique=False,
        sqlite_where=sa.text(RICH_WHERE),
        postgresql_where=sa.text(RICH_WHERE),
    )
    op.create_index(
        "ix_case_state_anomalous",
        "case_state",
        ["commune_code"],
        unique=False,
        sqlite_where=sa.text("anomaly_count > 0"),
        postgresql_where=sa.text("anomaly_count > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_state_anomalous", table_name="case_state")
    op.drop_index("ix_case_state_rich", table_name="case_state")
    op.create_index(
        "ix_case_state_rich",
        "case_state",
        ["commune_code", "received_at"],
        unique=False,
        sqlite_where=sa.text("summary IS NOT NULL"),
        postgresql_where=sa.text("summary IS NOT NULL"),
    )
