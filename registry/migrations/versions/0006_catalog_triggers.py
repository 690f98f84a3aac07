"""Buy catalog, deprecations and trigger events.

- ``catalog_entries``: the catalog as last synced (price, deprecation date, the workloads
  each entry challenges); ``route_deprecations``: the deprecation date of every route the
  file names (declared, or litellm's price map).
- ``trigger_causes``: why a workload is re-litigated before its quarterly run, each cause
  recorded and consumed once.
- ``candidates.production_api_base`` and ``candidates.base_model`` (null for every existing
  candidate).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    """Add the catalog, route deprecation and trigger cause tables, and two candidate columns."""
    op.create_table('catalog_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('route', sa.String(length=500), nullable=False),
    sa.Column('provider', sa.String(length=200), nullable=False),
    sa.Column('tags', _JSON, nullable=False),
    sa.Column('input_per_mtok', sa.Float(), nullable=True),
    sa.Column('output_per_mtok', sa.Float(), nullable=True),
    sa.Column('price_source', sa.String(length=20), nullable=False),
    sa.Column('deprecation_date', sa.Date(), nullable=True),
    sa.Column('deprecation_source', sa.String(length=20), nullable=True),
    sa.Column('challenges', _JSON, nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_entries')),
    sa.UniqueConstraint('name', name=op.f('uq_catalog_entries_name'))
    )
    op.create_table('route_deprecations',
    sa.Column('route', sa.String(length=500), nullable=False),
    sa.Column('deprecation_date', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('route', name=op.f('pk_route_deprecations'))
    )
    op.create_table('trigger_causes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workload_id', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=600), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=64), nullable=True),
    sa.Column('quarter', sa.String(length=6), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['workload_id'], ['workloads.id'], name=op.f('fk_trigger_causes_workload_id_workloads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_causes')),
    sa.UniqueConstraint('workload_id', 'cause', name=op.f('uq_trigger_causes_workload_id_cause'))
    )
    with op.batch_alter_table('trigger_causes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trigger_causes_workload_id'), ['workload_id'], unique=False)
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('production_api_base', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('base_model', sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Drop the candidate columns and the three tables."""
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.drop_column('base_model')
        batch_op.drop_column('production_api_base')
    with op.batch_alter_table('trigger_causes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trigger_causes_workload_id'))
    op.drop_table('trigger_causes')
    op.drop_table('route_deprecations')
    op.drop_table('catalog_entries')
