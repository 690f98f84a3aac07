"""Migration 0002 (notice claims) on both databases: old-style claims become ``sending`` with
``claimed_at``, and a downgrade turns ``sending`` rows back into old-style pending claims."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from registry.db import MIGRATIONS_DIR, make_engine
from registry.models import JSONType, UTCDateTime

T_CLAIM = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
T_SENT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
T_NEW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _notices(*, with_claim: bool) -> sa.TableClause:
    """The notices table as a lightweight construct (the models are at the newest schema)."""
    columns = [
        sa.column("id", sa.Integer()),
        sa.column("dedupe_key", sa.String()),
        sa.column("workload_id", sa.Integer()),
        sa.column("quarter", sa.String()),
        sa.column("kind", sa.String()),
        sa.column("status", sa.String()),
        sa.column("channel_id", sa.String()),
        sa.column("ts", sa.String()),
        sa.column("attempts", sa.Integer()),
        sa.column("payload", JSONType),
        sa.column("created_at", UTCDateTime()),
        sa.column("sent_at", UTCDateTime()),
    ]
    if with_claim:
        columns.append(sa.column("claimed_at", UTCDateTime()))
    return sa.table("notices", *columns)


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    (command.downgrade if down else command.upgrade)(config, revision)


def _row(nid: int, quarter: str, status: str, **values: Any) -> dict[str, Any]:
    return {
        "id": nid,
        "dedupe_key": f"*:{quarter}:digest",
        "workload_id": None,
        "quarter": quarter,
        "kind": "digest",
        "status": status,
        "channel_id": None,
        "ts": None,
        "attempts": 0,
        "payload": {"text": quarter},
        "created_at": T_NEW,
        "sent_at": None,
        **values,
    }


def _states(url: str, *, with_claim: bool) -> dict[int, tuple[Any, ...]]:
    table = _notices(with_claim=with_claim)
    columns = [table.c.id, table.c.status, table.c.sent_at]
    if with_claim:
        columns.append(table.c.claimed_at)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(*columns))
            return {r[0]: tuple(r[1:]) for r in rows}
    finally:
        engine.dispose()


def _has_claimed_at(url: str) -> bool:
    engine = make_engine(url)
    try:
        return "claimed_at" in {c["name"] for c in sa.inspect(engine).get_columns("notices")}
    finally:
        engine.dispose()


def test_claims_survive_upgrade_and_downgrade(database_url: str) -> None:
    _migrate(database_url, "0001")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(_notices(with_claim=False)),
                [
                    _row(1, "2026Q1", "pending"),
                    # a claim as 0001 recorded it: pending with sent_at = the claim time
                    _row(2, "2026Q2", "pending", sent_at=T_CLAIM, attempts=1, channel_id="C1"),
                    _row(3, "2026Q3", "sent", sent_at=T_SENT, attempts=1, ts="1.1"),
                    _row(4, "2026Q4", "failed", attempts=2),
                ],
            )
    finally:
        engine.dispose()

    _migrate(database_url, "0002")
    assert _states(database_url, with_claim=True) == {
        1: ("pending", None, None),
        2: ("sending", None, T_CLAIM),
        3: ("sent", T_SENT, None),
        4: ("failed", None, None),
    }

    _migrate(database_url, "0001", down=True)
    assert not _has_claimed_at(database_url)
    assert _states(database_url, with_claim=False) == {
        1: ("pending", None),
        2: ("pending", T_CLAIM),  # the claim, as 0001 reads it
        3: ("sent", T_SENT),
        4: ("failed", None),
    }

    _migrate(database_url, "head")
    assert _states(database_url, with_claim=True)[2] == ("sending", None, T_CLAIM)
