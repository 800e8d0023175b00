"""Fewer index and key checks on the bulk write path of applications and their history.

- ``applications.agency_id`` loses its foreign key: the engine registers the agency before it writes any of its
  applications (``Store.register_agency`` at the start of every sync), and the per-row check cost every page more
  than it protected.
- ``status_events``: the unique idempotency key and the (agency, application) look-up index become one unique index
  on (application_id, agency_id, idempotency_key). The key is a hash that includes the agency and the application,
  so uniqueness is unchanged, and an application's history is still found through the index's leading columns.
- On PostgreSQL, application ids, NIK hashes and idempotency keys compare by bytes (collation "C"): they are only
  matched, and the locale's rules made every index insert several times slower. ``agency_id`` keeps the default
  collation, as it is joined with ``agencies`` and ``services``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The application id leads: it tells rows apart at once, where the agency id is the same for a whole sync.
EVENT_KEY = ["application_id", "agency_id", "idempotency_key"]
# (table, column, length) compared by bytes on PostgreSQL
BYTE_KEYS = [
    ("applications", "application_id", 128),
    ("applications", "nik_hash", 64),
    ("status_events", "application_id", 128),
    ("status_events", "idempotency_key", 64),
]


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, length in BYTE_KEYS:
        op.alter_column(table, column, type_=sa.String(length, collation=collation), existing_nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_constraint("fk_applications_agency_id_agencies", type_="foreignkey")
    op.drop_index("ix_status_events_agency_id_application_id", table_name="status_events")
    with op.batch_alter_table("status_events") as batch:
        batch.drop_constraint("uq_status_events_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_status_events_application_id_agency_id_idempotency_key", EVENT_KEY)
    _collate("C")


def downgrade() -> None:
    _collate(None)
    with op.batch_alter_table("status_events") as batch:
        batch.drop_constraint("uq_status_events_application_id_agency_id_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_status_events_idempotency_key", ["idempotency_key"])
    op.create_index("ix_status_events_agency_id_application_id", "status_events", ["agency_id", "application_id"])
    with op.batch_alter_table("applications") as batch:
        batch.create_foreign_key("fk_applications_agency_id_agencies", "agencies", ["agency_id"], ["id"])
