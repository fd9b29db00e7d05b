"""The intake service on NATS: ``dossier.intake.<verb>`` endpoints over `Intake`.

dossier-intake --config dossier-data/dossier.toml
"""

from __future__ import annotations

from pathlib import Path

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
    CheckRegistration,
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
from dossier.host.config import Config
from dossier.host.process import Process
from dossier.host.runtime import document_store, serve
from dossier.intake import __doc__ as description
from dossier.intake.handlers import Intake
from dossier.intake.imports.importer import Importer
from dossier.messaging.metrics import ServiceMetrics
from dossier.messaging.service import ServiceSpec
from dossier.storage.db import Database

VERSION = "0.1.0"


def spec(
    intake: Intake, locale: Locale = Locale.ZH_CN, importer: Importer | None = None
) -> ServiceSpec:
    """Each of intake's contracts (`dossier.core.contracts.intake`) and its use case."""
    importer = importer or Importer.beside(intake)
    return ServiceSpec.declare(
        "intake",
        version=VERSION,
        description=(description or "").strip().splitlines()[0],
        default_locale=locale,
        handlers={
            SubmitRegistration: intake.submit_registration,
            ListRegistrations: intake.list_registrations,
            GetRegistration: intake.get_registration,
            CheckRegistration: intake.registration_status,
            ReviewRegistration: intake.review_registration,
            WithdrawRegistration: intake.withdraw_registration,
            GetDossier: intake.get_dossier,
            SearchDossiers: intake.search,
            EnrolCourse: intake.enrol_course,
            EndCourse: intake.end_course,
            RecordPayment: intake.record_payment,
            AddDocument: intake.add_document,
            GetDocument: intake.get_document,
            StartImport: importer.start,
            ResumeImport: importer.resume,
            GetImportStatus: importer.status,
        },
    )


async def run(_: Path, config: Config) -> None:
    db = Database.open(config.storage)
    intake = Intake(db, config.branches, document_store(config.objects))
    metrics = ServiceMetrics("intake")
    intake.on_read_alert = lambda alert: metrics.read_alert(alert.branch, alert.rule)
    intake.seal_in_background = True
    intake.seal_reads()  # whatever a crash left unsealed
    try:
        await serve(config, spec(intake), db, metrics=metrics)
    finally:
        intake.stop_sealing()
        db.dispose()


PROCESS = Process("intake", "Dossier intake service", run)
main = PROCESS.main

if __name__ == "__main__":
    main()
