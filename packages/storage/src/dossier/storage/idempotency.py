"""At most once per idempotency key: the first answer is stored with the change it answers.

The ledger row is written in the same transaction as the change, so either
both exist or neither: a retried request finds the stored answer and returns
it, never a second effect. Two copies racing each other collide on the
primary key; the loser's transaction rolls back and `transact` re-runs it,
now finding the winner's answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from attrs import frozen
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from dossier.core.errors import Conflict, DossierError
from dossier.storage.schema import idempotency_keys

if TYPE_CHECKING:
    from dossier.storage.db import Database
    from dossier.storage.uow import UnitOfWork

log = logging.getLogger("dossier.storage")

R = TypeVar("R")

KEEP_FOR = timedelta(days=7)
"""How long answers are kept: far longer than any client retries."""


class IdempotencyKeyReused(DossierError):
    """The key was used before, by the same actor, for a different request."""

    code = "idempotency_key_reused"
    rule = "idempotency_key_reused"
    status = 422


@frozen
class Once:
    """Who asked, with which key, for what (a hash of the verb and body)."""

    actor: str
    key: str
    fingerprint: str


class IdempotencyLedger:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def recall(self, once: Once) -> bytes | None:
        row = (
            self._conn.execute(
                select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
                    idempotency_keys.c.actor == once.actor, idempotency_keys.c.key == once.key
                )
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        if row["fingerprint"] != once.fingerprint:
            raise IdempotencyKeyReused()
        return bytes(row["response"])

    def remember(self, once: Once, response: bytes, at: datetime | None = None) -> None:
        self._conn.execute(
            insert(idempotency_keys).values(
                actor=once.actor,
                key=once.key,
                fingerprint=once.fingerprint,
                response=response,
                created_at=at or datetime.now(UTC),
            )
        )

    def prune(self, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(UTC)) - KEEP_FOR
        result = self._conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)
        )
        return int(result.rowcount or 0)


def _transient(error: Exception) -> bool:
    if isinstance(error, Conflict | IntegrityError | OperationalError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _recall(db: Database, once: Once) -> bytes | None:
    with db.unit_of_work() as uow:
        return IdempotencyLedger(uow.connection).recall(once)


def transact(
    db: Database,
    work: Callable[[UnitOfWork], R],
    *,
    once: Once | None = None,
    encode: Callable[[R], bytes],
    decode: Callable[[bytes], R],
    attempts: int = 4,
) -> R:
    """Run ``work`` in a unit of work and commit; at most once per ``once`` key.

    Transient faults — a lost race on the key, an optimistic-version conflict,
    a dropped connection, a serialisation failure — re-run the whole unit
    (bounded, with a short backoff), which is safe because nothing of a
    failed attempt was committed.
    """
    delay = 0.02
    for attempt in range(1, attempts + 1):
        try:
            with db.unit_of_work() as uow:
                ledger = IdempotencyLedger(uow.connection)
                if once is not None:
                    stored = ledger.recall(once)
                    if stored is not None:
                        return decode(stored)
                result = work(uow)
                if once is not None:
                    ledger.remember(once, encode(result))
                uow.commit()
                return result
        except Exception as error:
            if once is not None and isinstance(error, DossierError):
                # A retry that raced its own first attempt (the client timed out and sent the
                # same key again while the first was still working): when the first has been
                # answered meanwhile, this refusal came from seeing its effects (a duplicate of
                # itself, a decided registration). The first answer is the answer.
                stored = _recall(db, once)
                if stored is not None:
                    return decode(stored)
            if attempt == attempts or not _transient(error):
                raise
            log.info("retrying a unit of work after %s", type(error).__name__)
            time.sleep(delay)
            delay *= 3
    raise AssertionError("unreachable")
