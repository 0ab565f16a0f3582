"""routing: every version of the routing table (issue 14)

Revision ID: 0009_routing
Revises: 0008_kb_import_stage
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_routing"
down_revision: str | None = "0008_kb_import_stage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_routing_version_created_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_version")),
        sa.UniqueConstraint("version", name=op.f("uq_routing_version_version")),
    )


def downgrade() -> None:
    op.drop_table("routing_version")
