"""The buckets restores wrote documents into (恢复桶); free text of destroyed students erased.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-13

``restore_buckets``: one row per bucket other than the documents bucket that a
restore (``dossier backup restore --into-bucket``) has written documents into —
the bucket, the last backup restored there, when first and last. Destruction
deletes the destroyed student's objects in each of these buckets as it does in
the documents bucket.

No column changes elsewhere: from this revision on, destruction erases the free
text linked to a student in place (``dossier.storage.shredding``). Students
destroyed *before* it kept theirs readable — reasons, comments, notes, feedback
and its sender, course names, receipt numbers, a disclosure's recipient, a
notification's text, an account event's reason — and a web account that could
still sign in. This revision does for each tombstone what destruction now does:
erases those columns (``[erased]``), deletes the stored answers their web
account was sent, and closes the account. Self-contained SQL over the tables as
they are at this revision (never the code's current map, which later revisions
may extend). Irreversible: the downgrade drops only the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ERASED = "[erased]"

_BY_NUMBER = {
    "status_changes": ("reason",),
    "course_enrolments": ("course_name", "ended_reason"),
    "payments": ("receipt_ref",),
    "change_requests": ("review_comment",),
    "destruction_requests": ("reason", "review_reason"),
    "legal_holds": ("reason", "lift_reason"),
    "notifications": ("text",),
    "disclosures": ("recipient",),
    "review_findings": ("note",),
}
"""Free text on rows keyed by the student number, as of this revision."""


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns))


def _erased(table: sa.TableClause, columns: tuple[str, ...]) -> dict[str, object]:
    return {
        c: sa.case((table.c[c].is_(None), sa.null()), else_=sa.literal(ERASED)) for c in columns
    }


def _erase_destroyed(conn: sa.Connection) -> None:
    tombstones = _table("tombstones", "student_number")
    students = _table("students", "student_number", "registration_id")
    registrations = _table("registrations", "id", "student_number", "decision_reason")
    accounts = _table(
        "gateway_accounts",
        "id",
        "login",
        "student_number",
        "disabled",
        "password_hash",
        "activation_sha256",
        "activation_expires",
        "session_version",
    )
    events = _table("gateway_account_events", "account_id", "reason")
    feedback = _table("feedback", "submitted_by", "topic", "text", "response")
    answers = _table("idempotency_keys", "actor")
    for number in conn.execute(sa.select(tombstones.c.student_number)).scalars().all():
        registration_id = conn.execute(
            sa.select(students.c.registration_id).where(students.c.student_number == number)
        ).scalar_one_or_none()
        conn.execute(
            sa.update(registrations)
            .where(
                sa.or_(
                    registrations.c.student_number == number,
                    registrations.c.id == (registration_id or ""),
                )
            )
            .values(_erased(registrations, ("decision_reason",)))
        )
        for name, columns in _BY_NUMBER.items():
            table = _table(name, "student_number", *columns)
            conn.execute(
                sa.update(table)
                .where(table.c.student_number == number)
                .values(_erased(table, columns))
            )
        owned = conn.execute(
            sa.select(accounts.c.id, accounts.c.login).where(accounts.c.student_number == number)
        ).all()
        actors = [f"web:{row.login}" for row in owned]
        conn.execute(
            sa.update(feedback)
            .where(
                sa.or_(
                    feedback.c.submitted_by.in_(actors),
                    feedback.c.submitted_by.contains(number, autoescape=True),
                )
            )
            .values(_erased(feedback, ("topic", "text", "submitted_by", "response")))
        )
        conn.execute(
            sa.delete(answers).where(
                sa.or_(
                    answers.c.actor.in_(actors), answers.c.actor.contains(number, autoescape=True)
                )
            )
        )
        ids = [row.id for row in owned]
        conn.execute(
            sa.update(events)
            .where(events.c.account_id.in_(ids))
            .values(_erased(events, ("reason",)))
        )
        conn.execute(
            sa.update(accounts)
            .where(accounts.c.id.in_(ids))
            .values(
                disabled=True,
                password_hash=None,
                activation_sha256=None,
                activation_expires=None,
                session_version=accounts.c.session_version + 1,
            )
        )


def upgrade() -> None:
    op.create_table(
        "restore_buckets",
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("backup_id", sa.String(64), nullable=False),
        sa.Column("first_restored_at", TS, nullable=False),
        sa.Column("last_restored_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("bucket", name="pk_restore_buckets"),
    )
    _erase_destroyed(op.get_bind())


def downgrade() -> None:
    op.drop_table("restore_buckets")
