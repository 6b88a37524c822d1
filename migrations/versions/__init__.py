"""Migration scripts (Alembic revisions)."""
