"""The retention service on NATS: review, destruction, backups and audit verification.

    dossier-retention --config dossier-data/dossier.toml

Besides its endpoints it runs a durable JetStream consumer that executes
approved destruction requests (``dossier.events.*.destruction.moved``), and a
periodic job that starts the quarterly reviews that are due and finishes any
destruction left half-done. ``backup.create``, ``backup.verify`` and
``review.start`` publish their progress while they run (see
`dossier.messaging.progress`): ``dossier.progress.retention.<verb with ->.<job id>``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from dossier.core.caller import Caller
from dossier.core.contracts import retention as api
from dossier.core.enums import Locale
from dossier.core.policy import Actor, Role
from dossier.host.config import Config
from dossier.host.process import Process
from dossier.host.runtime import object_store, serve
from dossier.messaging.events import DurableConsumer
from dossier.messaging.service import ServiceSpec
from dossier.retention.archive import BackupKey
from dossier.retention.backups import Backups
from dossier.retention.destruction import Destruction
from dossier.retention.operations import Operations
from dossier.retention.review import Reviews
from dossier.storage.db import Database

log = logging.getLogger("dossier.retention")

VERSION = "0.1.0"
SCHEDULER = Actor(id="dossier-retention-scheduler", roles={Role.REVIEWER}, branches={"*"})
DESTRUCTION_EVENTS = "dossier.events.*.destruction.moved"


def spec(
    reviews: Reviews, destruction: Destruction, operations: Operations, locale: Locale
) -> ServiceSpec:
    """Each of retention's contracts (`dossier.core.contracts.retention`) and its use case."""
    return ServiceSpec.declare(
        "retention",
        version=VERSION,
        description="quarterly review, destruction with certificates, backups, audit verification",
        default_locale=locale,
        handlers={
            api.StartReview: reviews.start_run,
            api.GetReviewRun: reviews.get_run,
            api.ListReviewRuns: reviews.list_runs,
            api.ListFindings: reviews.list_findings,
            api.ResolveFinding: reviews.resolve,
            api.WaiveFinding: reviews.waive,
            api.SignOffReview: reviews.sign_off,
            api.ExportReview: reviews.export_csv,
            api.ReviewReport: reviews.report_html,
            api.ExecuteDestruction: destruction.execute_command,
            api.GetCertificate: destruction.get_certificate,
            api.ListCertificates: destruction.list_certificates,
            api.CreateBackup: operations.create_backup,
            api.ListBackups: operations.list_backups,
            api.VerifyBackup: operations.verify_backup,
            api.VerifyAudit: operations.verify_audit,
        },
    )


def build(config: Config, db: Database) -> tuple[Reviews, Destruction, Operations]:
    objects = object_store(config.objects)
    if config.retention.backup_key_file is None:
        raise SystemExit("keys.backup_key_file is not configured")
    backups = Backups(
        db,
        objects,
        documents_bucket=config.objects.documents_bucket,
        backups_bucket=config.objects.backups_bucket,
        key=BackupKey.from_file(config.retention.backup_key_file),
        retention=timedelta(days=config.retention.backup_retention_days),
        part_size=config.retention.backup_part_mb * 1024 * 1024,
    )
    reviews = Reviews(db, config.branches)
    destruction = Destruction(
        db,
        config.branches,
        objects,
        documents_bucket=config.objects.documents_bucket,
        backups_bucket=config.objects.backups_bucket,
    )
    return reviews, destruction, Operations(db, backups, config.branches)


async def periodic(reviews: Reviews, destruction: Destruction, every: float) -> None:
    """Start due quarterly reviews and finish half-done destructions, forever."""
    while True:
        try:
            await asyncio.to_thread(reviews.start_due, Caller(SCHEDULER))
            await asyncio.to_thread(destruction.sweep)
        except Exception:
            log.warning("periodic retention job failed; retrying later", exc_info=True)
        await asyncio.sleep(every)


async def run(_: Path, config: Config) -> None:
    db = Database.open(config.storage, upgrade=False)
    reviews, destruction, operations = build(config, db)

    async def extra(nc: Any, js: Any) -> list[asyncio.Task[None]]:
        consumer = DurableConsumer(
            nc, js, "retention-destruction", destruction.on_event, filter_subject=DESTRUCTION_EVENTS
        )
        every = config.retention.jobs_every_s
        return [
            asyncio.create_task(consumer.run()),
            asyncio.create_task(periodic(reviews, destruction, every)),
        ]

    try:
        await serve(config, spec(reviews, destruction, operations, Locale.ZH_CN), db, extra)
    finally:
        db.dispose()


PROCESS = Process("retention", "Dossier retention service", run)
main = PROCESS.main

if __name__ == "__main__":
    main()
