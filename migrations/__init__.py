"""Alembic revisions; run through `liaison db upgrade`."""
