"""报名 → 审核 → 录取: registrations submitted, reviewed, withdrawn; acceptance admits the student.

`prepare_registration` holds every check of a submission that needs no
database; the branch edge (`dossier.intake.edge`) calls it too, so a branch
refuses exactly what headquarters would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dossier.core.attachments import Attachment, decode_attachment, reference
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.commands import ReviewRegistration, SubmitRegistration, WithdrawRegistration
from dossier.core.contracts.intake import (
    CheckRegistration,
    DuplicateHint,
    GetRegistration,
    ListRegistrations,
    RegistrationPage,
    RegistrationReceipt,
    RegistrationStatusView,
    RegistrationView,
    ReviewOutcome,
)
from dossier.core.enums import Channel, Decision, DocumentStage
from dossier.core.errors import (
    AccessDenied,
    Destroyed,
    DossierError,
    NotFound,
    Problem,
    ValidationError,
)
from dossier.core.lifecycle import Context
from dossier.core.lifecycles import (
    accept_registration,
    admit,
    reject_registration,
    submit_registration,
    withdraw_registration,
)
from dossier.core.plugins import REGISTRATION_FIELDS, BranchRules
from dossier.core.policy import Actor, Operation, Role, authorize
from dossier.core.records import Registration
from dossier.core.shape import checks_partial
from dossier.core.views import Masker
from dossier.core.wire import Partial
from dossier.intake.views import registration_summary, registration_view
from dossier.storage.audit import AuditSpec
from dossier.storage.blind_index import IndexKind
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, hide_unless, page_limit


class ProbableDuplicates(DossierError):
    """Acceptance refused until the reviewer has looked at the probable duplicates."""

    code = "probable_duplicates"
    rule = "probable_duplicates"
    status = 409

    def __init__(self, count: int) -> None:
        super().__init__({"count": count})


class RegistrationHandlers(UseCases):
    def _submission_rules(self, caller: Caller, partial: Partial) -> list[Problem]:
        """提交报名's checks over a submission that failed its shape (`checks_partial`)."""
        code = partial.get("branch", str)
        if code is None:
            return []
        branch = self._branch(code, "branch")
        rules = self.plugins.rules_for(branch)
        return submission_problems(caller.actor, partial, branch, rules, submitted_at=self.clock())

    @checks_partial(_submission_rules)
    def submit_registration(
        self,
        caller: Caller,
        command: SubmitRegistration,
        *,
        registration_id: str | None = None,
        submitted_at: datetime | None = None,
    ) -> RegistrationReceipt:
        """提交报名: validate with the branch's rules, file the attachments, record it.

        ``registration_id`` and ``submitted_at`` are for submissions accepted
        elsewhere first (a branch edge, docs/edge.md): the id the branch already
        handed out and the time of the front desk. They are not on the wire.
        """
        branch = self._branch(command.branch, "branch")
        now = self.clock()
        at = submitted_at or now
        registration, contents = prepare_registration(
            caller.actor,
            command,
            branch,
            self.plugins.rules_for(branch),
            registration_id=registration_id or str(uuid.uuid4()),
            submitted_at=at,
        )
        ctx = Context(actor=caller.actor.id, reason="submitted", at=now)

        def work(uow: UnitOfWork) -> RegistrationReceipt:
            uow.apply(
                submit_registration(registration, ctx),
                AuditSpec(
                    action="registration.submitted",
                    values=_personal_values(registration.applicant),
                ),
            )
            key = uow.registrations.data_key(registration.id)
            for _, data in contents:
                self.documents.put(registration.id, key, data, "application/octet-stream")
            return RegistrationReceipt(
                registration_id=registration.id,
                branch=registration.branch,
                status=registration.status,
                submitted_at=registration.submitted_at,
            )

        return self._changing(caller, command, RegistrationReceipt, work)

    def get_registration(self, caller: Caller, query: GetRegistration) -> RegistrationView:
        with self.db.unit_of_work() as uow:
            registration = self._visible_registration(
                uow, caller.actor, Operation.REGISTRATION_READ, query.registration_id
            )
            duplicates = self._duplicates(uow, registration)
        mask = Masker(self._rules(registration.branch), caller.actor)
        return registration_view(registration, mask, duplicates)

    def registration_status(
        self, caller: Caller, query: CheckRegistration
    ) -> RegistrationStatusView:
        """The status for the reference and birth date on file; anything else (no such
        reference, another birth date, another branch's, destroyed) is the same not_found,
        so the answer tells a stranger nothing about who registered."""
        unknown = NotFound("registration", query.registration_id)
        with self.db.unit_of_work() as uow:
            try:
                registration = uow.registrations.get(query.registration_id)
            except (NotFound, Destroyed):
                raise unknown from None
        try:
            hide_unless(
                caller.actor,
                Operation.REGISTRATION_STATUS,
                registration.branch,
                "registration",
                query.registration_id,
            )
        except NotFound:
            raise unknown from None
        if registration.applicant.birth_date != query.birth_date:
            raise unknown
        return RegistrationStatusView(registration_id=registration.id, status=registration.status)

    def list_registrations(self, caller: Caller, query: ListRegistrations) -> RegistrationPage:
        branch = self._branch(query.branch, "branch")
        self._require(caller.actor, Operation.REGISTRATION_READ, branch.code)
        page_limit(query.limit)
        with self.db.unit_of_work() as uow:
            found = uow.registrations.find(branch=branch.code, status=query.status, limit=10_000)
        selected = [
            r
            for r in found
            if (query.channel is None or r.channel is query.channel)
            and (query.submitted_from is None or r.submitted_at >= query.submitted_from)
            and (query.submitted_to is None or r.submitted_at < query.submitted_to)
        ]
        if query.after is not None:
            ids = [r.id for r in selected]
            selected = selected[ids.index(query.after) + 1 :] if query.after in ids else []
        page = selected[: query.limit]
        mask = Masker(self._rules(branch.code), caller.actor)
        more = len(selected) > query.limit
        return RegistrationPage(
            items=tuple(registration_summary(r, mask) for r in page),
            next_after=page[-1].id if more and page else None,
        )

    def review_registration(self, caller: Caller, command: ReviewRegistration) -> ReviewOutcome:
        """审核: reject with a reason, or accept — validate again, check duplicates chain-wide,
        assign the student number and create the dossier, all in one transaction."""
        now = self.clock()
        ctx = Context(actor=caller.actor.id, reason=command.reason, at=now)

        def work(uow: UnitOfWork) -> ReviewOutcome:
            registration = self._visible_registration(
                uow, caller.actor, Operation.REGISTRATION_REVIEW, command.registration_id
            )
            if command.decision is Decision.REJECT:
                rejected = reject_registration(registration, ctx)
                uow.apply(rejected, AuditSpec(action="registration.rejected"))
                return ReviewOutcome(registration_id=registration.id, status=rejected.record.status)
            return self._accept(uow, registration, ctx, command.allow_duplicates)

        return self._changing(caller, command, ReviewOutcome, work)

    def _accept(
        self, uow: UnitOfWork, registration: Registration, ctx: Context, allow_duplicates: bool
    ) -> ReviewOutcome:
        branch = self._branch(registration.branch, "branch")
        rules = self.plugins.rules_for(branch)
        today = self._today(branch.code)
        validated = rules.validate_registration(registration, today)
        missing = rules.required_documents(DocumentStage.ADMISSION) - {
            d.kind for d in validated.documents
        }
        if missing:
            raise ValidationError(
                [
                    Problem("documents", "document_required", {"kind": k.value})
                    for k in sorted(missing)
                ]
            )
        duplicates = self._duplicates(uow, validated)
        if duplicates and not allow_duplicates:
            raise ProbableDuplicates(len(duplicates))
        number = uow.numbers.next(branch.code, today.year, rules)
        accepted = accept_registration(validated, ctx, number)
        uow.apply(accepted, AuditSpec(action="registration.accepted", fields=("student_number",)))
        admitted = admit(accepted.record, ctx)
        uow.apply(
            admitted,
            AuditSpec(action="student.admitted", values=_personal_values(validated.applicant)),
        )
        return ReviewOutcome(
            registration_id=registration.id, status=accepted.record.status, student_number=number
        )

    def withdraw_registration(self, caller: Caller, command: WithdrawRegistration) -> ReviewOutcome:
        ctx = Context(actor=caller.actor.id, reason=command.reason, at=self.clock())

        def work(uow: UnitOfWork) -> ReviewOutcome:
            registration = self._visible_registration(
                uow, caller.actor, Operation.REGISTRATION_WITHDRAW, command.registration_id
            )
            withdrawn = withdraw_registration(registration, ctx)
            uow.apply(withdrawn, AuditSpec(action="registration.withdrawn"))
            return ReviewOutcome(registration_id=registration.id, status=withdrawn.record.status)

        return self._changing(caller, command, ReviewOutcome, work)

    def _visible_registration(
        self, uow: UnitOfWork, actor: Actor, operation: Operation, registration_id: str
    ) -> Registration:
        registration = uow.registrations.get(registration_id)
        hide_unless(actor, operation, registration.branch, "registration", registration_id)
        return registration

    def _duplicates(self, uow: UnitOfWork, registration: Registration) -> tuple[DuplicateHint, ...]:
        """Chain-wide: the same ID document, name + birth date + phone, or phone. Each hint
        names the strongest of them that matched (probes go strongest first), so the reviewer
        can tell the same person from a sibling who gave a parent's phone."""
        applicant = registration.applicant
        probes: list[tuple[str, IndexKind, Any]] = [
            ("id_document", IndexKind.ID_DOCUMENT, applicant.id_document),
            (
                "name_birth_phone",
                IndexKind.NAME_BIRTH_PHONE,
                (applicant.name, applicant.birth_date, applicant.phone),
            ),
            ("phone", IndexKind.PHONE, applicant.phone),
        ]
        hints: dict[tuple[str | None, str | None], str] = {}
        for label, kind, value in probes:
            for rid in uow.registrations.find_by_blind_index(kind, value):
                if rid != registration.id:
                    hints.setdefault((rid, None), label)
            for number in uow.students.find_by_blind_index(kind, value):
                if number != registration.student_number:
                    hints.setdefault((None, number), label)
        return tuple(
            DuplicateHint(matched_on=label, registration_id=rid, student_number=number)
            for (rid, number), label in hints.items()
        )


def prepare_registration(
    actor: Actor,
    command: SubmitRegistration,
    branch: Branch,
    rules: BranchRules,
    *,
    registration_id: str,
    submitted_at: datetime,
) -> tuple[Registration, list[tuple[Attachment, bytes]]]:
    """Every check of 提交报名 that needs no database — access, channel, attachments, the
    branch's rules — and the normalised registration with its decoded attachments.

    The intake handler and the branch edge (`dossier.intake.edge`) both call it, so
    a branch refuses exactly what headquarters would.
    """
    _may_submit(actor, branch)
    problems = _channel_problems(actor, command.channel)
    contents, bad_files = _decoding(command.attachments)
    problems.extend(bad_files)
    draft = Registration(
        id=registration_id,
        branch=branch.code,
        channel=command.channel,
        applicant=command.applicant,
        needs=command.needs,
        guardian=command.guardian,
        guardian_consent=command.guardian_consent,
        documents=tuple(reference(a, data) for a, data in contents),
        submitted_at=submitted_at,
    )
    today = submitted_at.astimezone(ZoneInfo(branch.time_zone)).date()
    try:  # the rules run even when an attachment is bad: every problem at once
        registration = rules.validate_registration(draft, today)
    except ValidationError as invalid:
        problems.extend(invalid.problems())
    if problems:
        raise ValidationError(problems)
    return registration, contents


def submission_problems(
    actor: Actor, partial: Partial, branch: Branch, rules: BranchRules, *, submitted_at: datetime
) -> list[Problem]:
    """The checks of `prepare_registration` over a submission that failed its shape.

    When unknown keys were its only problems, every check runs. Otherwise access, the
    channel, each well-shaped attachment and the field rules of the well-shaped fields
    do; the cross-field rules wait for a submission that has its shape (as for an
    import row whose cells did not parse).
    """
    whole = partial.whole()
    if isinstance(whole, SubmitRegistration):
        prepare_registration(
            actor, whole, branch, rules, registration_id="unshaped", submitted_at=submitted_at
        )
        return []
    _may_submit(actor, branch)
    problems = _channel_problems(actor, partial.get("channel", Channel))
    for index, attachment in partial.items("attachments", Attachment):
        problems.extend(decode_attachment(attachment, f"attachments[{index}]")[1])
    today = submitted_at.astimezone(ZoneInfo(branch.time_zone)).date()
    return problems + rules.check_fields(partial, REGISTRATION_FIELDS, today)


def _may_submit(actor: Actor, branch: Branch) -> None:
    verdict = authorize(actor, Operation.REGISTRATION_SUBMIT, branch.code)
    if not verdict.allowed:
        raise AccessDenied(
            Operation.REGISTRATION_SUBMIT.value, verdict.reason or "role_not_permitted"
        )


def _channel_problems(actor: Actor, channel: Channel | None) -> list[Problem]:
    """A student alone submits online only; nobody submits an import this way."""
    if channel is None:
        return []
    if Role.STUDENT in actor.roles and len(actor.roles) == 1:
        if channel is not Channel.ONLINE:
            return [Problem("channel", "not_allowed_value", {"allowed": Channel.ONLINE.value})]
    elif channel is Channel.IMPORT:
        allowed = f"{Channel.ONLINE.value}, {Channel.FRONT_DESK.value}"
        return [Problem("channel", "not_allowed_value", {"allowed": allowed})]
    return []


def _decoding(
    attachments: Sequence[Attachment], prefix: str | None = "attachments"
) -> tuple[list[tuple[Attachment, bytes]], list[Problem]]:
    """The attachments that decode well with their bytes, and every problem of the others."""
    problems: list[Problem] = []
    decoded: list[tuple[Attachment, bytes]] = []
    for index, attachment in enumerate(attachments):
        data, found = decode_attachment(attachment, f"{prefix}[{index}]" if prefix else "")
        problems.extend(found)
        if not found:
            decoded.append((attachment, data))
    return decoded, problems


def _personal_values(person: Any) -> dict[str, object]:
    return {
        "personal.name": person.name,
        "personal.birth_date": person.birth_date,
        "personal.id_document": f"{person.id_document.type.value}:{person.id_document.number}",
        "personal.phone": person.phone,
        "personal.email": person.email,
        "personal.address": person.address,
    }
