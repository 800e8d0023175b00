"""Quarantine as a workflow: a row is open until its record stores (``resolution`` ``stored``) or a later copy of
the record is quarantined again (``superseded``), so the open rows are exactly the records that still need a fix.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("resolved_at", TIME))
        batch.add_column(sa.Column("resolution", sa.String(16)))
        batch.add_column(sa.Column("resolved_run_id", BIG_ID))
    # The engine resolves rows by (agency, stream, record id) after each page it stores.
    op.create_index("ix_quarantine_agency_id_stream_record_id", "quarantine", ["agency_id", "stream", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_agency_id_stream_record_id", table_name="quarantine")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("resolved_run_id")
        batch.drop_column("resolution")
        batch.drop_column("resolved_at")
