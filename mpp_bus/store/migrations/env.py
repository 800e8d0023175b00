"""Alembic environment of the portal store, configured from code (see ``mpp_bus.store.migrate``)."""

from __future__ import annotations

from alembic import context

from mpp_bus.store.tables import is_derived, metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the store's migrations through mpp_bus.store.migrate.upgrade(url)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite",
                  include_name=lambda name, _kind, _parent: not is_derived(name))
with context.begin_transaction():
    context.run_migrations()
