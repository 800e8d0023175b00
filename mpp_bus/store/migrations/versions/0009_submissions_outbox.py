"""The outbox of the write direction (``submissions``), and which catalog services accept electronic applications.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _key(length: int) -> sa.String:
    # with_variant is typed as returning the base TypeEngine; the value is the String it was called on.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")  # type: ignore[return-value]


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch copy): on SQLite a copied services table would lose its search triggers.
    op.add_column("services", sa.Column("accepts_submissions", sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    op.add_column("services", sa.Column("form_schema", sa.String(300)))
    op.create_table(
        "submissions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("reference", _key(40), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("service_code", sa.String(128), nullable=False),
        sa.Column("client_key", _key(128), nullable=False),
        sa.Column("nik_hash", _key(64), nullable=False),
        sa.Column("nik_masked", sa.String(16), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("in_doubt", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("next_attempt_at", TIME),
        sa.Column("last_attempt_at", TIME),
        sa.Column("application_id", sa.String(128)),
        sa.Column("agency_status", sa.String(64)),
        sa.Column("accepted_by_agency_at", TIME),
        sa.Column("refusal_reason", sa.Text()),
        sa.Column("last_error", sa.Text()),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("sealed", sa.LargeBinary()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("finished_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint("reference", name="uq_submissions_reference"),
        sa.UniqueConstraint("nik_hash", "client_key", name="uq_submissions_nik_hash_client_key"),
    )
    op.create_index("ix_submissions_agency_id_state_next_attempt_at", "submissions",
                    ["agency_id", "state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_submissions_agency_id_state_next_attempt_at", table_name="submissions")
    op.drop_table("submissions")
    op.drop_column("services", "form_schema")
    op.drop_column("services", "accepts_submissions")
