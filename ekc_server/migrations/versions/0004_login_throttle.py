"""login throttle: wrong-password counters; personal tokens only for gateways and admins,
none without an expiry

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the defaults of ServerSettings.gateway_token_days and admin_token_days
_GATEWAY_DAYS = 365
_ADMIN_DAYS = 30


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_throttle_window_started_at"), ["window_started_at"], unique=False
        )

    # Personal tokens issued before only admins could issue them: those of operators and
    # shift leads are revoked, and the ones that never expired get the default lifetime.
    now = datetime.now(UTC)  # stored as UTC (SQLite keeps the naive digits)
    token = sa.table(
        "api_token",
        sa.column("staff_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    staff = sa.table("staff", sa.column("id", sa.Integer()), sa.column("role", sa.String()))

    def of_roles(*roles: str) -> sa.ColumnElement[bool]:
        return token.c.staff_id.in_(sa.select(staff.c.id).where(staff.c.role.in_(roles)))

    personal = sa.and_(token.c.kind == "personal", token.c.revoked_at.is_(None))
    op.execute(
        token.update().where(personal, of_roles("operator", "shift_lead")).values(revoked_at=now)
    )
    for roles, days in ((("gateway",), _GATEWAY_DAYS), (("admin",), _ADMIN_DAYS)):
        op.execute(
            token.update()
            .where(personal, token.c.expires_at.is_(None), of_roles(*roles))
            .values(expires_at=now + timedelta(days=days))
        )


def downgrade() -> None:
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_window_started_at"))

    op.drop_table("login_throttle")
