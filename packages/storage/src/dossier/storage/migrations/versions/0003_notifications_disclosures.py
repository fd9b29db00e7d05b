"""Notifications (变更通知) and disclosures (披露记录), for the approvals service.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-03

``notifications`` holds what was queued for a student through the notify hook:
the text (with any confirmation token replaced by a placeholder) and only the
SHA-256 of the token, never the token itself. ``disclosures`` logs every
release of student data to a third party: who, to whom, for which consented
purpose, which fields (names only), when.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("notice_id", sa.String(64), nullable=False),
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("student_number", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index(
        "ix_notifications_student_number_created_at",
        "notifications",
        ["student_number", "created_at"],
    )
    op.create_index("ix_notifications_subject", "notifications", ["subject"])

    op.create_table(
        "disclosures",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("student_number", sa.String(40), nullable=False),
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("disclosed_at", TS, nullable=False),
        sa.Column("disclosed_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_disclosures"),
    )
    op.create_index("ix_disclosures_student_number", "disclosures", ["student_number"])


def downgrade() -> None:
    op.drop_table("disclosures")
    op.drop_table("notifications")
