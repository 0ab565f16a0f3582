"""topic_model: versioned topic classifiers (issue 14, point 2)

Revision ID: 0010_topic_model
Revises: 0009_routing
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_topic_model"
down_revision: str | None = "0009_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topic_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("train_seconds", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_topic_model_created_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_model")),
        sa.UniqueConstraint("version", name=op.f("uq_topic_model_version")),
    )
    op.create_index(op.f("ix_topic_model_active"), "topic_model", ["active"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_topic_model_active"), table_name="topic_model")
    op.drop_table("topic_model")
