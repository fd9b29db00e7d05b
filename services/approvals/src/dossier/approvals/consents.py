"""同意与披露 (未经学员同意不得泄露): consents by purpose, and the log of every disclosure.

A consent is given by the student, or by the guardian while the student is
under 14 (PIPL Art. 31); students record their own only — a guardian's
consent is recorded by staff who saw it. Any disclosure of a student's data
to a third party checks for an active consent for its purpose (refused with
``consent_required`` otherwise) and is logged: a row in ``disclosures``, an
audit entry and an event, naming the fields and never their values.
"""

from __future__ import annotations

import uuid

from dossier.approvals.views import consent_view, disclosure_view
from dossier.core.caller import Caller
from dossier.core.changes import CHANGEABLE
from dossier.core.commands import RecordConsent, RecordDisclosure, WithdrawConsent
from dossier.core.consent import grant_consent, record_disclosure, withdraw_consent
from dossier.core.contracts.approvals import (
    ConsentPage,
    ConsentView,
    DisclosurePage,
    DisclosureView,
    ListConsents,
    ListDisclosures,
)
from dossier.core.enums import ConsentGiver
from dossier.core.errors import Problem, ValidationError
from dossier.core.policy import Operation
from dossier.core.records import Consent, Disclosure
from dossier.core.views import student_only
from dossier.storage.audit import AuditSpec
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases

DISCLOSABLE = frozenset(
    {
        *CHANGEABLE,
        "personal",
        "guardian",
        "needs",
        "student_number",
        "status",
        "history",
        "enrolments",
        "payments",
        "documents",
    }
)
"""What a disclosure may name: a dossier field (``personal.name``), a group, or a collection."""


class ConsentHandlers(UseCases):
    def record_consent(self, caller: Caller, command: RecordConsent) -> ConsentView:
        """记录同意 for a purpose; under 14 it must be the guardian's."""
        if student_only(caller.actor) and command.given_by is not ConsentGiver.STUDENT:
            allowed = {"allowed": ConsentGiver.STUDENT.value}
            raise ValidationError([Problem("given_by", "not_allowed_value", allowed)])

        def work(uow: UnitOfWork) -> ConsentView:
            dossier = self._dossier(
                uow, caller.actor, Operation.CONSENT_MANAGE, command.student_number
            )
            ctx = self._context(caller, "consent given")
            consent = Consent(
                id=str(uuid.uuid4()),
                student_number=dossier.student_number,
                purpose=command.purpose,
                given_by=command.given_by,
                granted_at=ctx.at,
                recorded_by=caller.actor.id,
            )
            granted = grant_consent(dossier, consent, ctx, self._today(dossier.branch))
            uow.apply(
                granted,
                AuditSpec(action="consent.recorded", fields=("consents",), subject=consent.id),
            )
            return consent_view(consent)

        return self._changing(caller, command, ConsentView, work)

    def withdraw_consent(self, caller: Caller, command: WithdrawConsent) -> ConsentView:
        """撤回同意: kept on record, with who withdrew it and when."""

        def work(uow: UnitOfWork) -> ConsentView:
            consent = uow.consents.get(command.consent_id)
            dossier = self._dossier(
                uow,
                caller.actor,
                Operation.CONSENT_MANAGE,
                consent.student_number,
                kind="consent",
                ref=consent.id,
            )
            moved = withdraw_consent(
                dossier, consent.id, self._context(caller, "consent withdrawn")
            )
            uow.apply(
                moved,
                AuditSpec(action="consent.withdrawn", fields=("consents",), subject=consent.id),
            )
            withdrawn = next(c for c in moved.record.consents if c.id == consent.id)
            return consent_view(withdrawn)

        return self._changing(caller, command, ConsentView, work)

    def list_consents(self, caller: Caller, query: ListConsents) -> ConsentPage:
        def work(uow: UnitOfWork) -> ConsentPage:
            dossier = self._dossier(uow, caller.actor, Operation.CONSENT_READ, query.student_number)
            consents = uow.consents.for_student(dossier.student_number, query.purpose)
            return ConsentPage(items=tuple(consent_view(c) for c in consents))

        return self._reading(work)

    # -- disclosures (披露) -----------------------------------------------------------------------

    def record_disclosure(self, caller: Caller, command: RecordDisclosure) -> DisclosureView:
        """Give a third party the named fields: only under an active consent for the purpose."""
        problems = [
            Problem(f"fields[{i}]", "unknown_field")
            for i, name in enumerate(command.fields)
            if name not in DISCLOSABLE
        ]
        if not command.fields:
            problems.append(Problem("fields", "required"))
        if len(set(command.fields)) != len(command.fields):
            problems.append(Problem("fields", "duplicate_field"))
        if problems:
            raise ValidationError(problems)

        def work(uow: UnitOfWork) -> DisclosureView:
            dossier = self._dossier(
                uow, caller.actor, Operation.DISCLOSURE_RECORD, command.student_number
            )
            recipient = self._texts(dossier.branch, {"recipient": command.recipient})["recipient"]
            ctx = self._context(caller, "disclosed")
            disclosure = Disclosure(
                id=str(uuid.uuid4()),
                student_number=dossier.student_number,
                branch=dossier.branch,
                recipient=recipient,
                purpose=command.purpose,
                fields=command.fields,
                disclosed_at=ctx.at,
                disclosed_by=caller.actor.id,
            )
            recorded = record_disclosure(disclosure, dossier, ctx, self._today(dossier.branch))
            uow.apply(recorded, AuditSpec(action="disclosure.recorded", fields=command.fields))
            self._record_read(uow, caller, dossier.branch, dossier.student_number, ("disclosure",))
            return disclosure_view(disclosure)

        return self._changing(caller, command, DisclosureView, work)

    def list_disclosures(self, caller: Caller, query: ListDisclosures) -> DisclosurePage:
        """Who received the student's data: for the student too (their right to know)."""

        def work(uow: UnitOfWork) -> DisclosurePage:
            dossier = self._dossier(uow, caller.actor, Operation.CONSENT_READ, query.student_number)
            found = uow.disclosures.for_student(dossier.student_number)
            return DisclosurePage(items=tuple(disclosure_view(d) for d in found))

        return self._reading(work)
