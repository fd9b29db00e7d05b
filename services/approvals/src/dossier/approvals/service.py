"""The approvals service on NATS: ``dossier.approvals.<verb>`` endpoints over `Approvals`.

dossier-approvals --config dossier-data/dossier.toml
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dossier.approvals import __doc__ as description
from dossier.approvals.handlers import Approvals, Caller
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
from dossier.core.enums import Locale
from dossier.messaging.config import load_config
from dossier.messaging.runtime import document_store, serve
from dossier.messaging.service import Endpoint, RequestContext, ServiceSpec
from dossier.storage.db import Database

VERSION = "0.1.0"
SUBMIT_MAX_BYTES = 900 * 1024
"""Change requests carry their evidence; NATS's default message limit is 1 MiB."""


def _call(method: Callable[[Caller, Any], Any]) -> Callable[[RequestContext, Any], Any]:
    def handle(ctx: RequestContext, body: Any) -> Any:
        return method(Caller(ctx.actor, ctx.idempotency_key), body)

    return handle


def spec(approvals: Approvals, locale: Locale = Locale.ZH_CN) -> ServiceSpec:
    def endpoint(
        body: type, method: Callable[[Caller, Any], Any], *, mutating: bool, **extra: Any
    ) -> Endpoint:
        verb: str = getattr(body, "type")  # noqa: B009 - a ClassVar every body declares
        return Endpoint(verb=verb, body=body, handler=_call(method), mutating=mutating, **extra)

    a = approvals
    return ServiceSpec(
        name="approvals",
        version=VERSION,
        description=(description or "").strip().splitlines()[0],
        default_locale=locale,
        endpoints=[
            # change requests (信息变更)
            endpoint(SubmitChange, a.submit_change, mutating=True, max_bytes=SUBMIT_MAX_BYTES),
            endpoint(GetChange, a.get_change, mutating=False),
            endpoint(ListChanges, a.list_changes, mutating=False),
            endpoint(ReviewChange, a.review_change, mutating=True),
            endpoint(RebaseChange, a.rebase_change, mutating=True),
            endpoint(AnswerChange, a.answer_change, mutating=True),
            endpoint(ConfirmChange, a.confirm_change, mutating=True),
            endpoint(DisputeChange, a.dispute_change, mutating=True),
            endpoint(ListUnconfirmed, a.unconfirmed_changes, mutating=False),
            endpoint(ListNotifications, a.list_notifications, mutating=False),
            # status (档案分类)
            endpoint(ChangeStudentStatus, a.change_status, mutating=True),
            endpoint(StatusHistory, a.status_history, mutating=False),
            endpoint(AuditTrail, a.audit_trail, mutating=False),
            # destruction (资料销毁) and legal holds
            endpoint(SubmitDestruction, a.submit_destruction, mutating=True),
            endpoint(ReviewDestruction, a.review_destruction, mutating=True),
            endpoint(GetDestruction, a.get_destruction, mutating=False),
            endpoint(ListDestructions, a.list_destructions, mutating=False),
            endpoint(SetLegalHold, a.set_hold, mutating=True),
            endpoint(LiftLegalHold, a.lift_hold, mutating=True),
            endpoint(ListHolds, a.list_holds, mutating=False),
            # consents, disclosures, export
            endpoint(RecordConsent, a.record_consent, mutating=True),
            endpoint(WithdrawConsent, a.withdraw_consent, mutating=True),
            endpoint(ListConsents, a.list_consents, mutating=False),
            endpoint(RecordDisclosure, a.record_disclosure, mutating=True),
            endpoint(ListDisclosures, a.list_disclosures, mutating=False),
            endpoint(ExportDossier, a.export_dossier, mutating=False),
            # feedback (流程反馈)
            endpoint(SubmitFeedback, a.submit_feedback, mutating=True),
            endpoint(ListFeedback, a.list_feedback, mutating=False),
            endpoint(RespondFeedback, a.respond_feedback, mutating=True),
            endpoint(CountFeedback, a.count_feedback, mutating=False),
        ],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="dossier-approvals", description="Dossier approvals service"
    )
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = load_config(args.config)
    db = Database.open(config.storage)
    approvals = Approvals(db, config.branches, document_store(config.objects))
    try:
        asyncio.run(serve(config, spec(approvals), db))
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
