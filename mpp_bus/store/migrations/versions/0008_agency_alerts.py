"""``agency_alerts``: which alerts (failure, staleness) are open per agency, so each is sent once, not per retry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agency_alerts",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("notified_at", TIME),
        sa.Column("resolved_at", TIME),
        sa.Column("message", sa.Text()),
        sa.PrimaryKeyConstraint("agency_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("agency_alerts")
