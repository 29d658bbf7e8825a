"""Alembic environment: the engine comes from the caller (``database.migrate``) or from
``CITYGRID_DATABASE_URL`` when run as ``alembic -x`` by hand."""
from alembic import context

from datasource.store.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - manual alembic runs
    from dashboard.settings import Settings
    from datasource.store.database import make_engine
    engine = make_engine(Settings.from_env().effective_database_url)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
