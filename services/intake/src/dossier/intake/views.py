"""Records → views, masked for the caller's role by the branch's rules."""

from __future__ import annotations

from dossier.core.hookspecs import FieldKind
from dossier.core.plugins import BranchRules
from dossier.core.policy import Actor, Role
from dossier.core.records import Guardian, PersonalDetails, Registration, StudentDossier
from dossier.intake.api import (
    DossierSummary,
    DossierView,
    DuplicateHint,
    EnrolmentView,
    GuardianView,
    PaymentView,
    PersonView,
    RegistrationSummary,
    RegistrationView,
    StatusLine,
)

_ROLE_ORDER = (
    Role.ADMIN,
    Role.ENROLMENT_OFFICER,
    Role.APPROVER,
    Role.STUDENT,
    Role.FRONT_DESK,
    Role.REVIEWER,
    Role.OPERATOR,
    Role.AUDITOR,
)


def viewing_role(actor: Actor) -> Role:
    """The role whose masking applies: the most privileged one the actor holds."""
    return next(role for role in _ROLE_ORDER if role in actor.roles)


class Masker:
    def __init__(self, rules: BranchRules, actor: Actor) -> None:
        self.rules = rules
        self.role = viewing_role(actor)

    def __call__(self, kind: FieldKind, value: str | None) -> str:
        return "" if value is None else self.rules.mask(kind, value, self.role)

    def person(self, person: PersonalDetails) -> PersonView:
        return PersonView(
            name=self(FieldKind.PERSON_NAME, person.name),
            gender=person.gender.value,
            birth_date=self(FieldKind.BIRTH_DATE, person.birth_date.isoformat()),
            id_document_type=person.id_document.type.value,
            id_number=self(FieldKind.ID_DOCUMENT, person.id_document.number),
            phone=self(FieldKind.PHONE, person.phone),
            email=None if person.email is None else self(FieldKind.EMAIL, person.email),
            address=None if person.address is None else self(FieldKind.ADDRESS, person.address),
        )

    def guardian(self, guardian: Guardian | None) -> GuardianView | None:
        if guardian is None:
            return None
        return GuardianView(
            name=self(FieldKind.PERSON_NAME, guardian.name),
            relation=guardian.relation,
            phone=self(FieldKind.PHONE, guardian.phone),
        )


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
