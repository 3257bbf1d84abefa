"""Alembic migrations for mailbot's schema; run by store.database.migrate()."""
