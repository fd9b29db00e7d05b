"""The lifecycles of DESIGN.md §3 as transition tables, and the functions that move records.

Every function takes the record and a `Context` (actor, reason, effective
date, time of recording) and returns `Transitioned`: the new record (version
bumped) and the domain events raised. Nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from dossier.core.changes import describe_changes
from dossier.core.enums import (
    ChangeStatus,
    ConsentGiver,
    ConsentPurpose,
    DestructionStatus,
    RegistrationStatus,
    StudentStatus,
)
from dossier.core.errors import GuardRefused, IllegalTransition, StaleChange
from dossier.core.events import (
    ChangeRequestMoved,
    DestructionRequestMoved,
    FeedbackChanged,
    LegalHoldChanged,
    RegistrationDecided,
    RegistrationSubmitted,
    StudentAdmitted,
    StudentStatusChanged,
)
from dossier.core.lifecycle import Context, Lifecycle, Transitioned
from dossier.core.records import (
    ChangeRequest,
    Consent,
    DestructionRequest,
    Feedback,
    LegalHold,
    Registration,
    StatusChange,
    StudentDossier,
)

R, S, C, D = RegistrationStatus, StudentStatus, ChangeStatus, DestructionStatus


def four_eyes(record: object, ctx: Context) -> str | None:
    """The person who made a request never decides it (双人审核)."""
    return "four_eyes" if getattr(record, "requested_by", None) == ctx.actor else None


REGISTRATION = Lifecycle.build(
    "registration",
    [
        (R.SUBMITTED, "accept", R.ACCEPTED),
        (R.SUBMITTED, "reject", R.REJECTED),
        (R.SUBMITTED, "withdraw", R.WITHDRAWN),
    ],
)

STUDENT = Lifecycle.build(
    "student",
    [
        (S.ENROLLED, "suspend", S.SUSPENDED),
        (S.SUSPENDED, "resume", S.ENROLLED),
        (S.ENROLLED, "complete", S.COMPLETED),
        (S.COMPLETED, "re_enrol", S.ENROLLED),
        ((S.ENROLLED, S.SUSPENDED), "withdraw", S.WITHDRAWN),
        (S.WITHDRAWN, "return", S.ENROLLED),
        ((S.COMPLETED, S.WITHDRAWN), "destroy", S.DESTROYED),
    ],
)

CHANGE = Lifecycle.build(
    "change request",
    [
        ((C.SUBMITTED, C.DISPUTED), "approve", C.APPROVED),
        ((C.SUBMITTED, C.DISPUTED), "reject", C.REJECTED),
        (C.SUBMITTED, "cancel", C.CANCELLED),
        (C.SUBMITTED, "rebase", C.SUBMITTED),
        (C.APPROVED, "apply", C.APPLIED),
        (C.APPLIED, "confirm", C.CONFIRMED),
        (C.APPLIED, "dispute", C.DISPUTED),
    ],
    guards={"approve": (four_eyes,), "reject": (four_eyes,)},
)

DESTRUCTION = Lifecycle.build(
    "destruction request",
    [
        (D.SUBMITTED, "approve", D.APPROVED),
        (D.SUBMITTED, "reject", D.REJECTED),
        (D.SUBMITTED, "cancel", D.CANCELLED),
        (D.APPROVED, "execute", D.EXECUTED),
    ],
    guards={"approve": (four_eyes,), "reject": (four_eyes,)},
)

LIFECYCLES: tuple[
    Lifecycle[RegistrationStatus]
    | Lifecycle[StudentStatus]
    | Lifecycle[ChangeStatus]
    | Lifecycle[DestructionStatus],
    ...,
] = (
    REGISTRATION,
    STUDENT,
    CHANGE,
    DESTRUCTION,
)


# -- registrations (报名) ---------------------------------------------------------


def submit_registration(registration: Registration, ctx: Context) -> Transitioned[Registration]:
    if registration.status is not R.SUBMITTED:
        raise IllegalTransition(REGISTRATION.name, registration.status.value, "submit", ())
    event = RegistrationSubmitted(
        branch=registration.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        registration_id=registration.id,
        channel=registration.channel,
    )
    return Transitioned(registration, (event,))


def _decide(
    registration: Registration, action: str, ctx: Context, student_number: str | None = None
) -> Transitioned[Registration]:
    status = REGISTRATION.target(registration.status, action, registration, ctx)
    moved = attrs.evolve(
        registration,
        status=status,
        decided_at=ctx.at,
        decided_by=ctx.actor,
        decision_reason=ctx.reason,
        student_number=student_number,
        version=registration.version + 1,
    )
    event = RegistrationDecided(
        branch=registration.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        registration_id=registration.id,
        status=status,
        student_number=student_number,
    )
    return Transitioned(moved, (event,))


def accept_registration(
    registration: Registration, ctx: Context, student_number: str
) -> Transitioned[Registration]:
    """录取: accept and bind the student number that storage assigned."""
    return _decide(registration, "accept", ctx, student_number)


def reject_registration(registration: Registration, ctx: Context) -> Transitioned[Registration]:
    return _decide(registration, "reject", ctx)


def withdraw_registration(registration: Registration, ctx: Context) -> Transitioned[Registration]:
    return _decide(registration, "withdraw", ctx)


def admit(registration: Registration, ctx: Context) -> Transitioned[StudentDossier]:
    """建档: create the dossier of an accepted registration, enrolled from the effective date."""
    if registration.status is not R.ACCEPTED or registration.student_number is None:
        raise IllegalTransition(
            REGISTRATION.name, registration.status.value, "admit", ("accepted",)
        )
    dossier = StudentDossier(
        student_number=registration.student_number,
        branch=registration.branch,
        personal=registration.applicant,
        guardian=registration.guardian,
        needs=registration.needs,
        status=S.ENROLLED,
        admitted_at=ctx.at,
        registration_id=registration.id,
        documents=registration.documents,
        consents=_registration_consents(registration, ctx),
        history=(
            StatusChange(
                from_status=None,
                to_status=S.ENROLLED,
                actor=ctx.actor,
                reason=ctx.reason,
                effective_date=ctx.effective_date,
                recorded_at=ctx.at,
            ),
        ),
    )
    event = StudentAdmitted(
        branch=registration.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        student_number=dossier.student_number,
        registration_id=registration.id,
    )
    return Transitioned(dossier, (event,))


def _registration_consents(registration: Registration, ctx: Context) -> tuple[Consent, ...]:
    """The guardian's consent given on the form becomes the dossier's processing consent."""
    if not registration.guardian_consent or registration.student_number is None:
        return ()
    return (
        Consent(
            id=f"{registration.id}-processing",
            student_number=registration.student_number,
            purpose=ConsentPurpose.PROCESSING,
            given_by=ConsentGiver.GUARDIAN,
            granted_at=registration.submitted_at,
            recorded_by=ctx.actor,
        ),
    )


# -- student status (档案分类) -----------------------------------------------------


def _move_student(
    dossier: StudentDossier, action: str, ctx: Context
) -> Transitioned[StudentDossier]:
    target = STUDENT.target(dossier.status, action, dossier, ctx)
    line = StatusChange(
        from_status=dossier.status,
        to_status=target,
        actor=ctx.actor,
        reason=ctx.reason,
        effective_date=ctx.effective_date,
        recorded_at=ctx.at,
    )
    moved = attrs.evolve(
        dossier, status=target, history=(*dossier.history, line), version=dossier.version + 1
    )
    event = StudentStatusChanged(
        branch=dossier.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        student_number=dossier.student_number,
        from_status=dossier.status,
        to_status=target,
        effective_date=ctx.effective_date,
    )
    return Transitioned(moved, (event,))


def status_action(current: StudentStatus, target: StudentStatus) -> str | None:
    """The action that leads from ``current`` to ``target``, if the table has one."""
    for (source, action), to in STUDENT.table.items():
        if source is current and to is target:
            return action
    return None


def change_status(
    dossier: StudentDossier, target: StudentStatus, ctx: Context
) -> Transitioned[StudentDossier]:
    """Classify a dossier (enrolled/suspended/completed/withdrawn). Destruction has its own path."""
    if target is S.DESTROYED:
        raise GuardRefused(STUDENT.name, "destroy", "destruction_needs_request")
    action = status_action(dossier.status, target)
    if action is None:
        raise IllegalTransition(
            STUDENT.name,
            dossier.status.value,
            f"to {target.value}",
            STUDENT.allowed(dossier.status),
        )
    return _move_student(dossier, action, ctx)


def destroy_student(
    dossier: StudentDossier,
    request: DestructionRequest,
    holds: Iterable[LegalHold],
    ctx: Context,
) -> Transitioned[StudentDossier]:
    """Mark the dossier destroyed.

    Refused unless the request is approved and no legal hold is active.
    """
    if request.student_number != dossier.student_number or request.status is not D.APPROVED:
        raise GuardRefused(STUDENT.name, "destroy", "destruction_needs_request")
    if any(hold.active for hold in holds):
        raise GuardRefused(STUDENT.name, "destroy", "legal_hold")
    return _move_student(dossier, "destroy", ctx)


# -- change requests (信息变更) ----------------------------------------------------


def _move_change(
    change: ChangeRequest, action: str, ctx: Context, **updates: Any
) -> Transitioned[ChangeRequest]:
    status = CHANGE.target(change.status, action, change, ctx)
    moved = attrs.evolve(change, status=status, version=change.version + 1, **updates)
    event = ChangeRequestMoved(
        branch=change.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        change_id=change.id,
        student_number=change.student_number,
        status=status,
        fields=moved.approved_fields or tuple(c.field for c in change.changes),
    )
    return Transitioned(moved, (event,))


def submit_change(change: ChangeRequest, ctx: Context) -> Transitioned[ChangeRequest]:
    if change.status is not C.SUBMITTED:
        raise IllegalTransition(CHANGE.name, change.status.value, "submit", ())
    event = ChangeRequestMoved(
        branch=change.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        change_id=change.id,
        student_number=change.student_number,
        status=C.SUBMITTED,
        fields=tuple(c.field for c in change.changes),
    )
    return Transitioned(change, (event,))


def approve_change(
    change: ChangeRequest,
    ctx: Context,
    fields: Sequence[str] | None = None,
    dossier: StudentDossier | None = None,
) -> Transitioned[ChangeRequest]:
    """Approve all requested fields, or the subset named in ``fields``.

    Given the current ``dossier``, a submitted request based on another
    version of it (``dossier_version``) is refused with `StaleChange`: its
    values were validated against a dossier that has changed since, so it is
    re-based (`rebase_change`) and decided again, never applied blindly.
    """
    requested = [c.field for c in change.changes]
    chosen = tuple(requested if fields is None else [f for f in requested if f in set(fields)])
    unknown = set(fields or ()) - set(requested)
    if not chosen or unknown:
        raise GuardRefused(CHANGE.name, "approve", "approved_fields_not_requested")
    moved = _move_change(
        change,
        "approve",
        ctx,
        reviewed_by=ctx.actor,
        reviewed_at=ctx.at,
        review_comment=ctx.reason,
        approved_fields=chosen,
    )
    if dossier is not None:
        _same_student(change, dossier, "approve")
        if change.status is C.SUBMITTED and dossier.version != change.dossier_version:
            raise StaleChange(change.id, change.dossier_version, dossier.version)
    return moved


def rebase_change(
    change: ChangeRequest,
    dossier: StudentDossier,
    ctx: Context,
    values: Mapping[str, object] | None = None,
) -> Transitioned[ChangeRequest]:
    """重新核对: base a submitted request on the current dossier, for a fresh decision.

    The before-values are read again from ``dossier``, the after-values are
    the re-validated ``values`` (path → parsed value; kept as they are when
    None) and ``dossier_version`` becomes the dossier's. It stays submitted.
    """
    _same_student(change, dossier, "rebase")
    return _move_change(
        change,
        "rebase",
        ctx,
        changes=describe_changes(dossier, change.changes, values),
        dossier_version=dossier.version,
    )


def _same_student(change: ChangeRequest, dossier: StudentDossier, action: str) -> None:
    if change.student_number != dossier.student_number:
        raise GuardRefused(CHANGE.name, action, "student_mismatch")


def reject_change(change: ChangeRequest, ctx: Context) -> Transitioned[ChangeRequest]:
    return _move_change(
        change, "reject", ctx, reviewed_by=ctx.actor, reviewed_at=ctx.at, review_comment=ctx.reason
    )


def cancel_change(change: ChangeRequest, ctx: Context) -> Transitioned[ChangeRequest]:
    return _move_change(change, "cancel", ctx)


def mark_change_applied(
    change: ChangeRequest, ctx: Context, dossier_version: int | None = None
) -> Transitioned[ChangeRequest]:
    """Applied (已变更); ``dossier_version``, when given, is the version the application produced:
    the base against which a later dispute is judged."""
    updates: dict[str, Any] = {"applied_at": ctx.at}
    if dossier_version is not None:
        updates["dossier_version"] = dossier_version
    return _move_change(change, "apply", ctx, **updates)


def confirm_change(change: ChangeRequest, ctx: Context) -> Transitioned[ChangeRequest]:
    return _move_change(change, "confirm", ctx, answered_at=ctx.at)


def dispute_change(change: ChangeRequest, ctx: Context) -> Transitioned[ChangeRequest]:
    return _move_change(change, "dispute", ctx, answered_at=ctx.at, dispute_reason=ctx.reason)


# -- destruction requests (资料销毁) -----------------------------------------------

DESTROYABLE = frozenset({S.COMPLETED, S.WITHDRAWN})


def _destruction_event(
    request: DestructionRequest, ctx: Context, status: DestructionStatus
) -> DestructionRequestMoved:
    return DestructionRequestMoved(
        branch=request.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        request_id=request.id,
        student_number=request.student_number,
        status=status,
    )


def submit_destruction(
    request: DestructionRequest, dossier: StudentDossier, ctx: Context
) -> Transitioned[DestructionRequest]:
    """Only a completed or withdrawn student may ask for destruction; anything else says why."""
    if dossier.student_number != request.student_number:
        raise GuardRefused(DESTRUCTION.name, "submit", "student_mismatch")
    if dossier.status not in DESTROYABLE:
        raise GuardRefused(DESTRUCTION.name, "submit", "not_destroyable_status")
    if request.status is not D.SUBMITTED:
        raise IllegalTransition(DESTRUCTION.name, request.status.value, "submit", ())
    return Transitioned(request, (_destruction_event(request, ctx, D.SUBMITTED),))


def _move_destruction(
    request: DestructionRequest, action: str, ctx: Context, **updates: Any
) -> Transitioned[DestructionRequest]:
    status = DESTRUCTION.target(request.status, action, request, ctx)
    moved = attrs.evolve(request, status=status, version=request.version + 1, **updates)
    return Transitioned(moved, (_destruction_event(request, ctx, status),))


def approve_destruction(
    request: DestructionRequest, ctx: Context
) -> Transitioned[DestructionRequest]:
    return _move_destruction(
        request, "approve", ctx, reviewed_by=ctx.actor, reviewed_at=ctx.at, review_reason=ctx.reason
    )


def reject_destruction(
    request: DestructionRequest, ctx: Context
) -> Transitioned[DestructionRequest]:
    return _move_destruction(
        request, "reject", ctx, reviewed_by=ctx.actor, reviewed_at=ctx.at, review_reason=ctx.reason
    )


def cancel_destruction(
    request: DestructionRequest, ctx: Context
) -> Transitioned[DestructionRequest]:
    return _move_destruction(request, "cancel", ctx)


def execute_destruction(
    request: DestructionRequest, holds: Iterable[LegalHold], ctx: Context, certificate_id: str
) -> Transitioned[DestructionRequest]:
    if any(hold.active for hold in holds):
        raise GuardRefused(DESTRUCTION.name, "execute", "legal_hold")
    return _move_destruction(
        request, "execute", ctx, executed_at=ctx.at, certificate_id=certificate_id
    )


# -- legal holds (法律保留) ----------------------------------------------------------


def _hold_event(hold: LegalHold, ctx: Context, active: bool) -> LegalHoldChanged:
    return LegalHoldChanged(
        branch=hold.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        hold_id=hold.id,
        student_number=hold.student_number,
        active=active,
    )


def set_legal_hold(hold: LegalHold, ctx: Context) -> Transitioned[LegalHold]:
    """A new hold: it blocks the execution of destruction (not its approval) until lifted."""
    if not hold.active:
        raise IllegalTransition("legal hold", "lifted", "set", ())
    return Transitioned(hold, (_hold_event(hold, ctx, True),))


def lift_legal_hold(hold: LegalHold, ctx: Context) -> Transitioned[LegalHold]:
    if not hold.active:
        raise IllegalTransition("legal hold", "lifted", "lift", ())
    lifted = attrs.evolve(hold, lifted_by=ctx.actor, lifted_at=ctx.at, lift_reason=ctx.reason)
    return Transitioned(lifted, (_hold_event(hold, ctx, False),))


# -- feedback (流程反馈) --------------------------------------------------------------


def _feedback_event(item: Feedback, ctx: Context, responded: bool) -> FeedbackChanged:
    return FeedbackChanged(
        branch=item.branch,
        occurred_at=ctx.at,
        actor=ctx.actor,
        feedback_id=item.id,
        responded=responded,
    )


def submit_feedback(item: Feedback, ctx: Context) -> Transitioned[Feedback]:
    """New feedback; for anonymous feedback ``ctx.actor`` is a placeholder, never the sender."""
    if item.response is not None:
        raise IllegalTransition("feedback", "responded", "submit", ())
    return Transitioned(item, (_feedback_event(item, ctx, False),))


def respond_feedback(item: Feedback, response: str, ctx: Context) -> Transitioned[Feedback]:
    """A manager's answer; feedback is answered once."""
    if item.response is not None:
        raise IllegalTransition("feedback", "responded", "respond", ())
    answered = attrs.evolve(item, response=response, responded_by=ctx.actor, responded_at=ctx.at)
    return Transitioned(answered, (_feedback_event(item, ctx, True),))
