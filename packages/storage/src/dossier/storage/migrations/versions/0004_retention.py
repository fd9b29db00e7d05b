"""Retention: quarterly review runs (定期审核) and findings, destruction certificates (销毁证明).

Revision ID: 0004
Revises: 0003
Create Date: 2026-01-04

None of these tables holds personal data: student numbers, rule codes, field
and table names, SHA-256 digests of documents, actor ids and the reviewers'
notes. ``review_runs`` has one run per branch and quarter (``2026Q4``);
``review_findings`` is its work list; ``destruction_certificates`` is what
remains, for auditors, of each executed destruction request.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("quarter", sa.String(6), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("signed_off_by", sa.String(128), nullable=True),
        sa.Column("signed_off_at", TS, nullable=True),
        sa.Column("sign_off_note", sa.Text(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_runs"),
        sa.UniqueConstraint("branch", "quarter", name="uq_review_runs_branch_quarter"),
    )

    op.create_table(
        "review_findings",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("student_number", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("suggested_action", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolved_by", sa.String(128), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_review_findings"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["review_runs.id"], name="fk_review_findings_run_id_review_runs"
        ),
    )
    op.create_index("ix_review_findings_run_id_status", "review_findings", ["run_id", "status"])
    op.create_index("ix_review_findings_student_number", "review_findings", ["student_number"])

    op.create_table(
        "destruction_certificates",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("student_number", sa.String(40), nullable=False),
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("approver", sa.String(128), nullable=False),
        sa.Column("responsible_person", sa.String(128), nullable=False),
        sa.Column("executed_at", TS, nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("destroyed", sa.JSON(), nullable=False),
        sa.Column("kept", sa.JSON(), nullable=False),
        sa.Column("verification", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_destruction_certificates"),
        sa.UniqueConstraint("request_id", name="uq_destruction_certificates_request_id"),
    )
    op.create_index(
        "ix_destruction_certificates_branch_executed_at",
        "destruction_certificates",
        ["branch", "executed_at"],
    )
    op.create_index(
        "ix_destruction_certificates_student_number",
        "destruction_certificates",
        ["student_number"],
    )


def downgrade() -> None:
    op.drop_table("destruction_certificates")
    op.drop_table("review_findings")
    op.drop_table("review_runs")
