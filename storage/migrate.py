"""Running Alembic from code, with the same database URL the bot uses."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(str(files("liaison.migrations")))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revisions() -> set[str]:
    """The revisions the code expects the database to be at."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config("")).get_heads())


def current_revisions_sync(connection: Connection) -> set[str]:
    """The revisions the database is at (empty when it was never migrated)."""
    from alembic.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())
