"""Sequential evaluation: waves and stops.

``sequential_evaluations``: one row per workload, quarter and benchmark attempt, with the seed
that orders the eval items, the waves done, the wave a settled verdict stopped at and why,
the items used and the frontier spend saved (see :mod:`registry.wave_models`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 12:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    """Add the sequential_evaluations table."""
    op.create_table('sequential_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workload_id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=6), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('spending', sa.String(length=32), nullable=False),
    sa.Column('wave_sizes', _JSON, nullable=False),
    sa.Column('waves_done', sa.Integer(), nullable=False),
    sa.Column('stopped_at_wave', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('looks', _JSON, nullable=False),
    sa.Column('items_total', sa.Integer(), nullable=False),
    sa.Column('items_used', sa.Integer(), nullable=False),
    sa.Column('buy_items', _JSON, nullable=False),
    sa.Column('buy_spend_usd', sa.Float(), nullable=False),
    sa.Column('saved_usd', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workload_id'], ['workloads.id'], name=op.f('fk_sequential_evaluations_workload_id_workloads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sequential_evaluations')),
    sa.UniqueConstraint('workload_id', 'quarter', 'attempt', name=op.f('uq_sequential_evaluations_workload_id_quarter_attempt'))
    )
    with op.batch_alter_table('sequential_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sequential_evaluations_workload_id'), ['workload_id'], unique=False)


def downgrade() -> None:
    """Drop the sequential_evaluations table."""
    with op.batch_alter_table('sequential_evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sequential_evaluations_workload_id'))
    op.drop_table('sequential_evaluations')
