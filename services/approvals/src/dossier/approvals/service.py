"""The approvals service on NATS: ``dossier.approvals.<verb>`` endpoints over `Approvals`.

dossier-approvals --config dossier-data/dossier.toml
"""

from __future__ import annotations

from pathlib import Path

from dossier.approvals import __doc__ as description
from dossier.approvals.handlers import Approvals
from dossier.core.commands import (
    AnswerChange,
    ChangeStudentStatus,
    LiftLegalHold,
    RebaseChange,
    RecordConsent,
    RecordDisclosure,
    RespondFeedback,
    ReviewChange,
    ReviewDestruction,
    SetLegalHold,
    SubmitChange,
    SubmitDestruction,
    SubmitFeedback,
    WithdrawConsent,
)
from dossier.core.contracts.approvals import (
    AuditTrail,
    ConfirmChange,
    CountFeedback,
    DisputeChange,
    ExportDossier,
    GetChange,
    GetDestruction,
    ListChanges,
    ListConsents,
    ListDestructions,
    ListDisclosures,
    ListFeedback,
    ListHolds,
    ListNotifications,
    ListUnconfirmed,
    StatusHistory,
)
from dossier.core.contracts.confidentiality import (
    AcknowledgePolicy,
    CurrentPolicy,
    GetTrainingMaterial,
    PublishPolicy,
    RecordTraining,
    TrainingStatus,
)
from dossier.core.contracts.read_trail import (
    AcknowledgeReadAlert,
    ListMyReads,
    ListReadAlerts,
    ListStaffReads,
    ListStudentReads,
)
from dossier.core.enums import Locale
from dossier.host.config import Config
from dossier.host.process import Process
from dossier.host.runtime import document_store, serve
from dossier.messaging.metrics import ServiceMetrics
from dossier.messaging.service import ServiceSpec
from dossier.storage.db import Database

VERSION = "0.1.0"


def spec(approvals: Approvals, locale: Locale = Locale.ZH_CN) -> ServiceSpec:
    """Each of approvals' contracts (`dossier.core.contracts.approvals`) and its use case."""
    a = approvals
    return ServiceSpec.declare(
        "approvals",
        version=VERSION,
        description=(description or "").strip().splitlines()[0],
        default_locale=locale,
        handlers={
            # change requests (信息变更)
            SubmitChange: a.submit_change,
            GetChange: a.get_change,
            ListChanges: a.list_changes,
            ReviewChange: a.review_change,
            RebaseChange: a.rebase_change,
            AnswerChange: a.answer_change,
            ConfirmChange: a.confirm_change,
            DisputeChange: a.dispute_change,
            ListUnconfirmed: a.unconfirmed_changes,
            ListNotifications: a.list_notifications,
            # status (档案分类) and the audit trail
            ChangeStudentStatus: a.change_status,
            StatusHistory: a.status_history,
            AuditTrail: a.audit_trail,
            # destruction (资料销毁) and legal holds
            SubmitDestruction: a.submit_destruction,
            ReviewDestruction: a.review_destruction,
            GetDestruction: a.get_destruction,
            ListDestructions: a.list_destructions,
            SetLegalHold: a.set_hold,
            LiftLegalHold: a.lift_hold,
            ListHolds: a.list_holds,
            # consents, disclosures, export
            RecordConsent: a.record_consent,
            WithdrawConsent: a.withdraw_consent,
            ListConsents: a.list_consents,
            RecordDisclosure: a.record_disclosure,
            ListDisclosures: a.list_disclosures,
            ExportDossier: a.export_dossier,
            # 查阅记录 and misuse alerts
            ListMyReads: a.list_my_reads,
            ListStudentReads: a.list_student_reads,
            ListStaffReads: a.list_staff_reads,
            ListReadAlerts: a.list_read_alerts,
            AcknowledgeReadAlert: a.acknowledge_read_alert,
            # feedback (流程反馈)
            # confidentiality undertaking and training (保密承诺与培训)
            PublishPolicy: a.publish_policy,
            CurrentPolicy: a.current_policy,
            AcknowledgePolicy: a.acknowledge_policy,
            RecordTraining: a.record_training,
            TrainingStatus: a.training_status,
            GetTrainingMaterial: a.training_material,
            SubmitFeedback: a.submit_feedback,
            ListFeedback: a.list_feedback,
            RespondFeedback: a.respond_feedback,
            CountFeedback: a.count_feedback,
        },
    )


async def run(_: Path, config: Config) -> None:
    db = Database.open(config.storage)
    approvals = Approvals(db, config.branches, document_store(config.objects))
    metrics = ServiceMetrics("approvals")
    approvals.on_read_alert = lambda alert: metrics.read_alert(alert.branch, alert.rule)
    approvals.seal_in_background = True
    approvals.seal_reads()  # whatever a crash left unsealed
    try:
        await serve(config, spec(approvals), db, metrics=metrics)
    finally:
        approvals.stop_sealing()
        db.dispose()


PROCESS = Process("approvals", "Dossier approvals service", run)
main = PROCESS.main

if __name__ == "__main__":
    main()
