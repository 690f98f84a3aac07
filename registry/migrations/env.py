"""Alembic environment for the registry.

The database URL comes from ``config.attributes["url"]`` (set by ``registry.db``), else from
``sqlalchemy.url`` in the ini, else from relitigate's settings (``RELITIGATE_DATABASE_URL`` or
the embedded SQLite registry): the ``alembic`` command line is an entry point like the CLI.
``config.attributes["connection"]`` may hand in an open connection instead.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import URL, Connection

from registry.db import ensure_sqlite_dir, make_engine
from registry.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _url() -> str | URL:
    url: str | URL | None = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from relitigate.settings import load_settings

        url = load_settings().resolved_database_url()
    return url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import the models: render our type decorator as its plain impl.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = _url()
    ensure_sqlite_dir(url)
    # Foreign keys off on SQLite: batch migrations copy and drop referenced tables.
    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
