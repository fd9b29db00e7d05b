"""同意与披露 (未经学员同意不得泄露): consents given and withdrawn, disclosures under consent.

Consents are children of the dossier: granting or withdrawing one returns
the dossier with its version bumped and a `ConsentChanged` event. Under 14
only the guardian consents (PIPL Art. 31). A disclosure of student data to a
third party is refused with `ConsentRequired` unless an active consent for
its purpose covers it.
"""

from __future__ import annotations

from datetime import date

import attrs

from dossier.core.enums import ConsentGiver
from dossier.core.errors import (
    ConsentRequired,
    GuardRefused,
    IllegalTransition,
    NotFound,
    Problem,
    ValidationError,
)
from dossier.core.events import ConsentChanged, DisclosureRecorded
from dossier.core.lifecycle import Context, Transitioned
from dossier.core.records import Consent, Disclosure, StudentDossier
from dossier.core.rules.default import CONSENT_AGE
from dossier.core.rules.validators import age_on


def _consent_event(consent: Consent, branch: str, ctx: Context, active: bool) -> ConsentChanged:
    return ConsentChanged(
        branch=branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        consent_id=consent.id,
        student_number=consent.student_number,
        purpose=consent.purpose,
        active=active,
    )


def _minor(dossier: StudentDossier, today: date) -> bool:
    """Under 14 only the guardian can consent (PIPL Art. 31)."""
    return age_on(dossier.personal.birth_date, today) < CONSENT_AGE


def grant_consent(
    dossier: StudentDossier, consent: Consent, ctx: Context, today: date
) -> Transitioned[StudentDossier]:
    """Record a consent on the dossier (its version bumped); a guardian's for students under 14."""
    if consent.student_number != dossier.student_number:
        raise GuardRefused("consent", "record", "student_mismatch")
    if _minor(dossier, today) and consent.given_by is not ConsentGiver.GUARDIAN:
        raise ValidationError(
            [Problem("given_by", "guardian_consent_required", {"age": CONSENT_AGE})]
        )
    if any(c.active and c.purpose is consent.purpose for c in dossier.consents):
        raise GuardRefused("consent", "record", "consent_already_active")
    moved = attrs.evolve(
        dossier, consents=(*dossier.consents, consent), version=dossier.version + 1
    )
    return Transitioned(moved, (_consent_event(consent, dossier.branch, ctx, True),))


def withdraw_consent(
    dossier: StudentDossier, consent_id: str, ctx: Context
) -> Transitioned[StudentDossier]:
    """Withdraw a consent: it stays on record with the time and the person who withdrew it."""
    found = next((c for c in dossier.consents if c.id == consent_id), None)
    if found is None:
        raise NotFound("consent", consent_id)
    if not found.active:
        raise IllegalTransition("consent", "withdrawn", "withdraw", ())
    withdrawn = attrs.evolve(found, withdrawn_at=ctx.at, withdrawn_by=ctx.actor)
    moved = attrs.evolve(
        dossier,
        consents=tuple(withdrawn if c.id == consent_id else c for c in dossier.consents),
        version=dossier.version + 1,
    )
    return Transitioned(moved, (_consent_event(found, dossier.branch, ctx, False),))


def record_disclosure(
    disclosure: Disclosure, dossier: StudentDossier, ctx: Context, today: date
) -> Transitioned[Disclosure]:
    """Log a disclosure to a third party; `ConsentRequired` unless an active consent for its
    purpose covers it (the guardian's, while the student is under 14)."""
    if disclosure.student_number != dossier.student_number:
        raise GuardRefused("disclosure", "record", "student_mismatch")
    minor = _minor(dossier, today)
    if not any(
        c.active
        and c.purpose is disclosure.purpose
        and (not minor or c.given_by is ConsentGiver.GUARDIAN)
        for c in dossier.consents
    ):
        raise ConsentRequired(disclosure.purpose.value)
    event = DisclosureRecorded(
        branch=disclosure.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        disclosure_id=disclosure.id,
        student_number=disclosure.student_number,
        purpose=disclosure.purpose,
        fields=disclosure.fields,
    )
    return Transitioned(disclosure, (event,))
