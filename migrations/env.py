"""Alembic environment: migrations run synchronously, as the schema owner."""

from alembic import context
from sqlalchemy import create_engine, pool

import models
from core.config import get_settings

config = context.config
target_metadata = models.Base.metadata


def _url() -> str:
    return config.attributes.get("url") or get_settings().owner_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
