"""Alembic environment: run on the connection that ariane.ops.db.upgrade passes in."""

from alembic import context

from ariane.ops.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through ariane.ops.db.upgrade, which passes a connection")

# render_as_batch: SQLite alters a table by copying it, which Alembic does in batch mode.
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
