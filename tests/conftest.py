"""Shared fixtures: registry databases on SQLite and PostgreSQL.

- ``database_url``: an empty database, parametrized over ``sqlite`` (a file in ``tmp_path``)
  and ``postgresql`` (a fresh database on the server at ``RELITIGATE_TEST_POSTGRES_URL``,
  default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``, dropped afterwards).
- ``migrated_url``: the same, upgraded to the newest schema (copied from a template migrated
  once per test session, so it is cheap).
- ``session_factory``: a ``sessionmaker`` on ``migrated_url``; use ``with
  session_factory.begin() as session:`` for a unit of work.
- ``dump_registry``: ``dump_registry(url) -> dict`` of every table's rows, for asserting that
  a failed command changed nothing.

PostgreSQL unreachable: its tests fail when ``RELITIGATE_TEST_REQUIRE_POSTGRES=1`` (CI sets
it), else they are skipped with the reason.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from relitigate.prefect_env import apply_prefect_defaults

apply_prefect_defaults()  # before any test imports Prefect: a loaded CI box starts it slowly

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

_counter = itertools.count()
_run_tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _postgres_admin_url() -> str:
    return os.environ.get("RELITIGATE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _require_postgres() -> bool:
    return os.environ.get("RELITIGATE_TEST_REQUIRE_POSTGRES") == "1"


class _Postgres:
    """Creates and drops databases on the test server; migrates one template per session."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._error: str | None = None
        self._template: str | None = None
        self._checked = False

    def _admin(self) -> Any:
        if not self._checked:
            self._checked = True
            from sqlalchemy import create_engine, text

            try:
                engine = create_engine(
                    _postgres_admin_url(),
                    isolation_level="AUTOCOMMIT",
                    connect_args={"connect_timeout": 3},
                )
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                self._engine = engine
            except Exception as exc:
                self._error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        if self._engine is None:
            reason = f"PostgreSQL at {_postgres_admin_url()} is unreachable ({self._error})"
            if _require_postgres():
                pytest.fail(reason + " and RELITIGATE_TEST_REQUIRE_POSTGRES=1")
            pytest.skip(reason)
        return self._engine

    def url_for(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(_postgres_admin_url()).set(database=database).render_as_string(False)

    def create(self, *, migrated: bool) -> str:
        from sqlalchemy import text

        admin = self._admin()
        name = f"relitigate_test_{_run_tag}_{next(_counter)}"
        with admin.connect() as conn:
            if migrated:
                template = self._migrated_template()
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            else:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        return name

    def _migrated_template(self) -> str:
        if self._template is None:
            from sqlalchemy import text

            from registry.db import upgrade_to_head

            name = f"relitigate_tpl_{_run_tag}"
            with self._admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            upgrade_to_head(self.url_for(name))
            self._template = name
        return self._template

    def drop(self, name: str) -> None:
        from sqlalchemy import text

        with self._admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self._engine is not None:
            if self._template is not None:
                self.drop(self._template)
            self._engine.dispose()


_postgres = _Postgres()
_sqlite_template: Path | None = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the PostgreSQL template database."""
    _postgres.close()


def _migrated_sqlite_template(tmp_factory: pytest.TempPathFactory) -> Path:
    global _sqlite_template
    if _sqlite_template is None:
        from registry.db import upgrade_to_head

        path = tmp_factory.mktemp("sqlite-template") / "template.sqlite3"
        upgrade_to_head(f"sqlite:///{path}")
        _sqlite_template = path
    return _sqlite_template


@contextmanager
def make_database(
    dialect: str, directory: Path, tmp_factory: pytest.TempPathFactory, *, migrated: bool
) -> Iterator[str]:
    """A fresh database URL on ``dialect``; removed afterwards."""
    if dialect == "sqlite":
        path = directory / f"registry-{next(_counter)}.sqlite3"
        if migrated:
            shutil.copyfile(_migrated_sqlite_template(tmp_factory), path)
        yield f"sqlite:///{path}"
        return
    name = _postgres.create(migrated=migrated)
    try:
        yield _postgres.url_for(name)
    finally:
        _postgres.drop(name)


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture
def database_url(
    dialect: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty registry database (no tables) on SQLite or PostgreSQL."""
    with make_database(dialect, tmp_path, tmp_path_factory, migrated=False) as url:
        yield url


@pytest.fixture
def migrated_url(
    dialect: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A registry database at the newest schema, on SQLite or PostgreSQL."""
    with make_database(dialect, tmp_path, tmp_path_factory, migrated=True) as url:
        yield url


@pytest.fixture
def session_factory(migrated_url: str) -> Iterator[Any]:
    """A ``sessionmaker`` on :func:`migrated_url` (engine disposed afterwards)."""
    from registry.db import make_engine
    from registry.db import session_factory as make_factory

    engine = make_engine(migrated_url)
    try:
        yield make_factory(engine)
    finally:
        engine.dispose()


def dump_database(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every registry table's rows (sorted), for before/after comparisons."""
    from sqlalchemy import select

    from registry.db import make_engine
    from registry.models import Base

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            dump: dict[str, list[dict[str, Any]]] = {}
            for table in Base.metadata.sorted_tables:
                rows = [dict(r._mapping) for r in conn.execute(select(table))]
                dump[table.name] = sorted(rows, key=repr)
            return dump
    finally:
        engine.dispose()


@pytest.fixture
def dump_registry() -> Callable[[str], dict[str, list[dict[str, Any]]]]:
    """``dump_registry(url)``: every table's rows, sorted."""
    return dump_database
