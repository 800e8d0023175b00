"""The portal's audit log and the two report tables (performance per service, freshness per agency).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("subject_nik_hash", sa.String(64)),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_action_actor_occurred_at", "audit_log", ["action", "actor", "occurred_at"])
    op.create_index(
        "ix_audit_log_action_subject_nik_hash_occurred_at", "audit_log", ["action", "subject_nik_hash", "occurred_at"]
    )
    op.create_table(
        "performance_reports",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("service_code", sa.String(128), nullable=False),
        sa.Column("agency_name", sa.String(300), nullable=False),
        sa.Column("service_name", sa.String(300)),
        sa.Column("applications", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("finished_within_sla", sa.Integer(), nullable=False),
        sa.Column("share_within_sla", sa.Float()),
        sa.Column("median_processing_days", sa.Float()),
        sa.Column("backlog", sa.Integer(), nullable=False),
        sa.Column("overdue_backlog", sa.Integer(), nullable=False),
        sa.Column("computed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "service_code", name="pk_performance_reports"),
    )
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


def downgrade() -> None:
    op.drop_table("agency_reports")
    op.drop_table("performance_reports")
    op.drop_table("audit_log")
