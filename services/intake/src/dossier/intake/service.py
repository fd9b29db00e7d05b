"""The intake service on NATS: ``dossier.intake.<verb>`` endpoints over `Intake`.

dossier-intake --config dossier-data/dossier.toml
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dossier.core.commands import (
    EndCourse,
    EnrolCourse,
    RecordPayment,
    ReviewRegistration,
    SubmitRegistration,
    WithdrawRegistration,
)
from dossier.core.contracts.intake import (
    AddDocument,
    GetDocument,
    GetDossier,
    GetImportStatus,
    GetRegistration,
    ListRegistrations,
    ResumeImport,
    SearchDossiers,
    StartImport,
)
from dossier.core.enums import Locale
from dossier.intake import __doc__ as description
from dossier.intake.handlers import Caller, Intake
from dossier.intake.imports import Importer
from dossier.messaging.config import load_config
from dossier.messaging.progress import ProgressPublisher, job_id_of, run_tracked
from dossier.messaging.runtime import document_store, serve
from dossier.messaging.service import Endpoint, RequestContext, ServiceSpec
from dossier.storage.db import Database

VERSION = "0.1.0"
SUBMIT_MAX_BYTES = 900 * 1024
"""Registration forms carry their attachments; NATS's default message limit is 1 MiB."""


def _call(method: Callable[[Caller, Any], Any]) -> Callable[[RequestContext, Any], Any]:
    def handle(ctx: RequestContext, body: Any) -> Any:
        return method(Caller(ctx.actor, ctx.idempotency_key), body)

    return handle


def _call_localised(method: Callable[..., Any]) -> Callable[[RequestContext, Any], Any]:
    """For answers that carry rendered messages (import reports): in the request's locale."""

    def handle(ctx: RequestContext, body: Any) -> Any:
        return method(Caller(ctx.actor, ctx.idempotency_key), body, locale=ctx.locale)

    return handle


def _call_tracked(
    method: Callable[..., Any], kind: str, publisher: ProgressPublisher
) -> Callable[[RequestContext, Any], Any]:
    """An import, in the request's locale, publishing its progress on
    ``dossier.progress.intake.<kind>.<request id>`` while it runs."""

    def handle(ctx: RequestContext, body: Any) -> Any:
        caller = Caller(ctx.actor, ctx.idempotency_key)
        return run_tracked(
            publisher,
            kind,
            job_id_of(ctx.request_id, body),
            lambda sink: method(caller, body, locale=ctx.locale, progress=sink),
        )

    return handle


def spec(
    intake: Intake,
    locale: Locale = Locale.ZH_CN,
    importer: Importer | None = None,
    progress: ProgressPublisher | None = None,
) -> ServiceSpec:
    importer = importer or Importer.beside(intake)
    progress = progress or ProgressPublisher("intake")

    def endpoint(
        body: type, method: Callable[[Caller, Any], Any], *, mutating: bool, **extra: Any
    ) -> Endpoint:
        verb: str = getattr(body, "type")  # noqa: B009 - a ClassVar every body declares
        return Endpoint(verb=verb, body=body, handler=_call(method), mutating=mutating, **extra)

    return ServiceSpec(
        name="intake",
        version=VERSION,
        description=(description or "").strip().splitlines()[0],
        default_locale=locale,
        endpoints=[
            endpoint(
                SubmitRegistration,
                intake.submit_registration,
                mutating=True,
                max_bytes=SUBMIT_MAX_BYTES,
            ),
            endpoint(ListRegistrations, intake.list_registrations, mutating=False),
            endpoint(GetRegistration, intake.get_registration, mutating=False),
            endpoint(ReviewRegistration, intake.review_registration, mutating=True),
            endpoint(WithdrawRegistration, intake.withdraw_registration, mutating=True),
            endpoint(GetDossier, intake.get_dossier, mutating=False),
            endpoint(SearchDossiers, intake.search, mutating=False),
            endpoint(EnrolCourse, intake.enrol_course, mutating=True),
            endpoint(EndCourse, intake.end_course, mutating=True),
            endpoint(RecordPayment, intake.record_payment, mutating=True),
            endpoint(AddDocument, intake.add_document, mutating=True, max_bytes=SUBMIT_MAX_BYTES),
            endpoint(GetDocument, intake.get_document, mutating=False),
            *(
                Endpoint(
                    verb=body.type,
                    body=body,
                    handler=_call_tracked(method, body.type.replace(".", "-"), progress),
                    mutating=True,
                    max_bytes=SUBMIT_MAX_BYTES,
                )
                for body, method in ((StartImport, importer.start), (ResumeImport, importer.resume))
            ),
            Endpoint(
                verb=GetImportStatus.type,
                body=GetImportStatus,
                handler=_call_localised(importer.status),
                mutating=False,
            ),
        ],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dossier-intake", description="Dossier intake service")
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = load_config(args.config)
    db = Database.open(config.storage)
    intake = Intake(db, config.branches, document_store(config.objects))
    progress = ProgressPublisher("intake")

    async def bind_progress(nc: Any, _js: Any) -> list[asyncio.Task[None]]:
        progress.bind(nc)
        return []

    try:
        asyncio.run(serve(config, spec(intake, progress=progress), db, bind_progress))
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
