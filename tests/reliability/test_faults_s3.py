"""The S3 server gone in the middle of a backup: a clear failure, no false manifest, then recovery.

moto's standalone server keeps its buckets in memory only: stopped and started again on
its port it comes back empty, as no real S3 server does. So the tests reach it through
`faults.TcpProxy` and cut that: the port closes and every connection through it is reset,
which is what a client sees of a stopped server, while moto keeps what it stored (as MinIO
keeps its disks).

1. In process: `Backups.create` with small parts, the object store cut right after the
   second part is uploaded. The backup fails with ``object_store_error``
   naming the operation and the reason, not a traceback; the parts already uploaded stay
   without a manifest, so the catalogue (``backup list``) does not show the backup and it
   cannot be verified or restored. Once the store is back, the next backup succeeds and
   verifies.
2. Through the retention service: ``backup.create`` while the store is cut answers
   ``object_store_error`` (502) with a message and no traceback, the service keeps serving,
   and once the store is back ``backup.create`` / ``backup.verify`` / ``backup.list`` work.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dossier.core.contracts.retention import CreateBackup, ListBackups, VerifyBackup
from dossier.core.enums import Locale
from dossier.core.policy import Role
from dossier.messaging.client import DossierClient, RemoteError
from dossier.retention.archive import BackupKey
from dossier.retention.backups import MANIFEST, PREFIX, BackupRefused, Backups
from dossier.storage.db import Database
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import ObjectInfo, ObjectStoreError, S3ObjectStore
from tests.reliability.faults import (
    TcpProxy,
    admit_students,
    connect,
    fault_stack,
    start_service,
)
from tests.support.postgres import throwaway_database
from tests.support.s3 import S3Server, moto_server, unique_bucket

TRACEBACK_SIGNS = ("Traceback", 'File "', "urllib3", "minio", "Errno", "Connection refused")


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture
def proxy(s3: S3Server) -> Iterator[TcpProxy]:
    host, port = s3.endpoint.split(":")
    cut = TcpProxy((host, int(port)))
    cut.restore()
    try:
        yield cut
    finally:
        cut.cut()


class CutAfterParts(S3ObjectStore):
    """Cuts the store (`TcpProxy.cut`) once ``parts`` backup parts are uploaded through it."""

    def __init__(self, proxy: TcpProxy, s3: S3Server, parts: int) -> None:
        super().__init__(proxy.endpoint, s3.access_key, s3.secret_key, region=s3.region)
        self.proxy = proxy
        self.parts = parts
        self.uploaded: list[str] = []

    def put(self, bucket: str, key: str, *args: Any, **kwargs: Any) -> ObjectInfo:
        info = super().put(bucket, key, *args, **kwargs)
        if key.startswith(PREFIX) and not key.endswith(MANIFEST):
            self.uploaded.append(key)
            if len(self.uploaded) == self.parts:
                self.proxy.cut()
        return info


def test_backup_fails_clearly_when_s3_goes_away_mid_upload_and_the_next_one_works(
    s3: S3Server, proxy: TcpProxy, postgres_server_url: str
) -> None:
    with throwaway_database(postgres_server_url) as url:
        upgrade(url)
        db = Database(url, MasterKey.from_bytes(os.urandom(32)))
        try:
            admit_students(db, 30)
            store = CutAfterParts(proxy, s3, parts=2)
            documents, bucket = unique_bucket("docs"), unique_bucket("backups")
            backups = Backups(
                db,
                store,
                documents_bucket=documents,
                backups_bucket=bucket,
                key=BackupKey.from_text(BackupKey.generate()),
                part_size=4096,
            )
            for n in range(6):  # incompressible: a part of their own each
                blob = os.urandom(6000)
                store.put(documents, f"students/S{n}/doc-{n}", blob, len(blob))
            with pytest.raises(ObjectStoreError) as failed:
                backups.create()
            assert len(store.uploaded) >= 2, "the store was not cut in the middle of the upload"
            error = failed.value
            # the parts are uploaded in the background while documents are read: whichever
            # call meets the cut first names itself
            assert error.code == "object_store_error"
            assert error.operation in {"put", "list", "get"}, error.operation
            for locale in Locale:
                text = error.message(locale)
                assert error.reason in text, text
                assert not any(s in text for s in TRACEBACK_SIGNS), text
            assert f"Object store operation '{error.operation}' failed" in error.message(Locale.EN)

            proxy.restore()  # the server is back, with what it had
            orphans = {
                info.key.removeprefix(PREFIX).split("/")[0]: info.key
                for info in store.list(bucket, prefix=PREFIX)
            }
            assert len(orphans) == 1, orphans
            (failed_id,) = orphans
            keys = [i.key for i in store.list(bucket, prefix=f"{PREFIX}{failed_id}/")]
            assert len(keys) >= 2, keys
            assert not any(k.endswith(MANIFEST) for k in keys), keys
            assert backups.catalogue() == [], "a manifest claims the failed backup complete"
            with pytest.raises(BackupRefused):
                backups.verify(failed_id)

            store.parts = 0  # no more cuts
            manifest = backups.create()
            assert manifest.objects == 6
            assert len(manifest.parts) > 2
            checked = backups.verify(manifest.id)
            assert checked.ok, checked
            assert [m.id for m in backups.catalogue()] == [manifest.id]
        finally:
            db.dispose()


def test_backup_over_nats_answers_object_store_error_and_recovers(
    s3: S3Server, proxy: TcpProxy, postgres_server_url: str, tmp_path: Path
) -> None:
    with fault_stack(tmp_path, postgres_server_url) as (running, _):
        path = running.config_path
        text = path.read_text(encoding="utf-8")
        for old, new in (
            ("[objects]\n", f'[objects]\nregion = "{s3.region}"\n'),
            ('"dossier-documents"', f'"{unique_bucket("docs")}"'),
            ('"dossier-backups"', f'"{unique_bucket("backups")}"'),
        ):
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
        service = start_service(
            running,
            "retention",
            DOSSIER_OBJECTS_KIND="s3",
            DOSSIER_S3_ENDPOINT=proxy.endpoint,
            DOSSIER_S3_ACCESS_KEY=s3.access_key,
            DOSSIER_S3_SECRET_KEY=s3.secret_key,
        )
        running.wait_until_serving("retention", timeout=60)
        token = running.token("operator-1", Role.OPERATOR, branches=("*",))

        async def scenario() -> None:
            nc = await connect(running.url_for("staff"))
            operator = DossierClient(nc, token, timeout=60, locale="en")
            try:
                proxy.cut()
                with pytest.raises(RemoteError) as failed:
                    await operator.send(CreateBackup())
                error = failed.value
                assert (error.code, error.status) == ("object_store_error", 502), error
                assert error.message.startswith("Object store operation"), error.message
                assert not any(s in error.message for s in TRACEBACK_SIGNS), error.message
                proxy.restore()
                backup = await operator.send(CreateBackup())
                checked = await operator.send(VerifyBackup(backup_id=backup.id))
                assert checked.ok, checked
                listed = await operator.send(ListBackups())
                assert [item.id for item in listed.items] == [backup.id]
            finally:
                await nc.close()

        asyncio.run(scenario())
        assert service.poll() is None, "the retention service died with the object store"
