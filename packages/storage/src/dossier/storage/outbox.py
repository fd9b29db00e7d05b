"""The transactional outbox: domain events written in the same transaction as the change.

The messaging layer's relay reads `Outbox.pending`, publishes each message on
its ``subject`` (``dossier.events.<branch>.<type>``) with ``Nats-Msg-Id`` =
``event_id`` and calls `Outbox.mark_sent`. On PostgreSQL `pending` locks the
rows it returns with ``FOR UPDATE SKIP LOCKED``, so several relays can run
side by side without handing out the same message twice; a message is
published at least once (the event id makes the stream drop repeats).

Events carry references, never personal values (see `dossier.core.events`);
the payload is the event's wire JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, func, insert, select, update

from dossier.core import wire
from dossier.core.events import DomainEvent
from dossier.storage.schema import outbox
from dossier.storage.sql import is_postgresql

SUBJECT_PREFIX = "dossier.events"


@frozen(kw_only=True)
class OutboxMessage:
    event_id: str
    seq: int
    subject: str
    type: str
    branch: str
    payload: str
    created_at: datetime


def subject_for(event: DomainEvent) -> str:
    return f"{SUBJECT_PREFIX}.{event.branch}.{event.type}"


def encode_event(event: DomainEvent) -> str:
    """The event as JSON text in core's wire format (tagged with its ``type``)."""
    return wire.dumps(event).decode("utf-8")


def rows_for(events: Iterable[DomainEvent], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "event_id": event.event_id,
            "subject": subject_for(event),
            "type": event.type,
            "branch": event.branch,
            "payload": encode_event(event),
            "created_at": now,
        }
        for event in events
    ]


class Outbox:
    """The outbox as seen from one transaction (``uow.outbox``)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, events: Iterable[DomainEvent]) -> None:
        """Write ``events``; they become visible to the relay when the transaction commits."""
        self.insert_rows(rows_for(events, datetime.now(UTC)))

    def insert_rows(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if not is_postgresql(self._conn):
            # SQLite has no identity columns outside the primary key; it has a
            # single writer, so max + 1 under the write lock is a sequence.
            last = self._conn.execute(select(func.coalesce(func.max(outbox.c.seq), 0))).scalar()
            for offset, row in enumerate(rows, start=1):
                row["seq"] = int(last or 0) + offset
        self._conn.execute(insert(outbox), rows)

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unsent messages, oldest first (locked for this transaction on PostgreSQL)."""
        query = select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.seq).limit(limit)
        if is_postgresql(self._conn):
            query = query.with_for_update(skip_locked=True)
        return [
            OutboxMessage(
                event_id=row.event_id,
                seq=row.seq,
                subject=row.subject,
                type=row.type,
                branch=row.branch,
                payload=row.payload,
                created_at=row.created_at,
            )
            for row in self._conn.execute(query).all()
        ]

    def backlog(self) -> int:
        """How many messages wait for the relay (the ``dossier_outbox_backlog`` gauge)."""
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int(self._conn.execute(query).scalar_one())

    def mark_sent(self, event_ids: Sequence[str], at: datetime | None = None) -> int:
        """Mark messages relayed; returns how many were still unsent."""
        if not event_ids:
            return 0
        result = self._conn.execute(
            update(outbox)
            .where(outbox.c.event_id.in_(list(event_ids)), outbox.c.sent_at.is_(None))
            .values(sent_at=at or datetime.now(UTC))
        )
        return int(result.rowcount)
