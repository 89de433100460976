"""Alembic environment: migrations run on the connection twinline hands in (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from twinline.twin.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
