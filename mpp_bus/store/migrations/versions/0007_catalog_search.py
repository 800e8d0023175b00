"""Catalog search that ranks and tolerates word order, typos and old names.

- ``search_synonyms``: words citizens use that a service's own text lacks (IMB for PBG, SIUP and TDP for NIB,
  "praktek" for "praktik", SIA for an apotek licence), seeded here.
- PostgreSQL: the ``pg_trgm`` extension (trigram similarity, ``word_similarity``) and a trigram index on the
  searched text of services.
- SQLite: an FTS5 table with the trigram tokenizer (``services_search``) that triggers keep in step with
  ``services`` and with agency names, filled from the services already stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (term, synonym): both lower case. A term may be several words; the search looks its synonyms up by every run of
# one to three words of the query. Pairs that are the same thing under two spellings are listed both ways.
SYNONYMS: list[tuple[str, str]] = [
    # Old names of building permits (PP 16/2021 replaced IMB with PBG).
    ("imb", "pbg"),
    ("imb", "persetujuan bangunan gedung"),
    ("izin mendirikan bangunan", "persetujuan bangunan gedung"),
    ("izin bangunan", "persetujuan bangunan gedung"),
    ("perizinan bangunan", "persetujuan bangunan gedung"),
    ("sertifikat laik", "slf"),
    # Business licences replaced by the NIB under OSS (PP 24/2018, PP 5/2021).
    ("siup", "nib"),
    ("siup", "nomor induk berusaha"),
    ("tdp", "nib"),
    ("tdp", "nomor induk berusaha"),
    ("situ", "izin usaha"),
    ("izin gangguan", "izin usaha"),
    ("izin usaha", "nib"),
    # Spelling variants.
    ("praktek", "praktik"),
    ("praktik", "praktek"),
    ("ijin", "izin"),
    ("izin", "ijin"),
    ("apotik", "apotek"),
    ("akte", "akta"),
    ("e-ktp", "ktp-el"),
    ("ektp", "ktp-el"),
    ("ktp", "ktp-el"),
    # Pharmacies: the licence is called SIA (Surat Izin Apotek).
    ("sia", "apotek"),
    ("izin apotek", "apotek"),
    ("farmasi", "apotek"),
    ("apoteker", "apotek"),
    # Everyday words for a service's formal name.
    ("kartu keluarga", "kk"),
    ("kk", "kartu keluarga"),
    ("kia", "kartu identitas anak"),
    ("akta lahir", "akta kelahiran"),
    ("akta mati", "akta kematian"),
    ("pindah domisili", "pindah datang"),
    ("pindah rumah", "pindah datang"),
    ("npwp", "nomor pokok wajib pajak"),
    ("pajak", "wajib pajak"),
    ("iklan", "reklame"),
    ("baliho", "reklame"),
    ("wisata", "pariwisata"),
    ("dokter", "sip dokter"),
    ("bidan", "sip bidan"),
    ("umkm", "usaha mikro kecil"),
    ("tata ruang", "kkpr"),
    ("amdal", "persetujuan lingkungan"),
    ("ukl upl", "persetujuan lingkungan"),
]

# The text a citizen's words are matched against: the service's name, then everything else about it.
_BODY = "{s}.description || ' ' || {s}.category || ' ' || {s}.code || ' ' || coalesce({a}, '')"

_SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER services_search_ai AFTER INSERT ON services BEGIN
        INSERT INTO services_search (agency_id, code, name, body)
        VALUES (new.agency_id, new.code, new.name,
                {body});
    END
    """,
    """
    CREATE TRIGGER services_search_au AFTER UPDATE OF name, description, category, code, agency_id ON services
    BEGIN
        DELETE FROM services_search WHERE agency_id = old.agency_id AND code = old.code;
        INSERT INTO services_search (agency_id, code, name, body)
        VALUES (new.agency_id, new.code, new.name,
                {body});
    END
    """,
    """
    CREATE TRIGGER services_search_ad AFTER DELETE ON services BEGIN
        DELETE FROM services_search WHERE agency_id = old.agency_id AND code = old.code;
    END
    """,
    """
    CREATE TRIGGER services_search_agency AFTER UPDATE OF name ON agencies BEGIN
        DELETE FROM services_search WHERE agency_id = new.id;
        INSERT INTO services_search (agency_id, code, name, body)
        SELECT s.agency_id, s.code, s.name, {agency_body} FROM services AS s WHERE s.agency_id = new.id;
    END
    """,
]


def upgrade() -> None:
    synonyms = op.create_table(
        "search_synonyms",
        sa.Column("term", sa.String(100), nullable=False),
        sa.Column("synonym", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("term", "synonym", name="pk_search_synonyms"),
    )
    op.bulk_insert(synonyms, [{"term": t, "synonym": s} for t, s in SYNONYMS])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgres_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()


def _postgres_upgrade() -> None:
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        raise RuntimeError(
            "migration 0007: the PostgreSQL extension pg_trgm could not be created, and the catalog search needs it. "
            "Install PostgreSQL's contrib package on the database server and have a superuser (or the database "
            "owner, pg_trgm being a trusted extension) run `CREATE EXTENSION pg_trgm;` in this database, then run "
            f"`mpp-bus db upgrade` again. The server said: {str(exc.orig).strip()[:300]}"
        ) from exc
    # Lets `word <% name` use an index once catalogs grow beyond a sequential scan's comfort.
    op.execute("CREATE INDEX services_search_name_trgm ON services USING gin (lower(name) gin_trgm_ops)")


def _sqlite_upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE services_search USING fts5("
        "agency_id UNINDEXED, code UNINDEXED, name, body, tokenize = 'trigram')"
    )
    agency_name = "(SELECT a.name FROM agencies AS a WHERE a.id = {s}.agency_id)"
    for trigger in _SQLITE_TRIGGERS:
        op.execute(trigger.format(
            body=_BODY.format(s="new", a=agency_name.format(s="new")),
            agency_body=_BODY.format(s="s", a="new.name"),
        ))
    op.execute(
        "INSERT INTO services_search (agency_id, code, name, body) "
        f"SELECT s.agency_id, s.code, s.name, {_BODY.format(s='s', a='a.name')} "
        "FROM services AS s LEFT JOIN agencies AS a ON a.id = s.agency_id"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS services_search_name_trgm")
        # pg_trgm stays: other objects of the database may have come to use it.
    elif dialect == "sqlite":
        for name in ("services_search_ai", "services_search_au", "services_search_ad", "services_search_agency"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS services_search")
    op.drop_table("search_synonyms")
