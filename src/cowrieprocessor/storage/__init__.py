"""Storage: the schema (SQLAlchemy models mirrored by Alembic migrations), engines and schema upgrades."""
