"""Confidentiality policies, their acknowledgements, and staff training (保密承诺与培训).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

``confidentiality_policies``: each branch's versioned confidentiality policy, in
zh-CN and English, who published it and when. ``policy_acknowledgements``: one
row per acknowledgement of a version by a staff member (their actor id).
``training_sessions`` and ``training_attendees``: training held for staff —
topic, date, trainer, materials (references), who recorded it — and who attended.
Nothing here is about a student.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "confidentiality_policies",
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("branch", "version", name="pk_confidentiality_policies"),
    )
    op.create_table(
        "policy_acknowledgements",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_acknowledgements"),
    )
    op.create_index(
        "ix_policy_acknowledgements_actor_branch",
        "policy_acknowledgements",
        ["actor", "branch"],
    )
    op.create_table(
        "training_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("trainer", sa.String(128), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_training_sessions"),
    )
    op.create_index(
        "ix_training_sessions_branch_held_on", "training_sessions", ["branch", "held_on"]
    )
    op.create_table(
        "training_attendees",
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("attendee", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.id"],
            name="fk_training_attendees_session_id_training_sessions",
        ),
        sa.PrimaryKeyConstraint("session_id", "attendee", name="pk_training_attendees"),
    )
    op.create_index("ix_training_attendees_attendee", "training_attendees", ["attendee"])


def downgrade() -> None:
    op.drop_index("ix_training_attendees_attendee", table_name="training_attendees")
    op.drop_table("training_attendees")
    op.drop_index("ix_training_sessions_branch_held_on", table_name="training_sessions")
    op.drop_table("training_sessions")
    op.drop_index("ix_policy_acknowledgements_actor_branch", table_name="policy_acknowledgements")
    op.drop_table("policy_acknowledgements")
    op.drop_table("confidentiality_policies")
