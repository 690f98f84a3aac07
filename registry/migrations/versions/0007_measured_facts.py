"""Measured volume, drift and proposals.

- ``workloads.volume_per_day`` may be null: a workload whose volume comes from a source
  stores no typed number. ``workloads.measured_sources``: the volume source and production
  sample as declared (null for every existing workload).
- ``measured_facts``: each fact read from production for a decision.
- ``proposals``: workloads proposed before any fine-tune is built.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    """Nullable typed volume, the declared sources, measured facts and proposals."""
    with op.batch_alter_table('workloads', schema=None) as batch_op:
        batch_op.alter_column('volume_per_day', existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column('measured_sources', _JSON, nullable=True))
    op.create_table('measured_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workload_id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=600), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('detail', _JSON, nullable=False),
    sa.ForeignKeyConstraint(['workload_id'], ['workloads.id'], name=op.f('fk_measured_facts_workload_id_workloads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_measured_facts'))
    )
    with op.batch_alter_table('measured_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measured_facts_workload_id'), ['workload_id'], unique=False)
    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('case', sa.String(length=40), nullable=False),
    sa.Column('spec', _JSON, nullable=False),
    sa.Column('recommendation', sa.String(length=40), nullable=False),
    sa.Column('evidence', _JSON, nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('workload_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workload_id'], ['workloads.id'], name=op.f('fk_proposals_workload_id_workloads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals')),
    sa.UniqueConstraint('name', name=op.f('uq_proposals_name'))
    )


def downgrade() -> None:
    """Drop proposals and measured facts. Refused while a workload's volume comes from a
    source: a typed 0 would fail the volume gate, so declare a number and sync first."""
    measured = op.get_bind().execute(
        sa.text("SELECT name FROM workloads WHERE volume_per_day IS NULL")
    ).scalars().all()
    if measured:
        raise RuntimeError(
            "cannot downgrade below 0007: workloads "
            + ", ".join(sorted(measured))
            + " read their volume from a source; give each a typed volume_per_day and sync"
        )
    op.drop_table('proposals')
    with op.batch_alter_table('measured_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measured_facts_workload_id'))
    op.drop_table('measured_facts')
    with op.batch_alter_table('workloads', schema=None) as batch_op:
        batch_op.drop_column('measured_sources')
        batch_op.alter_column('volume_per_day', existing_type=sa.BigInteger(), nullable=False)
