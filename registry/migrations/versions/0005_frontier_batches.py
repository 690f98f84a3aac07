"""Provider batch jobs for the frontier side.

``frontier_batches``: one row per provider batch a run's items went out in, written before the
provider is asked (see :mod:`registry.batch_models`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    """Add the frontier_batches table."""
    op.create_table('frontier_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('client_key', sa.String(length=64), nullable=False),
    sa.Column('item_keys', _JSON, nullable=False),
    sa.Column('status', sa.Enum('preparing', 'submitted', 'collected', name='batch_status', native_enum=False), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('input_file_id', sa.String(length=200), nullable=True),
    sa.Column('batch_id', sa.String(length=200), nullable=True),
    sa.Column('provider_status', sa.String(length=32), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_frontier_batches_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frontier_batches')),
    sa.UniqueConstraint('client_key', name=op.f('uq_frontier_batches_client_key'))
    )
    with op.batch_alter_table('frontier_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_frontier_batches_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    """Drop the frontier_batches table."""
    with op.batch_alter_table('frontier_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_frontier_batches_run_id'))
    op.drop_table('frontier_batches')
