"""kb search log and synonym groups: learning from the operators

Revision ID: 0007_kb_search_log
Revises: 0006_performance
Create Date: 2026-12-03 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007_kb_search_log"
down_revision: str | None = "0006_performance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_search_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("session", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("query", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("opened", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("copied", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_search_log")),
        sa.UniqueConstraint("event_id", name=op.f("uq_kb_search_log_event_id")),
    )
    with op.batch_alter_table("kb_search_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_search_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_search_log_key"), ["key"], unique=False)
        batch_op.create_index("ix_kb_search_log_session_seq", ["session", "seq"], unique=False)

    op.create_table(
        "kb_synonym_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_synonym_group")),
    )


def downgrade() -> None:
    op.drop_table("kb_synonym_group")
    with op.batch_alter_table("kb_search_log", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_search_log_session_seq")
        batch_op.drop_index(batch_op.f("ix_kb_search_log_key"))
        batch_op.drop_index(batch_op.f("ix_kb_search_log_at"))

    op.drop_table("kb_search_log")
