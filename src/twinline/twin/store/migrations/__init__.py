"""Alembic migrations of the line's database (applied by ``twinline db upgrade``)."""
