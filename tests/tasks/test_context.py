"""The one way in to the registry: an entry point opens the context, a flow run takes the one
handed down to it or opens its own from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def dialect() -> str:
    """The context does the same on both databases; the registry checks run on both elsewhere."""
    return "sqlite"


@pytest.fixture
def env(migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", migrated_url)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELITIGATE_LEASE_TTL_S", "50")
    return migrated_url


def test_a_flow_run_opens_its_own_context_from_the_environment_and_closes_it(env: str) -> None:
    from sqlalchemy import text

    from tasks.context import flow_context

    with flow_context() as ctx:
        assert ctx.registry_url == env
        assert ctx.lease_times.ttl_s == 50
        assert ctx.memo_dir == ctx.settings.data_dir / "memos"
        with ctx.sessions.begin() as session:
            assert session.execute(text("select 1")).scalar() == 1
        with flow_context() as inner:  # a subflow in the same run
            assert inner is ctx
        engine = ctx.sessions.kw["bind"]
        assert engine.pool.checkedin() >= 1
    assert engine.pool.checkedin() == 0  # disposed when the run ended


def test_a_context_handed_down_is_the_one_every_flow_run_below_uses(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.context import flow_context, handed_down, opened

    with opened() as given:
        monkeypatch.setenv("RELITIGATE_DATABASE_URL", "sqlite:////nonexistent-folder/x.db")
        with handed_down(given), flow_context() as ctx:
            assert ctx is given  # the environment is not read again
    with pytest.raises(Exception, match="nonexistent-folder"), flow_context():
        pass


def test_an_uninitialised_registry_is_refused_when_the_context_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.errors import DatabaseError
    from tasks.context import open_context

    monkeypatch.setenv("RELITIGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path))
    with pytest.raises(DatabaseError, match="relitigate init"):
        open_context()


def test_outside_a_flow_run_there_is_no_flow_run_link() -> None:
    from tasks.flow_run import current_flow_run_id, flow_run_url

    assert current_flow_run_id() is None
    assert flow_run_url("http://127.0.0.1:4200") is None
    assert flow_run_url(None) is None
