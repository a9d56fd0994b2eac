"""deadline life: obligation, party, met_by, extension_requested, pending

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('obligation', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('party', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('met_by', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('extension_requested', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('pending', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_column('pending')
        batch_op.drop_column('extension_requested')
        batch_op.drop_column('met_by')
        batch_op.drop_column('party')
        batch_op.drop_column('obligation')
