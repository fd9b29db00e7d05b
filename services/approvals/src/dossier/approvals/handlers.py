"""Approvals use cases (审批), each one unit of work: what an embedding application calls
in-process, and what the NATS service calls for each request.

Every changing use case writes its records, exactly one audit entry and one
event per record transition, and any notification, in one transaction, at
most once per idempotency key (`dossier.storage.idempotency.transact`).
Records of branches outside the caller's scope read as not found. Deciding
a request (a change, a destruction) is never for the person who made it:
the policy refuses it (``self_approval``) and core's ``four_eyes`` guard
would too.

    approvals = Approvals(db, branches, document_store)
    receipt = approvals.submit_change(Caller(actor, "key-1"), SubmitChange(...))
"""

from __future__ import annotations

from dossier.approvals.change_requests import ChangeHandlers
from dossier.approvals.confidentiality import ConfidentialityHandlers
from dossier.approvals.consents import ConsentHandlers
from dossier.approvals.destruction import DestructionHandlers
from dossier.approvals.export import ExportHandlers
from dossier.approvals.feedback import FeedbackHandlers
from dossier.approvals.notices import NotificationHandlers
from dossier.approvals.reads import ReadTrailHandlers
from dossier.approvals.statuses import StatusHandlers
from dossier.approvals.trail import AuditTrailHandlers
from dossier.core.caller import Caller
from dossier.storage.usecases import utc_now

__all__ = ["Approvals", "Caller", "utc_now"]


class Approvals(
    ChangeHandlers,
    NotificationHandlers,
    StatusHandlers,
    DestructionHandlers,
    ConsentHandlers,
    ExportHandlers,
    FeedbackHandlers,
    AuditTrailHandlers,
    ConfidentialityHandlers,
    ReadTrailHandlers,
):
    """Change requests, notifications, status changes, destruction requests and legal holds,
    consents and disclosures, the student's export, feedback, a student's audit trail — over
    one database."""
