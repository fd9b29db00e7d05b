"""Helpers of the in-process intake tests (test_handlers_*.py): callers, forms, counters.

The applicants are the builders' adult (`tests.support.builders.personal`) with a
passport and a mobile of their own per ``n``, so two forms with different ``n``
are different people to the duplicate check.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlalchemy import func, select

from dossier.core.attachments import Attachment
from dossier.core.caller import Caller
from dossier.core.commands import ReviewRegistration, SubmitRegistration
from dossier.core.enums import Channel, Decision, DocumentKind, IdDocumentType
from dossier.core.policy import Actor, Role
from dossier.core.records import IdDocument, PersonalDetails
from dossier.intake.handlers import Intake
from dossier.storage.db import Database
from dossier.storage.schema import audit_log, idempotency_keys, outbox, registrations, students
from tests.integration.intake.conftest import OFFICER, caller, count
from tests.support.builders import needs, personal

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + b"id-card-scan"
PDF = b"%PDF-1.7\n" + b"receipt " * 40

DESK = caller(Role.FRONT_DESK)
APPROVER = caller(Role.APPROVER)
REVIEWER = caller(Role.REVIEWER)
OFFICER_BJ = caller(Role.ENROLMENT_OFFICER, "BJ01")
DESK_BJ = caller(Role.FRONT_DESK, "BJ01")
ADMIN = Caller(Actor(id="admin-1", roles=frozenset({Role.ADMIN})))
"""Chain-wide: no branch in the token, every branch in reach."""


def student(number: str | None = None) -> Caller:
    return Caller(
        Actor(id=f"student-{number}", roles=frozenset({Role.STUDENT}), student_number=number)
    )


def keyed(c: Caller, key: str | None = None) -> Caller:
    """The same actor with an idempotency key (a new one unless given)."""
    return Caller(c.actor, key or f"key-{uuid.uuid4().hex}")


def passport(n: int) -> IdDocument:
    return IdDocument(type=IdDocumentType.PASSPORT, number=f"E{10_000_000 + n}")


def mobile(n: int) -> str:
    return f"+86139{n:08d}"


def applicant(n: int = 0, **overrides: Any) -> PersonalDetails:
    values: dict[str, Any] = {"id_document": passport(n), "phone": mobile(n)}
    values.update(overrides)
    return personal(**values)


def attachment(
    data: bytes = PNG,
    kind: DocumentKind = DocumentKind.ID_PROOF,
    media_type: str = "image/png",
    sha256: str | None = None,
) -> Attachment:
    return Attachment(
        kind=kind, media_type=media_type, content=base64.b64encode(data).decode(), sha256=sha256
    )


def submission(
    n: int = 0,
    *,
    branch: str = "SH01",
    channel: Channel = Channel.FRONT_DESK,
    attachments: tuple[Attachment, ...] | None = None,
    **overrides: Any,
) -> SubmitRegistration:
    """A valid form of applicant ``n`` with a proof of identity (needed at admission)."""
    values: dict[str, Any] = {
        "branch": branch,
        "channel": channel,
        "applicant": applicant(n),
        "needs": needs(),
        "attachments": (attachment(),) if attachments is None else attachments,
    }
    values.update(overrides)
    return SubmitRegistration(**values)


def approve(registration_id: str, *, allow_duplicates: bool = False) -> ReviewRegistration:
    return ReviewRegistration(
        registration_id=registration_id,
        decision=Decision.APPROVE,
        reason="documents checked",
        allow_duplicates=allow_duplicates,
    )


def reject(registration_id: str, reason: str = "incomplete form") -> ReviewRegistration:
    return ReviewRegistration(
        registration_id=registration_id, decision=Decision.REJECT, reason=reason
    )


def submitted(intake: Intake, n: int = 0, *, branch: str = "SH01", **overrides: Any) -> str:
    """A registration submitted by the branch's officer; its id."""
    officer = OFFICER if branch == "SH01" else OFFICER_BJ
    return intake.submit_registration(
        officer, submission(n, branch=branch, **overrides)
    ).registration_id


def admitted(intake: Intake, n: int = 0, *, branch: str = "SH01", **overrides: Any) -> str:
    """A registration submitted and accepted by the branch's officer; the student number."""
    officer = OFFICER if branch == "SH01" else OFFICER_BJ
    registration_id = submitted(intake, n, branch=branch, **overrides)
    number = intake.review_registration(officer, approve(registration_id)).student_number
    assert number is not None
    return number


# -- what the database holds -----------------------------------------------------------------


def audit_actions(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, func.count()).group_by(audit_log.c.action))
        return {action: int(n) for action, n in rows}


def event_types(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.type, func.count()).group_by(outbox.c.type))
        return {kind: int(n) for kind, n in rows}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    keys = set(before) | set(after)
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)
    }


def snapshot(db: Database) -> dict[str, Any]:
    """Rows, statuses and versions: what must not move when a request is refused or repeated."""
    with db.engine.connect() as conn:
        regs = sorted(
            (r.status, r.version)
            for r in conn.execute(select(registrations.c.status, registrations.c.version))
        )
        versions = sorted(conn.execute(select(students.c.version)).scalars())
    return {
        "registrations": regs,
        "students": versions,
        "audit": audit_actions(db),
        "events": event_types(db),
        "answers": count(db, idempotency_keys),
    }


def outbox_payloads(db: Database) -> str:
    with db.engine.connect() as conn:
        return "\n".join(conn.execute(select(outbox.c.payload)).scalars())


def kept_answers(db: Database) -> bytes:
    with db.engine.connect() as conn:
        return b"".join(
            bytes(r) for r in conn.execute(select(idempotency_keys.c.response)).scalars()
        )
