"""Training materials as documents (培训材料文件).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

``training_materials``: the files handed out at a training session, one row per file —
its id, position, file name, media type, size and SHA-256. The file itself is in the
document store under ``training/<branch>/<session id>/<id>``, sealed under the branch's
training key (``data_keys`` purpose ``training``). The text references of 0010
(``training_sessions.materials``) stay as they are. Nothing here is about a student.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_materials",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["training_sessions.id"],
            name="fk_training_materials_session_id_training_sessions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_training_materials"),
    )
    op.create_index("ix_training_materials_session_id", "training_materials", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_training_materials_session_id", table_name="training_materials")
    op.drop_table("training_materials")
