"""Alembic migrations of the operational database (run by ariane.ops.db.upgrade)."""
