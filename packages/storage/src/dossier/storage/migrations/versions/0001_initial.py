"""Initial schema: every core record, keys, blind indexes, audit chain, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Written out in full (not generated from ``dossier.storage.schema`` at run
time): a migration is a frozen step of history, whatever the code says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(64), nullable=False)


def _branch() -> sa.Column[str]:
    return sa.Column("branch", sa.String(8), nullable=False)


def _number(nullable: bool = False) -> sa.Column[str]:
    return sa.Column("student_number", sa.String(40), nullable=nullable)


def _student_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["student_number"],
        ["students.student_number"],
        name=f"fk_{table}_student_number_students",
    )


def _key_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["key_id"], ["data_keys.id"], name=f"fk_{table}_key_id_data_keys"
    )


def _sealed() -> list[sa.Column[object]]:
    return [
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("personal_ct", sa.LargeBinary(), nullable=True),
    ]


def _version() -> sa.Column[int]:
    return sa.Column("version", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "data_keys",
        _id(),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_data_keys"),
    )
    op.create_index("ix_data_keys_master_key_id", "data_keys", ["master_key_id"])

    op.create_table(
        "registrations",
        _id(),
        _branch(),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("guardian_consent", sa.Boolean(), nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        _number(nullable=True),
        *_sealed(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_registrations"),
        _key_fk("registrations"),
    )
    op.create_index("ix_registrations_branch_status", "registrations", ["branch", "status"])
    op.create_index("ix_registrations_student_number", "registrations", ["student_number"])

    op.create_table(
        "students",
        _number(),
        _branch(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("admitted_at", TS, nullable=False),
        sa.Column("registration_id", sa.String(64), nullable=True),
        *_sealed(),
        _version(),
        sa.PrimaryKeyConstraint("student_number", name="pk_students"),
        _key_fk("students"),
    )
    op.create_index("ix_students_branch_status", "students", ["branch", "status"])
    op.create_index("ix_students_registration_id", "students", ["registration_id"])

    op.create_table(
        "status_changes",
        _number(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("student_number", "position", name="pk_status_changes"),
        _student_fk("status_changes"),
    )

    op.create_table(
        "course_enrolments",
        _id(),
        _number(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("course_code", sa.String(64), nullable=False),
        sa.Column("course_name", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ended_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_course_enrolments"),
        _student_fk("course_enrolments"),
    )
    op.create_index("ix_course_enrolments_student_number", "course_enrolments", ["student_number"])

    op.create_table(
        "payments",
        _id(),
        _number(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("receipt_ref", sa.String(128), nullable=False),
        sa.Column("paid_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        _student_fk("payments"),
    )
    op.create_index("ix_payments_student_number", "payments", ["student_number"])

    op.create_table(
        "consents",
        _id(),
        _number(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("given_by", sa.String(16), nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.Column("withdrawn_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        _student_fk("consents"),
    )
    op.create_index("ix_consents_student_number", "consents", ["student_number"])

    op.create_table(
        "document_refs",
        sa.Column("owner_kind", sa.String(24), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("owner_kind", "owner_id", "position", name="pk_document_refs"),
    )
    op.create_index("ix_document_refs_sha256", "document_refs", ["sha256"])

    op.create_table(
        "change_requests",
        _id(),
        _number(),
        _branch(),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("dossier_version", sa.Integer(), nullable=False),
        sa.Column("reviewed_by", sa.String(128), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("approved_fields", sa.JSON(), nullable=False),
        sa.Column("applied_at", TS, nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        *_sealed(),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_change_requests"),
        _key_fk("change_requests"),
    )
    op.create_index("ix_change_requests_student_number", "change_requests", ["student_number"])
    op.create_index("ix_change_requests_branch_status", "change_requests", ["branch", "status"])

    op.create_table(
        "destruction_requests",
        _id(),
        _number(),
        _branch(),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(128), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("executed_at", TS, nullable=True),
        sa.Column("certificate_id", sa.String(64), nullable=True),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_destruction_requests"),
    )
    op.create_index(
        "ix_destruction_requests_student_number", "destruction_requests", ["student_number"]
    )
    op.create_index(
        "ix_destruction_requests_branch_status", "destruction_requests", ["branch", "status"]
    )

    op.create_table(
        "legal_holds",
        _id(),
        _number(),
        _branch(),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(128), nullable=False),
        sa.Column("set_at", TS, nullable=False),
        sa.Column("lifted_by", sa.String(128), nullable=True),
        sa.Column("lifted_at", TS, nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_legal_holds"),
    )
    op.create_index("ix_legal_holds_student_number", "legal_holds", ["student_number"])

    op.create_table(
        "feedback",
        _id(),
        _branch(),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("responded_by", sa.String(128), nullable=True),
        sa.Column("responded_at", TS, nullable=True),
        _version(),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_branch_submitted_at", "feedback", ["branch", "submitted_at"])

    op.create_table(
        "tombstones",
        _number(),
        _branch(),
        sa.Column("destroyed_at", TS, nullable=False),
        sa.Column("certificate_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("student_number", name="pk_tombstones"),
    )

    op.create_table(
        "blind_indexes",
        sa.Column("owner_kind", sa.String(24), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("owner_kind", "owner_id", "kind", name="pk_blind_indexes"),
    )
    op.create_index("ix_blind_indexes_kind_digest", "blind_indexes", ["kind", "digest"])

    op.create_table(
        "audit_log",
        _id(),
        _branch(),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        _number(nullable=True),
        sa.Column("subject", sa.String(128), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("value_hashes", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.UniqueConstraint("branch", "seq", name="uq_audit_log_branch_seq"),
    )
    op.create_index("ix_audit_log_student_number", "audit_log", ["student_number"])

    op.create_table(
        "audit_heads",
        sa.Column("branch", sa.String(8), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("branch", name="pk_audit_heads"),
    )

    op.create_table(
        "outbox",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        _branch(),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_outbox"),
        sa.UniqueConstraint("seq", name="uq_outbox_seq"),
    )
    op.create_index("ix_outbox_sent_at_seq", "outbox", ["sent_at", "seq"])

    op.create_table(
        "student_number_counters",
        _branch(),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("branch", "year", name="pk_student_number_counters"),
    )


def downgrade() -> None:
    for table in (
        "student_number_counters",
        "outbox",
        "audit_heads",
        "audit_log",
        "blind_indexes",
        "tombstones",
        "feedback",
        "legal_holds",
        "destruction_requests",
        "change_requests",
        "document_refs",
        "consents",
        "payments",
        "course_enrolments",
        "status_changes",
        "students",
        "registrations",
        "data_keys",
    ):
        op.drop_table(table)
