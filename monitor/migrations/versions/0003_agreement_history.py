"""287(g) agreement history: snapshot records, versions, absences, signing date as published.

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the snapshot and version tables and the absence columns of `agreement`."""
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_published", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("absences", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("absent_since", sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    op.create_table(
        "agreementsnapshotrecord",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("list_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("fetched_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agreementsnapshotrecord", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreementsnapshotrecord_list_kind"), ["list_kind"],
                              unique=False)
    op.create_table(
        "agreementversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("list_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("support_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("county", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("signed", sa.Date(), nullable=True),
        sa.Column("moa_url", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("first_snapshot_id", sa.Integer(), nullable=False),
        sa.Column("last_snapshot_id", sa.Integer(), nullable=False),
        sa.Column("snapshots", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agreementversion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreementversion_agreement_id"), ["agreement_id"],
                              unique=False)


def downgrade() -> None:
    """Drop what `upgrade` added."""
    with op.batch_alter_table("agreementversion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreementversion_agreement_id"))
    op.drop_table("agreementversion")
    with op.batch_alter_table("agreementsnapshotrecord", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreementsnapshotrecord_list_kind"))
    op.drop_table("agreementsnapshotrecord")
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.drop_column("absent_since")
        batch_op.drop_column("absences")
        batch_op.drop_column("signed_published")
