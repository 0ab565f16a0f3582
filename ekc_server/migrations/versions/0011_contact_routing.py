"""contact routing: the group a contact was offered to and how it was found (issue 14)

Revision ID: 0011_contact_routing
Revises: 0010_topic_model
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011_contact_routing"
down_revision: str | None = "0010_topic_model"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(
            sa.Column("group_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch.add_column(
            sa.Column("routed_topic", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True)
        )
        batch.add_column(
            sa.Column("route_source", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True)
        )
        batch.add_column(sa.Column("route_confidence", sa.Float(), nullable=True))
    op.create_index(
        "ix_contact_status_group_queued_at",
        "contact",
        ["status", "group_code", "queued_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contact_status_group_queued_at", table_name="contact")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("route_confidence")
        batch.drop_column("route_source")
        batch.drop_column("routed_topic")
        batch.drop_column("group_code")
