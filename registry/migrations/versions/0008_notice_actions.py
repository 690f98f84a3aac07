"""Actions owners take on notices.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00.000000

"""
from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
