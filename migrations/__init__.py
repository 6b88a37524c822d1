"""Alembic migrations of the Descent database (a package so an installed Descent can find them)."""
