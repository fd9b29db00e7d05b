"""Notifications (变更通知) through the branch's notify hook, and their one-time confirmation codes.

A change applied to a student's dossier is announced through
`BranchRules.notify` on the ``outbox`` channel; each `Delivery` is stored in
``notifications`` in the same transaction as the change. The notice carries a
confirmation code with which the student confirms or disputes the change.

The code is never stored. It is derived from the notice id under the
student's own data key — ``base64url(HMAC(HKDF(data key, "dossier/confirmation-
code"), notice id))`` — so the service can show it again to the student (and
only to them), the database holds nothing but its SHA-256 (checked on
answer, then marked used), and crypto-shredding the student makes it
underivable like everything else of theirs. Staff see the stored text with
the code blanked out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime

from dossier.core.caller import Caller
from dossier.core.contracts.approvals import ListNotifications, NotificationPage, NotificationView
from dossier.core.hookspecs import Notice
from dossier.core.plugins import BranchRules
from dossier.core.policy import Operation
from dossier.core.views import student_only
from dossier.storage import crypto
from dossier.storage.repositories.notifications import TOKEN_PLACEHOLDER, StoredNotification
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, page_limit

CHANNELS = ("outbox",)
CODE_PURPOSE = "dossier/confirmation-code"
CODE_BYTES = 18
"""144 bits: 24 URL-safe characters."""
BLANKED = "••••••"


def confirmation_code(data_key: bytes, notice_id: str) -> str:
    key = crypto.derive_key(data_key, CODE_PURPOSE)
    digest = hmac.new(key, notice_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:CODE_BYTES]).decode("ascii")


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def notify(
    uow: UnitOfWork,
    rules: BranchRules,
    *,
    student_number: str,
    kind: str,
    subject: str | None,
    at: datetime,
    with_code: bool,
) -> tuple[StoredNotification, ...]:
    """Ask the notify hook to tell the student; store what it delivered, without the code."""
    notice_id = str(uuid.uuid4())
    code = None
    if with_code:
        code = confirmation_code(uow.students.data_key(student_number), notice_id)
    deliveries = rules.notify(
        Notice(student_number=student_number, kind=kind, token=code), channels=CHANNELS
    )
    stored = tuple(
        StoredNotification(
            id=str(uuid.uuid4()),
            notice_id=notice_id,
            branch=rules.branch.code,
            student_number=student_number,
            kind=kind,
            channel=delivery.channel,
            text=delivery.text if code is None else delivery.text.replace(code, TOKEN_PLACEHOLDER),
            created_at=at,
            subject=subject,
            token_hash=None if code is None else code_hash(code),
        )
        for delivery in deliveries
    )
    uow.notifications.add(stored)
    return stored


def shown_code(item: StoredNotification, data_key: bytes | None) -> str | None:
    """The notice's code (``data_key`` given: for the student, while unused), else None."""
    if item.token_hash is None or data_key is None or item.used_at is not None:
        return None
    code = confirmation_code(data_key, item.notice_id)
    return code if hmac.compare_digest(code_hash(code), item.token_hash) else None


def shown_text(item: StoredNotification, data_key: bytes | None) -> str:
    """The text with its code filled in (``data_key`` given: for the student, while unused),
    else blanked out."""
    if item.token_hash is None:
        return item.text
    code = shown_code(item, data_key)
    return item.text.replace(TOKEN_PLACEHOLDER, BLANKED if code is None else code)


class NotificationHandlers(UseCases):
    def list_notifications(self, caller: Caller, query: ListNotifications) -> NotificationPage:
        """A student's notifications: the student sees the confirmation code, staff never."""
        page_limit(query.limit)
        actor = caller.actor

        def work(uow: UnitOfWork) -> NotificationPage:
            dossier = self._dossier(uow, actor, Operation.CHANGE_READ, query.student_number)
            own = student_only(actor) and actor.student_number == dossier.student_number
            key = uow.students.data_key(dossier.student_number) if own else None
            items = uow.notifications.for_student(dossier.student_number, limit=query.limit)
            return NotificationPage(
                items=tuple(
                    NotificationView(
                        notification_id=item.id,
                        student_number=item.student_number,
                        kind=item.kind,
                        channel=item.channel,
                        text=shown_text(item, key),
                        created_at=item.created_at,
                        change_id=item.subject,
                        answerable=item.token_hash is not None and item.used_at is None,
                        code=shown_code(item, key),
                    )
                    for item in items
                )
            )

        return self._reading(work)
