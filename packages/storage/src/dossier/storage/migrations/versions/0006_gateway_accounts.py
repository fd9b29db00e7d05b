"""Gateway accounts (网关账户): staff and students who sign in to the web pages.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Only the argon2 hash of each password and the SHA-256 of a pending activation code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateway_accounts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("login", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("branches", sa.JSON(), nullable=False),
        sa.Column("student_number", sa.String(40), nullable=True),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("activation_sha256", sa.String(64), nullable=True),
        sa.Column("activation_expires", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_accounts"),
        sa.UniqueConstraint("login", name="uq_gateway_accounts_login"),
        sa.UniqueConstraint("student_number", name="uq_gateway_accounts_student_number"),
        sa.UniqueConstraint("activation_sha256", name="uq_gateway_accounts_activation_sha256"),
    )


def downgrade() -> None:
    op.drop_table("gateway_accounts")
