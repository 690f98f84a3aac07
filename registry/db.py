"""Engines, sessions and migrations for the registry.

SQLite (the embedded default) runs in WAL mode with foreign keys on, a busy timeout, and every
transaction opened with ``BEGIN IMMEDIATE``: concurrent writers then queue on the busy timeout
instead of failing with "database is locked" on a read-then-write upgrade. PostgreSQL goes
through psycopg 3.

Callers own the unit of work::

    engine = make_engine(url)
    factory = session_factory(engine)
    with factory.begin() as session:
        ...  # repository functions; commit on success, rollback on any exception
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from registry.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SCHEMA_REVISION = "0009"
"""The newest migration shipped with this package (a test checks it against Alembic's head).
Kept as a constant so that opening the registry does not have to import Alembic."""
SQLITE_BUSY_TIMEOUT_S = 30.0


def _url(url: str | URL) -> URL:
    try:
        return make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError for garbage
        raise DatabaseError(f"invalid database URL {str(url)!r}: {exc}") from exc


def is_sqlite(url: str | URL) -> bool:
    """Whether ``url`` names a SQLite database."""
    return _url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def ensure_sqlite_dir(url: str | URL) -> None:
    """Create the directory of a SQLite database file, if the URL names one."""
    path = _sqlite_file(_url(url))
    if path is not None:
        path.expanduser().parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str | URL, *, foreign_keys: bool = True, echo: bool = False) -> Engine:
    """Build an engine for the registry at ``url``.

    Args:
        url: SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://...``. A plain
            ``postgresql://`` URL is given the psycopg 3 driver.
        foreign_keys: SQLite only: enforce foreign keys (off only for batch migrations).
        echo: log SQL.

    Returns:
        The engine. Nothing is connected yet.
    """
    parsed = _url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, echo=echo, pool_pre_ping=True)

    ensure_sqlite_dir(parsed)
    file_backed = _sqlite_file(parsed) is not None
    engine = create_engine(parsed, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event (below) own transaction starts.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            if file_backed:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def dialect_insert(session: Session) -> Any:
    """The ``insert`` of the session's dialect (PostgreSQL's or SQLite's), whose statements
    have ``on_conflict_do_nothing`` / ``on_conflict_do_update`` with the same call shape."""
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def _alembic_config(url: str | URL) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = _url(url)
    return config


def upgrade_to_head(url: str | URL) -> None:
    """Create the registry at ``url`` or bring it up to the newest schema."""
    upgrade_to(url, "head")


def upgrade_to(url: str | URL, revision: str) -> None:
    """Create the registry at ``url`` or migrate it up to ``revision`` (an older schema is
    what a registry left by an older relitigate looks like)."""
    from alembic import command

    ensure_sqlite_dir(url)
    command.upgrade(_alembic_config(url), revision)


def downgrade_to_base(url: str | URL) -> None:
    """Drop every registry table at ``url`` (the Alembic base revision)."""
    from alembic import command

    command.downgrade(_alembic_config(url), "base")


def current_revision(url: str | URL) -> str | None:
    """The Alembic revision the database at ``url`` is at, or None if it is not initialised."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def schema_revision(engine: Engine) -> str | None:
    """The revision recorded in the database behind ``engine``, without importing Alembic."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def display_url(url: str | URL) -> str:
    """``url`` with its password hidden, for messages."""
    return _url(url).render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    """The first line of the driver's own message (SQLAlchemy's wrapper adds a code link)."""
    inner = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    return lines[0] if lines else type(inner).__name__


def open_registry(url: str | URL) -> sessionmaker[Session]:
    """A session factory on the registry at ``url``, checked to be at :data:`SCHEMA_REVISION`.

    The check costs one connection and one small query; callers that open the registry
    repeatedly keep the factory (an entry point opens it once: ``tasks.context``).

    Raises:
        DatabaseError: unreachable, not initialised, or at another schema revision.
    """
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    shown = display_url(url)
    engine = make_engine(url)
    try:
        revision = schema_revision(engine)
    except DBAPIError as exc:
        engine.dispose()
        if exc.connection_invalidated or _is_connect_error(exc):
            raise DatabaseError(
                f"cannot reach the registry at {shown}: {_reason(exc)}; check "
                "RELITIGATE_DATABASE_URL and that the database server is running"
            ) from exc
        raise DatabaseError(f"cannot open the registry at {shown}: {_reason(exc)}") from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseError(f"cannot open the registry at {shown}: {_reason(exc)}") from exc
    if revision != SCHEMA_REVISION:
        engine.dispose()
        if revision is None:
            raise DatabaseError(
                f"the registry at {shown} is not initialised: run `relitigate init`"
            )
        raise DatabaseError(
            f"the registry at {shown} is at schema {revision}, this relitigate needs "
            f"{SCHEMA_REVISION}: run `relitigate init` to upgrade it"
        )
    return session_factory(engine)


def _is_connect_error(exc: BaseException) -> bool:
    """Whether a DBAPI error happened while connecting (server down, refused, bad host,
    authentication), as opposed to a failing statement."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if getattr(exc, "statement", None) is None:
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(
        phrase in text
        for phrase in ("connection", "could not connect", "unable to open database", "timeout")
    )


def head_revision() -> str | None:
    """The newest migration revision shipped with this package."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
