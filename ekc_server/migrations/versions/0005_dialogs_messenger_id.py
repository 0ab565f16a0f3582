"""citizen messenger id: written contacts from a messenger or social network identified

Revision ID: 0005_dialogs_messenger_id
Revises: 0004
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005_dialogs_messenger_id"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("messenger_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_citizen_messenger_id"), ["messenger_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_messenger_id"))
        batch_op.drop_column("messenger_id")
