"""Fixtures for notice tests: the loopback Slack server, a client on it, a canary token,
and the registry outbox on SQLite and PostgreSQL (the shared ``session_factory`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from tests.notify.samples import payload
from tests.notify.slack_server import SlackServer

CANARY_TOKEN = "xo" + "xb-CANARY-7f3a91d2-never-log-me"  # a canary, not a real token
"""A fake bot token; tests assert it never leaks anywhere."""

if not (Path(__file__).resolve().parents[1] / "conftest.py").exists():
    # Stand-ins until the shared registry fixtures land in tests/conftest.py.
    import os
    import uuid

    @pytest.fixture(params=["sqlite", "postgresql"])
    def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
        if request.param == "sqlite":
            yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
            return
        import psycopg

        admin = os.environ.get(
            "RELITIGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
        admin = admin.replace("postgresql+psycopg://", "postgresql://")
        name = f"notify_{uuid.uuid4().hex[:12]}"
        try:
            conn = psycopg.connect(admin, autocommit=True)
        except psycopg.OperationalError as exc:
            if os.environ.get("RELITIGATE_TEST_REQUIRE_POSTGRES"):
                raise
            pytest.skip(f"PostgreSQL unavailable: {exc}")
        conn.execute(f'CREATE DATABASE "{name}"')
        base = admin.rsplit("/", 1)[0]
        yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    @pytest.fixture
    def migrated_url(database_url: str) -> str:
        from registry.db import upgrade_to_head

        upgrade_to_head(database_url)
        return database_url

    @pytest.fixture
    def session_factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
        from registry.db import make_engine
        from registry.db import session_factory as make_factory

        engine = make_engine(migrated_url)
        yield make_factory(engine)
        engine.dispose()


@pytest.fixture
def canary() -> str:
    """The canary token text."""
    return CANARY_TOKEN


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    """A loopback Slack with an owner (ana), a workload channel and the platform channel."""
    with SlackServer(CANARY_TOKEN) as server:
        server.add_user("ana@example.com", "U0ANA")
        server.add_user("bo@example.com", "U0BO")
        server.add_channel("C0TRIAGE", name="triage")
        server.add_channel("C0PLATFORM", name="ml-platform")
        yield server


@pytest.fixture
def client_for() -> Callable[..., Any]:
    """Build a SlackClient on a base URL with fast retries."""
    from tasks.notify.slack import SlackClient

    def build(base_url: str, token: str = CANARY_TOKEN, **kwargs: Any) -> SlackClient:
        kwargs.setdefault("retry_interval", 0.01)
        kwargs.setdefault("timeout", 5)
        return SlackClient(SecretStr(token), base_url=base_url, **kwargs)

    return build


@pytest.fixture
def client(slack: SlackServer, client_for: Callable[..., Any]) -> Any:
    """A SlackClient pointed at the loopback server."""
    return client_for(slack.base_url)


@pytest.fixture
def outbox(session_factory: sessionmaker[Session]) -> Any:
    """The registry outbox on a fresh database."""
    from registry.outbox import NoticeOutbox

    return NoticeOutbox(session_factory)


@pytest.fixture
def add_workload(session_factory: sessionmaker[Session]) -> Callable[..., int]:
    """Insert a workload; returns its id."""
    from registry.models import Case, Workload

    def add(
        name: str = "ticket-triage",
        *,
        owner_email: str | None = "ana@example.com",
        owner_slack_user: str | None = None,
        slack_channel: str | None = "C0TRIAGE",
    ) -> int:
        with session_factory.begin() as session:
            workload = Workload(
                name=name,
                case=Case.COST_DISTILLATION,
                volume_per_day=12_000_000,
                owner_email=owner_email,
                owner_slack_user=owner_slack_user,
                slack_channel=slack_channel,
            )
            session.add(workload)
            session.flush()
            return workload.id

    return add


@pytest.fixture
def enqueue(session_factory: sessionmaker[Session]) -> Callable[..., int]:
    """Enqueue a notice with the sample payload; returns its id."""
    from registry.notices import enqueue_notice

    def add(
        workload_id: int | None,
        quarter: str = "2026Q4",
        kind: str = "retire",
        *,
        destination: str | None = None,
        **changes: Any,
    ) -> int:
        with session_factory.begin() as session:
            notice = enqueue_notice(
                session,
                decision_id=None,
                workload_id=workload_id,
                quarter=quarter,
                kind=kind,
                destination=destination,
                payload=payload(quarter=quarter, **changes),
            )
            return notice.id

    return add
