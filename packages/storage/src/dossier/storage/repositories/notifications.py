"""变更通知: what the notify hook queued for a student (the ``outbox`` channel).

A notification's text names the student number and nothing personal. A
confirmation token is never stored: the text holds `TOKEN_PLACEHOLDER` where
the token was, and ``token_hash`` its SHA-256, against which an answer is
checked (`consume`). Every delivery of one notice (one per channel a plugin
served) shares its ``notice_id``; using the token once uses it for them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import RowMapping, insert, select, update

from dossier.storage.repositories.base import Session
from dossier.storage.schema import notifications as table

TOKEN_PLACEHOLDER = "{token}"  # noqa: S105 - a placeholder, not a secret
"""Stands in the stored text where the delivered text carried the confirmation token."""


@frozen(kw_only=True)
class StoredNotification:
    id: str
    notice_id: str
    branch: str
    student_number: str
    kind: str
    channel: str
    text: str
    created_at: datetime
    subject: str | None = None
    token_hash: str | None = None
    used_at: datetime | None = None


class NotificationRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, items: Sequence[StoredNotification]) -> None:
        if items:
            self._s.conn.execute(insert(table), [_values(item) for item in items])

    def for_student(self, student_number: str, *, limit: int = 100) -> list[StoredNotification]:
        """The student's notifications, newest first."""
        query = (
            select(table)
            .where(table.c.student_number == student_number)
            .order_by(table.c.created_at.desc(), table.c.id)
            .limit(limit)
        )
        return [_record(row) for row in self._s.conn.execute(query).mappings()]

    def for_subject(self, subject: str) -> list[StoredNotification]:
        query = select(table).where(table.c.subject == subject).order_by(table.c.created_at)
        return [_record(row) for row in self._s.conn.execute(query).mappings()]

    def consume(self, subject: str, token_hash: str, at: datetime) -> bool:
        """Use a token once: mark the unused notice of ``subject`` with this token hash (and its
        other deliveries) used. False when there is none — a wrong or already used token."""
        notice = self._s.conn.execute(
            select(table.c.notice_id)
            .where(
                table.c.subject == subject,
                table.c.token_hash == token_hash,
                table.c.used_at.is_(None),
            )
            .limit(1)
        ).scalar_one_or_none()
        if notice is None:
            return False
        result = self._s.conn.execute(
            update(table)
            .where(table.c.notice_id == notice, table.c.used_at.is_(None))
            .values(used_at=at)
        )
        return bool(result.rowcount)


def _values(n: StoredNotification) -> dict[str, Any]:
    return {
        "id": n.id,
        "notice_id": n.notice_id,
        "branch": n.branch,
        "student_number": n.student_number,
        "kind": n.kind,
        "channel": n.channel,
        "text": n.text,
        "subject": n.subject,
        "token_hash": n.token_hash,
        "created_at": n.created_at,
        "used_at": n.used_at,
    }


def _record(row: RowMapping) -> StoredNotification:
    return StoredNotification(
        id=row["id"],
        notice_id=row["notice_id"],
        branch=row["branch"],
        student_number=row["student_number"],
        kind=row["kind"],
        channel=row["channel"],
        text=row["text"],
        created_at=row["created_at"],
        subject=row["subject"],
        token_hash=row["token_hash"],
        used_at=row["used_at"],
    )
