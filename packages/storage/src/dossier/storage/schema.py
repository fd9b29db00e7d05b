"""The tables, as SQLAlchemy Core objects for the repositories' queries.

The migration history (`dossier.storage.migrations`) is the schema's truth;
this module mirrors its head so queries can be written against `Table`
objects, and a test compares the two after every migration (alembic's
``compare_metadata``) so they cannot drift apart.

Layout in short (docs/storage.md has the whole picture):

- one row per record, one column per non-personal attribute; the personal
  attributes of a row are one AES-GCM sealed JSON blob ``personal_ct`` under
  the owning student's data key (``key_id``);
- the children of a dossier (status history, courses, payments, documents,
  consents) in their own tables, ordered by ``position``;
- ``blind_indexes`` for equality look-ups on encrypted values (duplicate
  detection), ``data_keys`` for the wrapped per-student keys;
- ``audit_log`` + ``audit_heads`` (the per-branch hash chains), ``outbox``
  (events for the relay), ``tombstones`` (what remains of destroyed students),
  ``student_number_counters`` (SQLite's student-number sequences),
  ``idempotency_keys`` (the first answer to each retried request),
  ``notifications`` (what was queued for students) and ``disclosures`` (data
  given to third parties);
- ``review_runs`` + ``review_findings`` (the quarterly review, 定期审核) and
  ``destruction_certificates`` (销毁证明), none of them holding personal data;
- ``restore_buckets``: the buckets restores wrote documents into, so destruction
  reaches every copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware timestamp, stored as UTC on every engine and read back aware (UTC).

    SQLite has no time zones and SQLAlchemy's SQLite ``DateTime`` drops
    ``tzinfo`` silently; this type refuses naive values and normalises to UTC
    so both engines hold and return the same instant.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a literal query
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id(name: str = "id", **kw: Any) -> Column[str]:
    return Column(name, String(64), **kw)


def _branch() -> Column[str]:
    return Column("branch", String(8), nullable=False)


def _student_number(*args: Any, **kw: Any) -> Column[str]:
    return Column("student_number", String(40), *args, **kw)


def _key_id() -> Column[str | None]:
    """The row's data key; NULL once the student is shredded (crypto-shredding)."""
    return Column("key_id", String(64), ForeignKey("data_keys.id"), nullable=True)


def _sealed(name: str = "personal_ct") -> Column[bytes | None]:
    return Column(name, LargeBinary, nullable=True)


def _version() -> Column[int]:
    return Column("version", Integer, nullable=False)


def _at(name: str, nullable: bool = False) -> Column[datetime]:
    return Column(name, UtcDateTime(), nullable=nullable)


data_keys = Table(
    "data_keys",
    metadata,
    _id(primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("master_key_id", String(64), nullable=False),
    _at("created_at"),
    Index(None, "master_key_id"),
)

registrations = Table(
    "registrations",
    metadata,
    _id(primary_key=True),
    _branch(),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    _at("submitted_at"),
    Column("guardian_consent", Boolean, nullable=False),
    _at("decided_at", nullable=True),
    Column("decided_by", String(128)),
    Column("decision_reason", Text),
    _student_number(nullable=True),
    _key_id(),
    _sealed(),
    _version(),
    Index(None, "branch", "status"),
    Index(None, "student_number"),
)

students = Table(
    "students",
    metadata,
    _student_number(primary_key=True),
    _branch(),
    Column("status", String(16), nullable=False),
    _at("admitted_at"),
    Column("registration_id", String(64)),
    _key_id(),
    _sealed(),
    _version(),
    Index(None, "branch", "status"),
    Index(None, "registration_id"),
)


def _student_fk() -> Column[str]:
    return _student_number(ForeignKey("students.student_number"), nullable=False)


status_changes = Table(
    "status_changes",
    metadata,
    _student_fk(),
    Column("position", Integer, nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("effective_date", Date, nullable=False),
    _at("recorded_at"),
    PrimaryKeyConstraint("student_number", "position"),
)

course_enrolments = Table(
    "course_enrolments",
    metadata,
    _id(primary_key=True),
    _student_fk(),
    Column("position", Integer, nullable=False),
    Column("course_code", String(64), nullable=False),
    Column("course_name", Text, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("status", String(16), nullable=False),
    Column("ended_reason", Text),
    Index(None, "student_number"),
)

payments = Table(
    "payments",
    metadata,
    _id(primary_key=True),
    _student_fk(),
    Column("position", Integer, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(16), nullable=False),
    Column("receipt_ref", String(128), nullable=False),
    _at("paid_at"),
    Column("recorded_by", String(128), nullable=False),
    Index(None, "student_number"),
)

consents = Table(
    "consents",
    metadata,
    _id(primary_key=True),
    _student_fk(),
    Column("position", Integer, nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("given_by", String(16), nullable=False),
    _at("granted_at"),
    Column("recorded_by", String(128), nullable=False),
    _at("withdrawn_at", nullable=True),
    Column("withdrawn_by", String(128)),
    Index(None, "student_number"),
)

document_refs = Table(
    "document_refs",
    metadata,
    Column("owner_kind", String(24), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(128), nullable=False),
    PrimaryKeyConstraint("owner_kind", "owner_id", "position"),
    Index(None, "sha256"),
)

change_requests = Table(
    "change_requests",
    metadata,
    _id(primary_key=True),
    _student_number(nullable=False),
    _branch(),
    Column("fields", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", String(128), nullable=False),
    _at("requested_at"),
    Column("dossier_version", Integer, nullable=False),
    Column("reviewed_by", String(128)),
    _at("reviewed_at", nullable=True),
    Column("review_comment", Text),
    Column("approved_fields", JSON, nullable=False),
    _at("applied_at", nullable=True),
    _at("answered_at", nullable=True),
    _key_id(),
    _sealed(),
    _version(),
    Index(None, "student_number"),
    Index(None, "branch", "status"),
)

destruction_requests = Table(
    "destruction_requests",
    metadata,
    _id(primary_key=True),
    _student_number(nullable=False),
    _branch(),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(128), nullable=False),
    _at("requested_at"),
    Column("status", String(16), nullable=False),
    Column("reviewed_by", String(128)),
    _at("reviewed_at", nullable=True),
    Column("review_reason", Text),
    _at("executed_at", nullable=True),
    Column("certificate_id", String(64)),
    _version(),
    Index(None, "student_number"),
    Index(None, "branch", "status"),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    _id(primary_key=True),
    _student_number(nullable=False),
    _branch(),
    Column("reason", Text, nullable=False),
    Column("set_by", String(128), nullable=False),
    _at("set_at"),
    Column("lifted_by", String(128)),
    _at("lifted_at", nullable=True),
    Column("lift_reason", Text),
    _version(),
    Index(None, "student_number"),
)

feedback = Table(
    "feedback",
    metadata,
    _id(primary_key=True),
    _branch(),
    Column("topic", String(128), nullable=False),
    Column("text", Text, nullable=False),
    _at("submitted_at"),
    Column("submitted_by", String(128)),
    Column("response", Text),
    Column("responded_by", String(128)),
    _at("responded_at", nullable=True),
    _version(),
    Index(None, "branch", "submitted_at"),
)

tombstones = Table(
    "tombstones",
    metadata,
    _student_number(primary_key=True),
    _branch(),
    _at("destroyed_at"),
    Column("certificate_id", String(64), nullable=False),
)

blind_indexes = Table(
    "blind_indexes",
    metadata,
    Column("owner_kind", String(24), nullable=False),
    Column("owner_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
    PrimaryKeyConstraint("owner_kind", "owner_id", "kind"),
    Index(None, "kind", "digest"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(primary_key=True),
    _branch(),
    Column("seq", BigInteger, nullable=False),
    _at("at"),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    _student_number(nullable=True),
    Column("subject", String(128)),
    Column("fields", JSON, nullable=False),
    Column("value_hashes", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("branch", "seq"),
    Index(None, "student_number"),
)

audit_heads = Table(
    "audit_heads",
    metadata,
    Column("branch", String(8), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("seq", BigInteger, Identity(), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("type", String(64), nullable=False),
    _branch(),
    Column("payload", Text, nullable=False),
    _at("created_at"),
    _at("sent_at", nullable=True),
    UniqueConstraint("seq"),
    Index(None, "sent_at", "seq"),
)

student_number_counters = Table(
    "student_number_counters",
    metadata,
    _branch(),
    Column("year", Integer, nullable=False),
    Column("last", BigInteger, nullable=False),
    PrimaryKeyConstraint("branch", "year"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("actor", String(128), nullable=False),
    Column("key", String(128), nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("response", LargeBinary, nullable=False),
    _at("created_at"),
    PrimaryKeyConstraint("actor", "key"),
    Index(None, "created_at"),
)
"""The first answer to each idempotency key (see `dossier.storage.idempotency`)."""

notifications = Table(
    "notifications",
    metadata,
    _id(primary_key=True),
    Column("notice_id", String(64), nullable=False),
    _branch(),
    _student_number(nullable=False),
    Column("kind", String(32), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("subject", String(64)),
    Column("token_hash", String(64)),
    _at("created_at"),
    _at("used_at", nullable=True),
    Index(None, "student_number", "created_at"),
    Index(None, "subject"),
)
"""变更通知: what the notify hook queued for a student; a confirmation token only as its hash."""

disclosures = Table(
    "disclosures",
    metadata,
    _id(primary_key=True),
    _student_number(nullable=False),
    _branch(),
    Column("recipient", Text, nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("fields", JSON, nullable=False),
    _at("disclosed_at"),
    Column("disclosed_by", String(128), nullable=False),
    Index(None, "student_number"),
)
"""披露记录: every release of a student's data to a third party (field names, never values)."""

review_runs = Table(
    "review_runs",
    metadata,
    _id(primary_key=True),
    _branch(),
    Column("quarter", String(6), nullable=False),
    _at("started_at"),
    _at("finished_at", nullable=True),
    Column("status", String(16), nullable=False),
    Column("signed_off_by", String(128)),
    _at("signed_off_at", nullable=True),
    Column("sign_off_note", Text),
    Column("counts", JSON, nullable=False),
    UniqueConstraint("branch", "quarter"),
)
"""定期审核: one quarterly review run per branch and quarter (``2026Q4``); counts, sign-off."""

review_findings = Table(
    "review_findings",
    metadata,
    _id(primary_key=True),
    Column("run_id", String(64), ForeignKey("review_runs.id"), nullable=False),
    _student_number(nullable=False),
    Column("rule", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("suggested_action", String(64), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolved_by", String(128)),
    _at("resolved_at", nullable=True),
    Column("note", Text),
    Index(None, "run_id", "status"),
    Index(None, "student_number"),
)
"""The review's work list: a rule's finding on one student (rule codes, field paths; no values)."""

destruction_certificates = Table(
    "destruction_certificates",
    metadata,
    _id(primary_key=True),
    Column("request_id", String(64), nullable=False),
    _student_number(nullable=False),
    _branch(),
    Column("approver", String(128), nullable=False),
    Column("responsible_person", String(128), nullable=False),
    _at("executed_at"),
    Column("method", Text, nullable=False),
    Column("destroyed", JSON, nullable=False),
    Column("kept", JSON, nullable=False),
    Column("verification", JSON),
    _at("created_at"),
    UniqueConstraint("request_id"),
    Index(None, "branch", "executed_at"),
    Index(None, "student_number"),
)
"""销毁证明: what was destroyed (field names, document digests), kept and why, how, by whom."""

import_jobs = Table(
    "import_jobs",
    metadata,
    _id(primary_key=True),
    _branch(),
    Column("actor", String(128), nullable=False),
    Column("source_system", String(64), nullable=False),
    Column("format", String(8), nullable=False),
    Column("strict", Boolean, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("rows_total", Integer, nullable=False),
    Column("rows_done", Integer, nullable=False),
    Column("valid", Integer, nullable=False),
    Column("invalid", Integer, nullable=False),
    Column("imported", Integer, nullable=False),
    Column("problems_total", Integer, nullable=False),
    Column("problems", JSON, nullable=False),
    _at("created_at"),
    _at("updated_at"),
    Index(None, "branch", "created_at"),
)
"""导入任务: one row per bulk import; ``problems`` holds rows, columns, rule codes (no values)."""

gateway_accounts = Table(
    "gateway_accounts",
    metadata,
    _id(primary_key=True),
    Column("login", String(128), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=True),
    Column("roles", JSON, nullable=False),
    Column("branches", JSON, nullable=False),
    _student_number(nullable=True, unique=True),
    Column("locale", String(8), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    _at("locked_until", nullable=True),
    Column("activation_sha256", String(64), nullable=True, unique=True),
    _at("activation_expires", nullable=True),
    _at("created_at"),
    _at("updated_at"),
    Column("session_version", Integer, nullable=False, server_default="0"),
    _at("activated_at", nullable=True),
)
"""网关账户: who may sign in to the web pages. Staff sign in with a login name; a student
with their student number, after activating the one-time link staff gave them. Only the
argon2 hash of a password and the SHA-256 of an activation code are kept. A session is
good while it carries the account's ``session_version`` (moved on sign-out, password,
activation, invitation, roles, disabling)."""

gateway_account_events = Table(
    "gateway_account_events",
    metadata,
    _id(primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("by_account", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    _at("at"),
    Index(None, "account_id", "at"),
)
"""What was done to a gateway account and by which account: invited, reset (an admin, with a
reason), activated, credentials (a new password), roles, disabled. A student sees their
activations."""

restore_buckets = Table(
    "restore_buckets",
    metadata,
    Column("bucket", String(63), primary_key=True),
    Column("backup_id", String(64), nullable=False),
    _at("first_restored_at"),
    _at("last_restored_at"),
)
"""恢复桶: every bucket other than the documents bucket that a restore wrote documents into
(a scratch restore, ``dossier backup restore --into-bucket``). Destruction deletes the
student's objects in each of them too, so no copy outlives the student."""

read_trail = Table(
    "read_trail",
    metadata,
    _id(primary_key=True),
    _branch(),
    Column("seq", BigInteger, nullable=True),
    _at("at"),
    Column("actor", String(128), nullable=False),
    Column("roles", JSON, nullable=False),
    _student_number(nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("request_id", String(128), nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    UniqueConstraint("branch", "seq"),
    Index(None, "student_number", "at"),
    Index(None, "actor", "at"),
)
"""查阅记录: every request that revealed a student's unmasked personal data or documents — who,
roles, when, which student, which kinds of data (field groups, never values), which channel —
chained per branch like ``audit_log`` (`dossier.storage.read_trail`): inserted unsealed (``seq``,
``prev_hash``, ``hash`` NULL) with the read, sealed into the chain by the chainer just after."""

read_trail_heads = Table(
    "read_trail_heads",
    metadata,
    Column("branch", String(8), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

read_alerts = Table(
    "read_alerts",
    metadata,
    _id(primary_key=True),
    _branch(),
    Column("actor", String(128), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("window", String(32), nullable=False),
    Column("count", Integer, nullable=False),
    Column("threshold", Integer, nullable=False),
    _at("raised_at"),
    Column("notices", JSON, nullable=False),
    Column("acknowledged_by", String(128), nullable=True),
    _at("acknowledged_at", nullable=True),
    Column("comment", Text, nullable=True),
    UniqueConstraint("actor", "rule", "window"),
    Index(None, "branch", "raised_at"),
)
"""Misuse alerts: one per (staff member, rule, window) whose per-branch read threshold was
crossed, with the notices sent to the branch manager (channel, text); an auditor acknowledges
it with a comment."""

confidentiality_policies = Table(
    "confidentiality_policies",
    metadata,
    _branch(),
    Column("version", Integer, nullable=False),
    Column("text_zh", Text, nullable=False),
    Column("text_en", Text, nullable=False),
    _at("published_at"),
    Column("published_by", String(128), nullable=False),
    PrimaryKeyConstraint("branch", "version"),
)
"""保密承诺: each branch's confidentiality policy, versioned, in Chinese and English; the
newest version is the current one."""

policy_acknowledgements = Table(
    "policy_acknowledgements",
    metadata,
    _id(primary_key=True),
    Column("actor", String(128), nullable=False),
    _branch(),
    Column("version", Integer, nullable=False),
    _at("at"),
    Index(None, "actor", "branch"),
)
"""A staff member (their actor id) acknowledged a version of a branch's policy, at ``at``."""

training_sessions = Table(
    "training_sessions",
    metadata,
    _id(primary_key=True),
    _branch(),
    Column("topic", String(200), nullable=False),
    Column("held_on", Date, nullable=False),
    Column("trainer", String(128), nullable=False),
    Column("materials", JSON, nullable=False),
    Column("recorded_by", String(128), nullable=False),
    _at("recorded_at"),
    Index(None, "branch", "held_on"),
)
"""保密培训: a training session for staff; ``materials`` lists references (titles, links or
object keys) to what was handed out."""

training_attendees = Table(
    "training_attendees",
    metadata,
    Column("session_id", String(64), ForeignKey("training_sessions.id"), nullable=False),
    Column("attendee", String(128), nullable=False),
    PrimaryKeyConstraint("session_id", "attendee"),
    Index(None, "attendee"),
)
"""Who attended a training session (their actor id)."""

training_materials = Table(
    "training_materials",
    metadata,
    _id(primary_key=True),
    Column("session_id", String(64), ForeignKey("training_sessions.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("media_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Index(None, "session_id"),
)
"""The material files of a training session: each sealed under the branch's training key in
the document store, at ``training/<branch>/<session id>/<id>`` (`dossier.storage.documents.
DocumentStore.put_material`); here its file name, media type, size and SHA-256."""

PERSONAL_TABLES = (registrations, students, change_requests)
"""The tables whose rows carry a sealed ``personal_ct`` blob and a ``key_id``."""
