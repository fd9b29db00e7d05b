"""The destruction ledger (销毁台账): which students were destroyed, kept beside the backups.

Every executed destruction writes one small object ``ledger/<student number>.json``
in the backup bucket (under object lock where the server has it). Restoring a
backup taken before a destruction replays the ledger, so a destroyed student
never comes back — whatever an old backup still holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from attrs import frozen

from dossier.storage.objects import ObjectStore

PREFIX = "ledger/"


@frozen(kw_only=True)
class LedgerEntry:
    student_number: str
    branch: str
    destroyed_at: datetime
    certificate_id: str
    registration_ids: tuple[str, ...] = ()


def record(store: ObjectStore, bucket: str, entry: LedgerEntry) -> None:
    body = json.dumps(
        {
            "student_number": entry.student_number,
            "branch": entry.branch,
            "destroyed_at": entry.destroyed_at.isoformat(),
            "certificate_id": entry.certificate_id,
            "registration_ids": list(entry.registration_ids),
        },
        sort_keys=True,
    ).encode()
    store.put(
        bucket,
        f"{PREFIX}{entry.student_number}.json",
        body,
        len(body),
        content_type="application/json",
    )


def entries(store: ObjectStore, bucket: str) -> Iterator[LedgerEntry]:
    for info in store.list(bucket, prefix=PREFIX):
        data = json.loads(store.get(bucket, info.key))
        yield LedgerEntry(
            student_number=data["student_number"],
            branch=data["branch"],
            destroyed_at=datetime.fromisoformat(data["destroyed_at"]),
            certificate_id=data["certificate_id"],
            registration_ids=tuple(data.get("registration_ids", ())),
        )
