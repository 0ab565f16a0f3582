"""kb_synonym_group.means: a group with the articles' wording is a one-way rule, a caller's
phrases rewritten to it (the colloquial rules admins add; issue 13)

Revision ID: 0013_kb_synonym_means
Revises: 0012_contact_event
Create Date: 2026-12-05 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_kb_synonym_means"
down_revision: str | None = "0012_contact_event"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_synonym_group") as batch:
        batch.add_column(sa.Column("means", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("kb_synonym_group") as batch:
        batch.alter_column("means", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("kb_synonym_group") as batch:
        batch.drop_column("means")
