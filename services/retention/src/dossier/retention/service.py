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

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from dossier.core.contracts import retention as api
from dossier.core.contracts.retention import CreateBackup, ListBackups, VerifyAudit, VerifyBackup
from dossier.core.enums import Locale
from dossier.core.policy import Actor, Role
from dossier.messaging.config import Config, load_config
from dossier.messaging.events import DurableConsumer
from dossier.messaging.progress import ProgressPublisher, job_id_of, run_tracked
from dossier.messaging.runtime import object_store, serve
from dossier.messaging.service import Endpoint, RequestContext, ServiceSpec
from dossier.retention.archive import BackupKey
from dossier.retention.backups import Backups
from dossier.retention.common import Caller
from dossier.retention.destruction import Destruction
from dossier.retention.operations import Operations
from dossier.retention.progress import ProgressSink
from dossier.retention.review import Reviews
from dossier.storage.db import Database

log = logging.getLogger("dossier.retention")

VERSION = "0.1.0"
SCHEDULER = Actor(id="dossier-retention-scheduler", roles={Role.REVIEWER}, branches={"*"})
DESTRUCTION_EVENTS = "dossier.events.*.destruction.moved"


def _call(method: Callable[[Caller, Any], Any]) -> Callable[[RequestContext, Any], Any]:
    def handle(ctx: RequestContext, body: Any) -> Any:
        return method(Caller(ctx.actor, ctx.idempotency_key), body)

    return handle


def _endpoint(body: type, method: Callable[[Caller, Any], Any], *, mutating: bool) -> Endpoint:
    verb: str = getattr(body, "type")  # noqa: B009 - a ClassVar every body declares
    return Endpoint(verb=verb, body=body, handler=_call(method), mutating=mutating)


def _long_endpoint(
    body: type,
    method: Callable[[Caller, Any, ProgressSink], Any],
    publisher: ProgressPublisher,
) -> Endpoint:
    """An endpoint whose job reports progress on ``dossier.progress.retention.<kind>.<job id>``
    (``kind``: the verb with ``-`` for ``.``) while it runs, and a final event when it ends."""
    verb: str = getattr(body, "type")  # noqa: B009 - a ClassVar every body declares
    kind = verb.replace(".", "-")

    def handle(ctx: RequestContext, command: Any) -> Any:
        caller = Caller(ctx.actor, ctx.idempotency_key)
        return run_tracked(
            publisher,
            kind,
            job_id_of(ctx.request_id, command),
            lambda sink: method(caller, command, sink),
        )

    return Endpoint(verb=verb, body=body, handler=handle, mutating=True)


def spec(
    reviews: Reviews,
    destruction: Destruction,
    operations: Operations,
    locale: Locale,
    progress: ProgressPublisher | None = None,
) -> ServiceSpec:
    """The endpoints; backups and review runs publish their progress through ``progress``
    (once it is bound to a connection)."""
    progress = progress or ProgressPublisher("retention")
    return ServiceSpec(
        name="retention",
        version=VERSION,
        description="quarterly review, destruction with certificates, backups, audit verification",
        default_locale=locale,
        endpoints=[
            _long_endpoint(api.StartReview, reviews.start_run, progress),
            _endpoint(api.GetReviewRun, reviews.get_run, mutating=False),
            _endpoint(api.ListReviewRuns, reviews.list_runs, mutating=False),
            _endpoint(api.ListFindings, reviews.list_findings, mutating=False),
            _endpoint(api.ResolveFinding, reviews.resolve, mutating=True),
            _endpoint(api.WaiveFinding, reviews.waive, mutating=True),
            _endpoint(api.SignOffReview, reviews.sign_off, mutating=True),
            _endpoint(api.ExportReview, reviews.export_csv, mutating=False),
            _endpoint(api.ReviewReport, reviews.report_html, mutating=False),
            _endpoint(api.ExecuteDestruction, destruction.execute_command, mutating=True),
            _endpoint(api.GetCertificate, destruction.get_certificate, mutating=False),
            _endpoint(api.ListCertificates, destruction.list_certificates, mutating=False),
            _long_endpoint(CreateBackup, operations.create_backup, progress),
            _endpoint(ListBackups, operations.list_backups, mutating=False),
            Endpoint(
                verb=VerifyBackup.type,
                body=VerifyBackup,
                handler=_long_endpoint(VerifyBackup, operations.verify_backup, progress).handler,
                mutating=False,
            ),
            _endpoint(VerifyAudit, operations.verify_audit, mutating=False),
        ],
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
    return reviews, destruction, Operations(db, backups)


async def periodic(reviews: Reviews, destruction: Destruction, every: float) -> None:
    """Start due quarterly reviews and finish half-done destructions, forever."""
    while True:
        try:
            await asyncio.to_thread(reviews.start_due, Caller(SCHEDULER))
            await asyncio.to_thread(destruction.sweep)
        except Exception:
            log.warning("periodic retention job failed; retrying later", exc_info=True)
        await asyncio.sleep(every)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dossier-retention", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--every", type=float, default=600.0, help="seconds between job runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = load_config(args.config)
    db = Database.open(config.storage, upgrade=False)
    reviews, destruction, operations = build(config, db)
    progress = ProgressPublisher("retention")

    async def extra(nc: Any, js: Any) -> list[asyncio.Task[None]]:
        progress.bind(nc)
        consumer = DurableConsumer(
            nc, js, "retention-destruction", destruction.on_event, filter_subject=DESTRUCTION_EVENTS
        )
        return [
            asyncio.create_task(consumer.run()),
            asyncio.create_task(periodic(reviews, destruction, args.every)),
        ]

    try:
        service = spec(reviews, destruction, operations, Locale.ZH_CN, progress)
        asyncio.run(serve(config, service, db, extra))
    finally:
        db.dispose()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
