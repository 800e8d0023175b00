"""The portal store's tables (SQLAlchemy Core).

The migrations in ``migrations/versions`` create exactly these; a test compares the two so they cannot drift.
No table has a column for a clear NIK: applications keep ``nik_hash`` (HMAC hex, for look-ups) and ``nik_masked``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from mpp_bus.store.types import BigId, Json, UtcDateTime, key_text

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

agencies = Table(
    "agencies",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("level", String(20), nullable=False),
    Column("region_code", String(16)),
    Column("adapter", String(100)),
    Column("updated_at", UtcDateTime(), nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("agency_id", String(64), ForeignKey("agencies.id"), primary_key=True),
    Column("code", String(128), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(100), nullable=False),
    Column("requirements", Json, nullable=False),
    Column("output_document", String(300), nullable=False),
    Column("sla_working_days", Integer, nullable=False),
    Column("fee_idr", BigInteger, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("channels", Json, nullable=False),
    Column("locations", Json, nullable=False),
    Column("accepts_submissions", Boolean, nullable=False, server_default=false()),
    Column("form_schema", String(300)),
    Column("content_hash", String(64), nullable=False),
    Column("seen_generation", Integer, nullable=False),
    Column("withdrawn_at", UtcDateTime()),
    Column("source_updated_at", UtcDateTime()),
    Column("synced_at", UtcDateTime(), nullable=False),
)

# No foreign key to agencies: the engine registers an agency before it writes any of its applications, and a per-row
# key check cost the bulk path more than it protected (migration 0004).
applications = Table(
    "applications",
    metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("application_id", key_text(128), primary_key=True),
    Column("service_code", String(128), nullable=False),
    Column("nik_hash", key_text(64), nullable=False, index=True),
    Column("nik_masked", String(16), nullable=False),
    Column("status", String(20), nullable=False),
    Column("agency_status", String(64), nullable=False),
    Column("status_at", UtcDateTime(), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("sla_due_date", Date),
    Column("output_document", String(300)),
    Column("source_updated_at", UtcDateTime(), nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("synced_at", UtcDateTime(), nullable=False),
    Column("revision_note", String(1000)),  # migration 0012
)

# No foreign key to applications: history is written only by the engine, next to its application, and a per-row
# key check would cost the bulk path more than it protects. The idempotency key hashes the agency and application
# too, so one unique index on all three keeps it unique and also finds an application's history (the application id
# first: within one agency's sync it tells keys apart at once).
status_events = Table(
    "status_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("agency_id", String(64), nullable=False),
    Column("application_id", key_text(128), nullable=False),
    Column("status", String(20), nullable=False),
    Column("agency_status", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("idempotency_key", key_text(64), nullable=False),
    Column("applied", Boolean, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("application_id", "agency_id", "idempotency_key"),
)

sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("agency_id", String(64), ForeignKey("agencies.id"), primary_key=True),
    Column("stream", String(32), primary_key=True),
    Column("cursor", Json),
    # FULL streams: each complete read is one generation; ``full_read_open`` is true while a read is under way, so
    # an interrupted read resumes within its generation instead of starting over.
    Column("generation", Integer, nullable=False),
    Column("full_read_open", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("agency_id", String(64), ForeignKey("agencies.id"), nullable=False),
    Column("stream", String(32), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("read", Integer, nullable=False),
    Column("stored", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("stale", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("withdrawn", Integer, nullable=False),
    Column("duration_s", Float),
    Column("error", Text),
    Column("breaker_state", String(16)),
    Index(None, "agency_id", "stream", "status"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", BigId, ForeignKey("sync_runs.id"), nullable=False, index=True),
    Column("agency_id", String(64), nullable=False),
    Column("stream", String(32), nullable=False),
    Column("record_id", String(300)),
    Column("reason", Text, nullable=False),
    Column("payload", Json),
    Column("created_at", UtcDateTime(), nullable=False),
    # Open while NULL; then `stored` (the record stored later) or `superseded` (quarantined again, a newer row).
    Column("resolved_at", UtcDateTime()),
    Column("resolution", String(16)),
    Column("resolved_run_id", BigId),
    Index(None, "agency_id", "created_at"),
    Index(None, "agency_id", "stream", "record_id"),
)

sync_locks = Table(
    "sync_locks",
    metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("stream", String(32), primary_key=True),
    Column("owner_host", String(255), nullable=False),
    Column("owner_pid", Integer, nullable=False),
    Column("token", String(32), nullable=False),
    Column("acquired_at", UtcDateTime(), nullable=False),
)

# Read by the portal API: who read which personal data, when and why (never the clear NIK: its keyed hash).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("resource", String(300), nullable=False),
    Column("subject_nik_hash", String(64)),
    Column("purpose", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),
    Index(None, "action", "actor", "occurred_at"),
    Index(None, "action", "subject_nik_hash", "occurred_at"),
)

# The latest performance snapshot per agency and service (pelaporan kinerja), replaced by each refresh.
performance_reports = Table(
    "performance_reports",
    metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("service_code", String(128), primary_key=True),
    Column("agency_name", String(300), nullable=False),
    Column("service_name", String(300)),
    Column("applications", Integer, nullable=False),
    Column("finished", Integer, nullable=False),
    Column("finished_within_sla", Integer, nullable=False),
    Column("share_within_sla", Float),
    Column("median_processing_days", Float),
    Column("backlog", Integer, nullable=False),
    Column("overdue_backlog", Integer, nullable=False),
    Column("computed_at", UtcDateTime(), nullable=False),
)

# One row per agency: its circuit breaker, shared by every process that syncs it (CLI runs, Airflow tasks).
agency_breakers = Table(
    "agency_breakers",
    metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("opened_at", UtcDateTime()),
    Column("last_error", Text),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# The citizen pages' server-side sessions (and sign-ins under way), keyed by a hash of the cookie's random id: the
# table alone opens nothing. The NIK only as its keyed hash and masked form; `sealed` is encrypted with a key derived
# from the cookie's id, which the store never holds.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("subject", String(200)),
    Column("roles", Text),
    Column("nik_hash", String(64)),
    Column("nik_masked", String(32)),
    Column("sealed", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index(None, "expires_at"),
)

# The outbox: applications on their way to an agency (migration 0009). One row per submission, unique per citizen
# and client idempotency key, so a double click or a retried POST makes one. ``sealed`` holds the clear NIK and the
# form, AES-GCM encrypted with MPP_OUTBOX_KEY, and is set NULL once the submission is delivered, refused or dead.
submissions = Table(
    "submissions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("reference", key_text(40), nullable=False, unique=True),
    Column("agency_id", String(64), nullable=False),
    Column("service_code", String(128), nullable=False),
    Column("client_key", key_text(128), nullable=False),
    Column("nik_hash", key_text(64), nullable=False),
    Column("nik_masked", String(16), nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    # True while an attempt may have reached the agency (set with `sending`; cleared by a failure that proves the
    # agency did not take the request, such as a 429): a resend then de-duplicates first.
    Column("in_doubt", Boolean, nullable=False, server_default=false()),
    Column("next_attempt_at", UtcDateTime()),
    Column("last_attempt_at", UtcDateTime()),
    Column("application_id", String(128)),
    Column("agency_status", String(64)),
    Column("accepted_by_agency_at", UtcDateTime()),
    Column("refusal_reason", Text),
    Column("last_error", Text),
    Column("attachments", Json, nullable=False),
    Column("sealed", LargeBinary),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    UniqueConstraint("nik_hash", "client_key"),
    Index(None, "agency_id", "state", "next_attempt_at"),
)

# One row per agency and kind of alert (failure, staleness) while it is open: an admin is told once when it opens,
# not once per failed retry, and again only after it resolved and reopened.
agency_alerts = Table(
    "agency_alerts",
    metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("notified_at", UtcDateTime()),
    Column("resolved_at", UtcDateTime()),
    Column("message", Text),
)

# Attempt counters of the API's rate limits (identity look-ups, live reports): one row per limit, key and fixed
# window, incremented by one atomic upsert so that every API process sees the same count.
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("window_start", BigInteger, primary_key=True, autoincrement=False),
    Column("count", Integer, nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)

# Catalog search: words citizens use for a service that its own text does not contain (old names such as IMB for
# PBG, abbreviations, spelling variants). Rows are data, seeded by migration 0007; ``term`` is matched against the
# words of a query, ``synonym`` is searched as well.
search_synonyms = Table(
    "search_synonyms",
    metadata,
    Column("term", String(100), primary_key=True),
    Column("synonym", String(200), primary_key=True),
)

# On SQLite the catalog search reads an FTS5 table (trigram tokenizer) that triggers keep in step with ``services``
# (migration 0007). It is derived data, not a table of the model: schema comparisons and autogenerate skip it and
# the shadow tables FTS5 creates beside it.
SEARCH_INDEX = "services_search"


def is_derived(name: str | None) -> bool:
    """True for the search index objects migrations create beside the model: on SQLite the FTS5 table and its shadow
    tables, on PostgreSQL the trigram index (an operator class the model does not describe)."""
    return name is not None and (name == SEARCH_INDEX or name.startswith(SEARCH_INDEX + "_"))


TABLES = (agencies, services, applications, status_events, sync_cursors, sync_runs, quarantine, sync_locks,
          audit_log, performance_reports, agency_breakers, rate_counters, search_synonyms, agency_alerts,
          submissions, portal_sessions)

__all__ = [
    "SEARCH_INDEX",
    "TABLES",
    "agencies",
    "agency_alerts",
    "agency_breakers",
    "audit_log",
    "performance_reports",
    "portal_sessions",
    "applications",
    "metadata",
    "is_derived",
    "quarantine",
    "rate_counters",
    "search_synonyms",
    "services",
    "status_events",
    "submissions",
    "sync_cursors",
    "sync_locks",
    "sync_runs",
]
