"""write times: when a write reached the backend beside when it happened; close reasons

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMES = {
    "contact": ("recorded_at", "ended_recorded_at", "wrapup_recorded_at"),
    "appeal": ("recorded_at",),
    "appeal_event": ("recorded_at",),
    "callback_task": ("last_attempt_recorded_at",),
}


def upgrade() -> None:
    for table, columns in _TIMES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in columns:
                batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
            if table == "contact":
                batch_op.add_column(
                    sa.Column(
                        "close_reason",
                        sqlmodel.sql.sqltypes.AutoString(length=500),
                        nullable=True,
                    )
                )


def downgrade() -> None:
    for table, columns in _TIMES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "contact":
                batch_op.drop_column("close_reason")
            for name in reversed(columns):
                batch_op.drop_column(name)
