"""Gateway sessions that end, and the account actions they answer to.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

``gateway_accounts.session_version``: every session carries the version it was
signed in under, and a session of an older version reads as signed out; the
version moves on sign-out, a password change, an activation, an invitation, a
change of roles and a disabled account. ``activated_at``: the account's last
activation. ``gateway_account_events``: what was done to an account (invited,
reset by an admin with a reason, activated, credentials, roles, disabled), by which
account — the student sees their activations on their own page.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("gateway_accounts") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("activated_at", TS, nullable=True))
    op.create_table(
        "gateway_account_events",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("by_account", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_account_events"),
    )
    op.create_index(
        "ix_gateway_account_events_account_id_at", "gateway_account_events", ["account_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_gateway_account_events_account_id_at", "gateway_account_events")
    op.drop_table("gateway_account_events")
    with op.batch_alter_table("gateway_accounts") as batch:
        batch.drop_column("activated_at")
        batch.drop_column("session_version")
