"""The initial portal store: agencies, catalog, applications and their history, sync state.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(16)),
        sa.Column("adapter", sa.String(100)),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agencies"),
    )
    op.create_table(
        "services",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(128), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("requirements", JSON, nullable=False),
        sa.Column("output_document", sa.String(300), nullable=False),
        sa.Column("sla_working_days", sa.Integer(), nullable=False),
        sa.Column("fee_idr", sa.BigInteger(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("locations", JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("seen_generation", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", TIME),
        sa.Column("source_updated_at", TIME),
        sa.Column("synced_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name="fk_services_agency_id_agencies"),
        sa.PrimaryKeyConstraint("agency_id", "code", name="pk_services"),
    )
    op.create_table(
        "applications",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("application_id", sa.String(128), nullable=False),
        sa.Column("service_code", sa.String(128), nullable=False),
        sa.Column("nik_hash", sa.String(64), nullable=False),
        sa.Column("nik_masked", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("agency_status", sa.String(64), nullable=False),
        sa.Column("status_at", TIME, nullable=False),
        sa.Column("submitted_at", TIME, nullable=False),
        sa.Column("sla_due_date", sa.Date()),
        sa.Column("output_document", sa.String(300)),
        sa.Column("source_updated_at", TIME, nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("synced_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name="fk_applications_agency_id_agencies"),
        sa.PrimaryKeyConstraint("agency_id", "application_id", name="pk_applications"),
    )
    op.create_index("ix_applications_nik_hash", "applications", ["nik_hash"])
    op.create_table(
        "status_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("application_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("agency_status", sa.String(64), nullable=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_status_events"),
        sa.UniqueConstraint("idempotency_key", name="uq_status_events_idempotency_key"),
    )
    op.create_index("ix_status_events_agency_id_application_id", "status_events", ["agency_id", "application_id"])
    op.create_table(
        "sync_cursors",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(32), nullable=False),
        sa.Column("cursor", JSON),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("full_read_open", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name="fk_sync_cursors_agency_id_agencies"),
        sa.PrimaryKeyConstraint("agency_id", "stream", name="pk_sync_cursors"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float()),
        sa.Column("error", sa.Text()),
        sa.Column("breaker_state", sa.String(16)),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name="fk_sync_runs_agency_id_agencies"),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_agency_id_stream_status", "sync_runs", ["agency_id", "stream", "status"])
    op.create_table(
        "quarantine",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(300)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", JSON),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"], name="fk_quarantine_run_id_sync_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_index("ix_quarantine_run_id", "quarantine", ["run_id"])
    op.create_index("ix_quarantine_agency_id_created_at", "quarantine", ["agency_id", "created_at"])
    op.create_table(
        "sync_locks",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(32), nullable=False),
        sa.Column("owner_host", sa.String(255), nullable=False),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("acquired_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "stream", name="pk_sync_locks"),
    )


def downgrade() -> None:
    for name in (
        "sync_locks",
        "quarantine",
        "sync_runs",
        "sync_cursors",
        "status_events",
        "applications",
        "services",
        "agencies",
    ):
        op.drop_table(name)
