"""The read trail (查阅记录) and the misuse alerts raised on it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

``read_trail``: one row per request that revealed a student's unmasked personal
data or documents — who (actor, roles), when, which student, which kinds of data
(field groups, never values), through which channel, the request id — chained
per branch like ``audit_log`` (``seq``, ``prev_hash``, ``hash``) with its own
head table ``read_trail_heads``.

``read_alerts``: one row per (actor, rule, window) whose per-branch threshold a
staff member's reads crossed; acknowledged by an auditor with a comment.

A read-trail row is inserted unsealed (``seq``, ``prev_hash``, ``hash`` NULL) in
the read's own transaction and sealed into its branch's chain shortly after by
the service's chainer (`dossier.storage.read_trail.seal`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "read_trail",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("student_number", sa.String(40), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_read_trail"),
        sa.UniqueConstraint("branch", "seq", name="uq_read_trail_branch_seq"),
    )
    op.create_index("ix_read_trail_student_number_at", "read_trail", ["student_number", "at"])
    op.create_index("ix_read_trail_actor_at", "read_trail", ["actor", "at"])
    op.create_table(
        "read_trail_heads",
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("branch", name="pk_read_trail_heads"),
    )
    op.create_table(
        "read_alerts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("window", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("notices", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_read_alerts"),
        sa.UniqueConstraint("actor", "rule", "window", name="uq_read_alerts_actor_rule_window"),
    )
    op.create_index("ix_read_alerts_branch_raised_at", "read_alerts", ["branch", "raised_at"])


def downgrade() -> None:
    op.drop_index("ix_read_alerts_branch_raised_at", table_name="read_alerts")
    op.drop_table("read_alerts")
    op.drop_table("read_trail_heads")
    op.drop_index("ix_read_trail_actor_at", table_name="read_trail")
    op.drop_index("ix_read_trail_student_number_at", table_name="read_trail")
    op.drop_table("read_trail")
