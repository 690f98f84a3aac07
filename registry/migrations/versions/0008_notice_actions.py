"""Actions owners take on notices.

- ``notice_actions``: each handled click on a notice's buttons (who, when, which, the note),
  unique on the Slack delivery, so a redelivered click is recorded once.
- ``notices.reply_to_id``: the notice in whose thread a reply or reminder is posted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the notice actions table and the notices' reply link."""
    op.create_table('notice_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_key', sa.String(length=300), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('workload_id', sa.Integer(), nullable=True),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum('acknowledge', 'snooze', 'rerun', 'dispute', 'done', name='notice_action', native_enum=False, create_constraint=False, length=11), nullable=False),
    sa.Column('slack_user', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('snoozed_until', sa.String(length=6), nullable=True),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_notice_actions_decision_id_decisions')),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_actions_notice_id_notices')),
    sa.ForeignKeyConstraint(['workload_id'], ['workloads.id'], name=op.f('fk_notice_actions_workload_id_workloads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_actions')),
    sa.UniqueConstraint('delivery_key', name=op.f('uq_notice_actions_delivery_key'))
    )
    with op.batch_alter_table('notice_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_actions_notice_id'), ['notice_id'], unique=False)
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notices_reply_to_id_notices'), 'notices', ['reply_to_id'], ['id'])


def downgrade() -> None:
    """Drop the reply link and the notice actions table."""
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notices_reply_to_id_notices'), type_='foreignkey')
        batch_op.drop_column('reply_to_id')
    with op.batch_alter_table('notice_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_actions_notice_id'))
    op.drop_table('notice_actions')
