"""Benchmark leases, run attempts and retry passes, decision revisions.

- ``leases``: one row per leased thing (a benchmark of one candidate, eval-set version,
  quarter and attempt), held by one process until it expires.
- ``runs.attempt`` (1 for every existing run) joins the run's natural key, so a quarter can be
  re-benchmarked from scratch as a new attempt while the earlier one stays; ``runs.retry_passes``
  (0) is how many retry passes its errored items were granted.
- ``decisions.attempt`` (1) and ``decisions.revision`` (1); ``decision_revisions`` keeps each
  decision as it stood before it was replaced.

Downgrading refuses while runs of a second attempt exist: the old schema has room for one run
per (candidate, eval-set version, quarter), and dropping the others would lose paid results.
Batch mode recreates the tables on SQLite.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 06:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # noqa: F401  (autogenerate writes JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    """Add the leases and decision revisions tables, and the attempt columns."""
    op.create_table('leases',
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    op.create_table('decision_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.Enum('keep', 'watch', 'retire', 'inconclusive', name='verdict', native_enum=False), nullable=False),
    sa.Column('metrics', _JSON, nullable=False),
    sa.Column('gates', _JSON, nullable=False),
    sa.Column('trend', _JSON, nullable=False),
    sa.Column('reproducibility', _JSON, nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('fine_tune_run_id', sa.Integer(), nullable=True),
    sa.Column('buy_run_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_because', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['buy_run_id'], ['runs.id'], name=op.f('fk_decision_revisions_buy_run_id_runs')),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_decision_revisions_decision_id_decisions')),
    sa.ForeignKeyConstraint(['fine_tune_run_id'], ['runs.id'], name=op.f('fk_decision_revisions_fine_tune_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_revisions')),
    sa.UniqueConstraint('decision_id', 'revision', name=op.f('uq_decision_revisions_decision_id_revision'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('retry_passes', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_runs_candidate_id_eval_set_version_id_quarter'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_runs_candidate_id_eval_set_version_id_quarter_attempt'), ['candidate_id', 'eval_set_version_id', 'quarter', 'attempt'])


def downgrade() -> None:
    """Drop them again; refused while a run of a later attempt exists."""
    later = op.get_bind().execute(sa.text('SELECT count(*) FROM runs WHERE attempt > 1')).scalar()
    if later:
        raise RuntimeError(
            f'{later} run(s) belong to a second or later benchmark attempt (relitigate run '
            '--fresh); revision 0002 keeps one run per candidate, eval-set version and quarter. '
            'Delete those runs (and their item_results and decisions) first, or stay at 0003'
        )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_runs_candidate_id_eval_set_version_id_quarter_attempt'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_runs_candidate_id_eval_set_version_id_quarter'), ['candidate_id', 'eval_set_version_id', 'quarter'])
        batch_op.drop_column('retry_passes')
        batch_op.drop_column('attempt')

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('attempt')

    op.drop_table('decision_revisions')
    op.drop_table('leases')
