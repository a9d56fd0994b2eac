"""matters kept by a source (MuckRock): origin, title, jurisdiction, portal status and due date,
done date, the communications thread

Revision ID: 0007
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0007'
down_revision = '0009'
branch_labels = None
depends_on = None

_TEXT = ('origin', 'title', 'jurisdiction', 'state', 'url', 'status_code')


def upgrade() -> None:
    with op.batch_alter_table('matter', schema=None) as batch_op:
        for name in _TEXT:
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(),
                                          nullable=False, server_default=''))
        batch_op.add_column(sa.Column('portal_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('done', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('communications', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_matter_origin'), ['origin'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_origin'))
        for name in ('communications', 'done', 'portal_due', *reversed(_TEXT)):
            batch_op.drop_column(name)
