"""contact_event: what happened to a contact besides its status, e.g. a transfer onward to
an agency (issue 14)

Revision ID: 0012_contact_event
Revises: 0011_contact_routing
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012_contact_event"
down_revision: str | None = "0011_contact_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["staff.id"], name=op.f("fk_contact_event_actor_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_contact_event_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_contact_event_contact_id_contact")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_event")),
    )
    op.create_index(op.f("ix_contact_event_contact_id"), "contact_event", ["contact_id"])
    op.create_index(op.f("ix_contact_event_at"), "contact_event", ["at"])
    op.create_index(op.f("ix_contact_event_agency_id"), "contact_event", ["agency_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_event_agency_id"), table_name="contact_event")
    op.drop_index(op.f("ix_contact_event_at"), table_name="contact_event")
    op.drop_index(op.f("ix_contact_event_contact_id"), table_name="contact_event")
    op.drop_table("contact_event")
