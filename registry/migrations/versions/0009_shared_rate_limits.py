"""Shared provider rate limits.

``rate_buckets``: one token bucket per provider key and budget (requests or tokens per
minute), shared by every process (see :mod:`registry.rate_bucket_models`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the rate_buckets table."""
    op.create_table('rate_buckets',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('per_second', sa.Float(), nullable=False),
    sa.Column('capacity', sa.Float(), nullable=False),
    sa.Column('level', sa.Float(), nullable=False),
    sa.Column('stamp', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_rate_buckets'))
    )


def downgrade() -> None:
    """Drop the rate_buckets table."""
    op.drop_table('rate_buckets')
