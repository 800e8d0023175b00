"""Drop ``agency_reports``: the report DAG appended freshness rows to it that nothing read. Freshness is computed live
from the runs (the admin health view, ``mpp-bus agencies``), and the report DAG now refreshes the performance
snapshot instead.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.drop_index("ix_agency_reports_agency_id", table_name="agency_reports")
    op.drop_index("ix_agency_reports_generated_at", table_name="agency_reports")
    op.drop_table("agency_reports")


def downgrade() -> None:
    # The table as 0002 made it, empty: its old rows are not recoverable, and nothing read them.
    op.create_table(
        "agency_reports",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("generated_at", TIME, nullable=False),
        sa.Column("run_label", sa.String(250), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("last_catalog_sync_at", TIME),
        sa.Column("last_applications_sync_at", TIME),
        sa.Column("last_run_status", sa.String(16)),
        sa.Column("freshness_s", sa.Float()),
        sa.Column("expected_interval_s", sa.Float()),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("open_applications", sa.Integer(), nullable=False),
        sa.Column("overdue_applications", sa.Integer(), nullable=False),
        sa.Column("finished_30d", sa.Integer(), nullable=False),
        sa.Column("finished_within_sla_30d", sa.Integer(), nullable=False),
        sa.Column("sla_compliance", sa.Float()),
        sa.Column("failed_runs_24h", sa.Integer(), nullable=False),
        sa.Column("quarantined_24h", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agency_reports"),
    )
    op.create_index("ix_agency_reports_generated_at", "agency_reports", ["generated_at"])
    op.create_index("ix_agency_reports_agency_id", "agency_reports", ["agency_id"])
