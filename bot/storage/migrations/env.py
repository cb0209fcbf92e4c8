"""Alembic environment: uses the engine handed over by bot.storage.migrate."""

from __future__ import annotations

from alembic import context

from bot.storage.models import Base

target_metadata = Base.metadata
engine = context.config.attributes.get("engine")
if engine is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    from bot.config import load_settings
    from bot.storage.db import create_database_engine

    engine = create_database_engine(load_settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
