"""Schema migrations of the portal store (Alembic, configured from code: no alembic.ini needed).

Alembic is imported inside the functions, not at the top: with Mako and Pygments it costs about 8 MiB of resident
memory, which a process that only syncs into a migrated store (an Airflow task, a benchmark scenario) would otherwise
carry for nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from mpp_bus.store.database import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    from alembic.config import Config  # only migrations need Alembic; see the module docstring

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(url_or_engine: str | URL | Engine, revision: str = "head") -> None:
    """Bring the store at ``url_or_engine`` up to ``revision`` (the newest by default)."""
    from alembic import command  # only migrations need Alembic; see the module docstring

    engine = url_or_engine if isinstance(url_or_engine, Engine) else make_engine(url_or_engine)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if engine is not url_or_engine:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # only migrations need Alembic; see the module docstring

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory  # only migrations need Alembic; see the module docstring

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
