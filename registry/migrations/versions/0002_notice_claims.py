"""Notice claims: a ``sending`` status and a ``claimed_at`` column.

Until this revision a delivery claim was stored as ``status = 'pending'`` with ``sent_at`` set
to the claim time. Upgrading turns such rows into ``sending`` with ``claimed_at`` (and clears
``sent_at``, which from now on means only "Slack accepted it"); downgrading turns ``sending``
rows back into that representation, so a claim survives both directions.

The status stays a non-native enum (a plain string column, so no ``ALTER TYPE`` on
PostgreSQL); two named CHECK constraints now hold its values and tie ``claimed_at`` to
``sending``. Batch mode recreates the table on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_CHECK = "status IN ('pending', 'sending', 'sent', 'failed')"
CLAIM_CHECK = (
    "(status = 'sending' AND claimed_at IS NOT NULL) "
    "OR (status <> 'sending' AND claimed_at IS NULL)"
)


def upgrade() -> None:
    """Add ``claimed_at``, move old-style claims to ``sending``, then add the checks."""
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE notices SET status = 'sending', claimed_at = sent_at, sent_at = NULL "
        "WHERE status = 'pending' AND sent_at IS NOT NULL"
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_notices_status'), sa.text(STATUS_CHECK))
        batch_op.create_check_constraint(op.f('ck_notices_claim'), sa.text(CLAIM_CHECK))


def downgrade() -> None:
    """Back to the old representation: ``sending`` becomes ``pending`` with ``sent_at`` set."""
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notices_claim'), type_='check')
        batch_op.drop_constraint(op.f('ck_notices_status'), type_='check')
    op.execute(
        "UPDATE notices SET status = 'pending', sent_at = claimed_at WHERE status = 'sending'"
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
