"""Migrations: up, down, up again on both databases; the models match the migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from registry.db import (
    SCHEMA_REVISION,
    current_revision,
    downgrade_to_base,
    head_revision,
    make_engine,
    upgrade_to_head,
)
from registry.models import Base

ROOT = Path(__file__).resolve().parents[2]


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _diff(url: str) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade_to_head(database_url)
    assert current_revision(database_url) == SCHEMA_REVISION
    assert _tables(database_url) == set(Base.metadata.tables)
    downgrade_to_base(database_url)
    assert current_revision(database_url) is None
    assert _tables(database_url) == set()
    upgrade_to_head(database_url)
    assert _tables(database_url) == set(Base.metadata.tables)
    assert _diff(database_url) == []


def test_models_match_migrations(migrated_url: str) -> None:
    assert _diff(migrated_url) == []


def test_schema_revision_constant_is_alembic_head() -> None:
    assert head_revision() == SCHEMA_REVISION


def test_upgrade_creates_sqlite_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'registry.sqlite3'}"
    upgrade_to_head(url)
    assert (tmp_path / "a" / "b" / "registry.sqlite3").is_file()


def test_alembic_command_line_from_repo_root(tmp_path: Path) -> None:
    env = {**os.environ, "RELITIGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    alembic = [sys.executable, "-m", "alembic"]
    for args in (["upgrade", "head"], ["check"], ["downgrade", "base"], ["upgrade", "head"]):
        done = subprocess.run(
            [*alembic, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
