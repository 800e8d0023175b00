"""Circuit breaker state per agency, shared by every process that syncs (CLI runs and Airflow tasks).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agency_breakers",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("opened_at", TIME),
        sa.Column("last_error", sa.Text()),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("agency_id", name="pk_agency_breakers"),
    )


def downgrade() -> None:
    op.drop_table("agency_breakers")
