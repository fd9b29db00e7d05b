"""Errors raised by the storage layer itself (the domain errors come from `dossier.core.errors`).

Like every Dossier error they carry a stable ``code`` and never a personal
value: they name keys, tables and row ids, never what a row holds.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from dossier.core.errors import DossierError


class StorageError(DossierError):
    """Root of the storage layer's own errors."""

    code = "storage_error"
    rule = "storage_error"
    status = 500


class KeyUnavailable(StorageError):
    """A data key cannot be unwrapped: its master key is not configured (or it was shredded)."""

    code = "key_unavailable"
    rule = "key_unavailable"
    status = 500

    def __init__(self, key_id: str, master_key_id: str) -> None:
        self.key_id = key_id
        self.master_key_id = master_key_id
        super().__init__({"key_id": key_id, "master_key_id": master_key_id})


class IntegrityFailure(StorageError):
    """A sealed value failed authentication: wrong key, wrong row, or the bytes were altered."""

    code = "integrity_failure"
    rule = "integrity_failure"
    status = 500

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__({"where": where})


def translate(error: BaseException) -> DossierError | None:
    """What a service answers for a database failure that outlived the unit of work's own
    retries (connection lost, server down): ``storage_error``. The transaction rolled back,
    so a retry with the same idempotency key is safe. Anything else: None (not ours)."""
    return StorageError() if isinstance(error, DBAPIError) else None
