"""The buckets restores wrote documents into (恢复桶), so destruction reaches every copy.

A restore into a bucket other than the documents bucket — a scratch restore to
look at an old state, ``dossier backup restore --into-bucket`` — copies every
student's document objects there. Those copies are sealed under the students'
data keys, but the scratch database restored beside them holds those keys
too: a student destroyed afterwards would stay readable there. So `record`
notes the bucket in ``restore_buckets`` of the live database *before* a single
document is written, and destruction (`dossier.retention.destruction`) deletes
the student's objects in every recorded bucket as it does in the documents
bucket, and verifies that none is left. Bucket names and backup ids only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from dossier.storage.db import Database
from dossier.storage.schema import restore_buckets as table
from dossier.storage.sql import insert_ignoring_conflicts


def record(db: Database, bucket: str, backup_id: str, at: datetime) -> None:
    """Note that a restore of ``backup_id`` writes documents into ``bucket`` (idempotent)."""
    with db.engine.begin() as conn:
        conn.execute(
            insert_ignoring_conflicts(conn, table).values(
                bucket=bucket, backup_id=backup_id, first_restored_at=at, last_restored_at=at
            )
        )
        conn.execute(
            update(table)
            .where(table.c.bucket == bucket)
            .values(backup_id=backup_id, last_restored_at=at)
        )


def buckets(conn: Connection) -> list[str]:
    """Every bucket a restore wrote documents into, by name."""
    return list(conn.execute(select(table.c.bucket).order_by(table.c.bucket)).scalars())
