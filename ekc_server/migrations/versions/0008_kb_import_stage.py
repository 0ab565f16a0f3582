"""kb import stage: big imports sent in chunks, published by one commit

Revision ID: 0008_kb_import_stage
Revises: 0007_kb_search_log
Create Date: 2026-12-04 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_kb_import_stage"
down_revision: str | None = "0007_kb_search_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_import_stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("article_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_kb_import_stage_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["kb_import_batch.id"],
            name=op.f("fk_kb_import_stage_batch_id_kb_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topic.id"], name=op.f("fk_kb_import_stage_topic_id_topic")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_import_stage")),
        sa.UniqueConstraint("batch_id", "article_id", name="uq_kb_import_stage_batch_article"),
        sa.UniqueConstraint("batch_id", "position", name="uq_kb_import_stage_batch_position"),
    )


def downgrade() -> None:
    op.drop_table("kb_import_stage")
