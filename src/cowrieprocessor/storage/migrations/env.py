"""Alembic environment: always runs on a connection handed over by ``cowrieprocessor.storage.schema``."""

from __future__ import annotations

from alembic import context

from cowrieprocessor.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `cowrieprocessor db upgrade`, which provides the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
