"""``applications.revision_note``: what the citizen must fix, in the agency's words (redacted), when it says.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: adding it rewrites no row on either database.
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("revision_note", sa.String(1000)))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("revision_note")
