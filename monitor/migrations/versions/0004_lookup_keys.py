"""entry lookup keys and case entry counts (fast at national scale)

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-29 10:00:00

`entry.doc_key` / `entry.fingerprint` let the store find an entry by index; `case.entry_count`
lets `cases` list counts without counting the entry table. Existing rows are backfilled.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from sources.identity import entry_fingerprint, normalize_pacer_doc_id

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entry_count', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.create_index('ix_case_listing', ['first_seen', 'id'], unique=False)
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('doc_key', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=False, server_default=''))
    _backfill()
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.create_index('ix_entry_case_doc', ['case_id', 'doc_key'], unique=False)
        batch_op.create_index('ix_entry_case_fingerprint', ['case_id', 'fingerprint'],
                              unique=False)


def _backfill() -> None:
    """Lookup keys of the entries already stored, and every case's entry count."""
    bind = op.get_bind()
    entry = sa.table('entry', sa.column('id', sa.Integer()), sa.column('pacer_doc_id', sa.String()),
                     sa.column('date_filed', sa.Date()),
                     sa.column('short_description', sa.String()),
                     sa.column('doc_key', sa.String()), sa.column('fingerprint', sa.String()))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(entry.c.id, entry.c.pacer_doc_id, entry.c.date_filed,
                      entry.c.short_description)
            .where(entry.c.id > last).order_by(entry.c.id).limit(_BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            entry.update().where(entry.c.id == sa.bindparam('b_id')).values(
                doc_key=sa.bindparam('b_doc'), fingerprint=sa.bindparam('b_fp')),
            [{'b_id': r.id,
              'b_doc': normalize_pacer_doc_id(r.pacer_doc_id) if r.pacer_doc_id else '',
              'b_fp': entry_fingerprint(r.date_filed, r.short_description or '')}
             for r in rows],
        )
        last = rows[-1].id
    bind.execute(sa.text(
        'UPDATE "case" SET entry_count = '
        '(SELECT count(*) FROM entry WHERE entry.case_id = "case".id)'))


def downgrade() -> None:
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_case_fingerprint')
        batch_op.drop_index('ix_entry_case_doc')
        batch_op.drop_column('fingerprint')
        batch_op.drop_column('doc_key')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_listing')
        batch_op.drop_column('entry_count')
