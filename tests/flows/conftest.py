"""Fixtures for the distributed test: PostgreSQL databases and a real Prefect server on them.

- ``postgres_db``: ``postgres_db(tag) -> psycopg URL`` of a fresh, empty database on the test
  PostgreSQL server, dropped at the end of the test (fails in CI when PostgreSQL is
  unreachable; see ``tests/conftest.py``).
- ``prefect_pg_server``: ``prefect server start`` on 127.0.0.1 (a free port), with its own
  ``PREFECT_HOME`` and its own PostgreSQL database; stopped and dropped afterwards.
- ``harness``: Prefect's test harness (a temporary API server), once per test module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def postgres_db() -> Iterator[Callable[[], str]]:
    """A factory of fresh empty PostgreSQL databases (psycopg URLs), all dropped afterwards."""
    from tests.conftest import _postgres

    names: list[str] = []

    def create() -> str:
        name = _postgres.create(migrated=False)
        names.append(name)
        return _postgres.url_for(name)

    try:
        yield create
    finally:
        for name in reversed(names):
            _postgres.drop(name)


def asyncpg_url(url: str) -> str:
    """The same database for Prefect's server (``postgresql+asyncpg``)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(False)


@pytest.fixture
def prefect_pg_server(postgres_db: Callable[[], str], tmp_path: Path) -> Iterator[object]:
    """A Prefect server on 127.0.0.1 backed by its own PostgreSQL database."""
    from relitigate.prefect_server import LocalPrefectServer, free_port

    server = LocalPrefectServer(
        home=tmp_path / "prefect-server",
        port=free_port(),
        database_url=asyncpg_url(postgres_db()),
        extra_env={"PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"},
    )
    try:
        server.start(timeout_s=180)
        yield server
    finally:
        server.stop()  # before the database is dropped (postgres_db tears down later)


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    from prefect.settings import PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # a generous start-up timeout: a busy CI machine can take longer than the default 30 s
    with (
        temporary_settings({PREFECT_SERVER_ANALYTICS_ENABLED: False}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield
