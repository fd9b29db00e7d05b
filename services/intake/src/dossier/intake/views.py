"""Records → views, masked for the caller's role by the branch's rules."""

from __future__ import annotations

from dossier.core.contracts.intake import (
    DossierSummary,
    DossierView,
    DuplicateHint,
    EnrolmentView,
    PaymentView,
    RegistrationSummary,
    RegistrationView,
    StatusLine,
)
from dossier.core.hookspecs import FieldKind
from dossier.core.records import Registration, StudentDossier
from dossier.core.views import Masker


def registration_view(
    registration: Registration, mask: Masker, duplicates: tuple[DuplicateHint, ...]
) -> RegistrationView:
    return RegistrationView(
        registration_id=registration.id,
        branch=registration.branch,
        channel=registration.channel,
        status=registration.status,
        submitted_at=registration.submitted_at,
        applicant=mask.person(registration.applicant),
        needs=registration.needs,
        guardian=mask.guardian(registration.guardian),
        guardian_consent=registration.guardian_consent,
        documents=registration.documents,
        duplicates=duplicates,
        decided_at=registration.decided_at,
        decided_by=registration.decided_by,
        decision_reason=registration.decision_reason,
        student_number=registration.student_number,
        version=registration.version,
    )


def registration_summary(registration: Registration, mask: Masker) -> RegistrationSummary:
    return RegistrationSummary(
        registration_id=registration.id,
        branch=registration.branch,
        channel=registration.channel,
        status=registration.status,
        submitted_at=registration.submitted_at,
        name=mask(FieldKind.PERSON_NAME, registration.applicant.name),
        phone=mask(FieldKind.PHONE, registration.applicant.phone),
    )


def dossier_view(dossier: StudentDossier, mask: Masker) -> DossierView:
    return DossierView(
        student_number=dossier.student_number,
        branch=dossier.branch,
        status=dossier.status,
        admitted_at=dossier.admitted_at,
        personal=mask.person(dossier.personal),
        guardian=mask.guardian(dossier.guardian),
        masked_because=mask.masked_because,
        needs=dossier.needs,
        enrolments=tuple(
            EnrolmentView(
                id=e.id,
                course_code=e.course_code,
                course_name=e.course_name,
                starts_on=e.starts_on,
                ends_on=e.ends_on,
                status=e.status,
            )
            for e in dossier.enrolments
        ),
        payments=tuple(
            PaymentView(
                id=p.id,
                amount_minor=p.amount_minor,
                currency=p.currency,
                method=p.method,
                receipt_ref=p.receipt_ref,
                paid_at=p.paid_at,
            )
            for p in dossier.payments
        ),
        documents=dossier.documents,
        history=tuple(
            StatusLine(
                from_status=h.from_status,
                to_status=h.to_status,
                actor=h.actor,
                reason=h.reason,
                effective_date=h.effective_date,
                recorded_at=h.recorded_at,
            )
            for h in dossier.history
        ),
        version=dossier.version,
    )


def dossier_summary(dossier: StudentDossier, mask: Masker) -> DossierSummary:
    return DossierSummary(
        student_number=dossier.student_number,
        branch=dossier.branch,
        status=dossier.status,
        name=mask(FieldKind.PERSON_NAME, dossier.personal.name),
        phone=mask(FieldKind.PHONE, dossier.personal.phone),
    )
