"""Intake use cases (报名 → 审核 → 录取 → 建档), each one unit of work.

`Intake` is what an embedding application calls in-process, and what the
NATS service calls for each request. Every changing use case writes its
records, its audit entry and its events in one transaction, at most once per
idempotency key (`dossier.storage.idempotency.transact`). Records of branches
outside the caller's scope are reported as not found, so a caller cannot
learn whether they exist.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import attrs

from dossier.core import wire
from dossier.core.attachments import Attachment, decode_attachment, reference
from dossier.core.branch import Branch
from dossier.core.caller import Caller
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
    DocumentContent,
    DossierChanged,
    DossierView,
    DuplicateHint,
    GetDocument,
    GetDossier,
    GetRegistration,
    ListRegistrations,
    RegistrationPage,
    RegistrationReceipt,
    RegistrationView,
    ReviewOutcome,
    SearchDossiers,
    SearchResult,
)
from dossier.core.enums import (
    Channel,
    Decision,
    DocumentStage,
    EnrolmentStatus,
)
from dossier.core.errors import AccessDenied, DossierError, NotFound, Problem, ValidationError
from dossier.core.events import StudentRecordChanged
from dossier.core.hookspecs import FieldKind
from dossier.core.lifecycle import Context, Transitioned
from dossier.core.lifecycles import (
    accept_registration,
    admit,
    reject_registration,
    submit_registration,
    withdraw_registration,
)
from dossier.core.plugins import BranchRules, PluginHost
from dossier.core.policy import Actor, Operation, Role, Subject, authorize, reveal
from dossier.core.records import (
    CURRENCY,
    CourseEnrolment,
    DocumentRef,
    Payment,
    Registration,
    StudentDossier,
)
from dossier.core.views import Masker
from dossier.intake.views import (
    dossier_summary,
    dossier_view,
    registration_summary,
    registration_view,
)
from dossier.storage.audit import AuditSpec
from dossier.storage.blind_index import IndexKind
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import Once, transact
from dossier.storage.objects import ObjectNotFound
from dossier.storage.uow import UnitOfWork

T = TypeVar("T")


COURSE_CODE_MAX = 64
RECEIPT_REF_MAX = 128
"""The widths of their columns: longer values are refused as ``too_long``, not by the database."""


def _too_long(path: str, value: str, maximum: int) -> list[Problem]:
    return [Problem(path, "too_long", {"max": maximum})] if len(value) > maximum else []


class ProbableDuplicates(DossierError):
    """Acceptance refused until the reviewer has looked at the probable duplicates."""

    code = "probable_duplicates"
    rule = "probable_duplicates"

    def __init__(self, count: int) -> None:
        super().__init__({"count": count})


def utc_now() -> datetime:
    return datetime.now(UTC)


class Intake:
    def __init__(
        self,
        db: Database,
        branches: Mapping[str, Branch],
        documents: DocumentStore,
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.branches = dict(branches)
        self.documents = documents
        self.plugins = plugins or PluginHost()
        self.clock = clock

    # -- registrations (报名) -------------------------------------------------------------

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

    def list_registrations(self, caller: Caller, query: ListRegistrations) -> RegistrationPage:
        branch = self._branch(query.branch, "branch")
        self._require(caller.actor, Operation.REGISTRATION_READ, branch.code)
        if not 1 <= query.limit <= 200:
            raise ValidationError([Problem("limit", "not_allowed_value", {"allowed": "1–200"})])
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
        today = self._today(branch)
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

    # -- dossiers (学员档案) ---------------------------------------------------------------

    def get_dossier(self, caller: Caller, query: GetDossier) -> DossierView:
        with self.db.unit_of_work() as uow:
            dossier = self._visible_dossier(
                uow, caller.actor, Operation.DOSSIER_READ, query.student_number
            )
        return dossier_view(dossier, Masker(self._rules(dossier.branch), caller.actor))

    def search(self, caller: Caller, query: SearchDossiers) -> SearchResult:
        """By student number, or (blind indexes) by phone, or by name + birth date + phone."""
        branch = self._branch(query.branch, "branch")
        self._require(caller.actor, Operation.DOSSIER_SEARCH, branch.code)
        rules = self.plugins.rules_for(branch)
        today = self._today(branch)
        with self.db.unit_of_work() as uow:
            numbers: set[str] = set()
            if query.student_number:
                numbers.add(query.student_number)
            if query.phone:
                phone = _checked(rules, FieldKind.PHONE, "phone", query.phone, today)
                if query.name and query.birth_date:
                    name = _checked(rules, FieldKind.PERSON_NAME, "name", query.name, today)
                    numbers.update(
                        uow.students.find_by_blind_index(
                            IndexKind.NAME_BIRTH_PHONE, (str(name), query.birth_date, str(phone))
                        )
                    )
                else:
                    numbers.update(uow.students.find_by_blind_index(IndexKind.PHONE, str(phone)))
            elif query.name:
                raise ValidationError(
                    [Problem("phone", "required")]
                )  # names are only searchable with phone (blind index)
            found: list[StudentDossier] = []
            for number in sorted(numbers):
                try:
                    dossier = uow.students.get(number)
                except DossierError:
                    continue
                if dossier.branch == branch.code:
                    found.append(dossier)
        mask = Masker(rules, caller.actor)
        return SearchResult(items=tuple(dossier_summary(d, mask) for d in found))

    # -- courses, payments, documents ------------------------------------------------------

    def enrol_course(self, caller: Caller, command: EnrolCourse) -> DossierChanged:
        problems = _too_long("course_code", command.course_code, COURSE_CODE_MAX)
        if not command.course_code:
            problems.append(Problem("course_code", "required"))
        if command.ends_on is not None and command.ends_on < command.starts_on:
            problems.append(Problem("ends_on", "invalid_date"))
        if problems:
            raise ValidationError(problems)
        enrolment = CourseEnrolment(
            id=str(uuid.uuid4()),
            course_code=command.course_code,
            course_name=command.course_name,
            starts_on=command.starts_on,
            ends_on=command.ends_on,
        )
        return self._change_dossier(
            caller,
            command,
            Operation.COURSE_MANAGE,
            command.student_number,
            "course.enrolled",
            lambda d: attrs.evolve(d, enrolments=(*d.enrolments, enrolment)),
        )

    def end_course(self, caller: Caller, command: EndCourse) -> DossierChanged:
        def end(dossier: StudentDossier) -> StudentDossier:
            ids = [e.id for e in dossier.enrolments]
            if command.enrolment_id not in ids:
                raise NotFound("enrolment", command.enrolment_id)
            return attrs.evolve(
                dossier,
                enrolments=tuple(
                    attrs.evolve(
                        e,
                        status=EnrolmentStatus.ENDED,
                        ends_on=command.ended_on,
                        ended_reason=command.reason,
                    )
                    if e.id == command.enrolment_id
                    else e
                    for e in dossier.enrolments
                ),
            )

        return self._change_dossier(
            caller, command, Operation.COURSE_MANAGE, command.student_number, "course.ended", end
        )

    def record_payment(self, caller: Caller, command: RecordPayment) -> DossierChanged:
        problems = _too_long("receipt_ref", command.receipt_ref, RECEIPT_REF_MAX)
        if command.amount_minor <= 0:
            problems.append(Problem("amount_minor", "not_allowed_value", {"allowed": "> 0"}))
        if not CURRENCY.fullmatch(command.currency.upper()):
            expected = "a three-letter currency code (ISO 4217)"
            problems.append(Problem("currency", "wrong_type", {"expected": expected}))
        if problems:
            raise ValidationError(problems)
        payment = Payment(
            id=str(uuid.uuid4()),
            amount_minor=command.amount_minor,
            currency=command.currency.upper(),
            method=command.method,
            receipt_ref=command.receipt_ref,
            paid_at=command.paid_at,
            recorded_by=caller.actor.id,
        )
        return self._change_dossier(
            caller,
            command,
            Operation.PAYMENT_RECORD,
            command.student_number,
            "payment.recorded",
            lambda d: attrs.evolve(d, payments=(*d.payments, payment)),
        )

    def add_document(self, caller: Caller, command: AddDocument) -> DocumentRef:
        attachment = Attachment(
            kind=command.kind,
            media_type=command.media_type,
            content=command.content,
            sha256=command.sha256,
        )
        ((_, data),) = _decoded((attachment,), prefix=None)
        ref = reference(attachment, data)

        def work(uow: UnitOfWork) -> DocumentRef:
            dossier = self._visible_dossier(
                uow, caller.actor, Operation.DOCUMENT_ADD, command.student_number
            )
            key = uow.students.data_key(dossier.student_number)
            self.documents.put(dossier.student_number, key, data, command.media_type)
            if ref not in dossier.documents:
                self._save(
                    uow,
                    caller,
                    attrs.evolve(
                        dossier, documents=(*dossier.documents, ref), version=dossier.version + 1
                    ),
                    "document.added",
                )
            return ref

        return self._changing(caller, command, DocumentRef, work)

    def get_document(self, caller: Caller, query: GetDocument) -> DocumentContent:
        with self.db.unit_of_work() as uow:
            dossier = self._visible_dossier(
                uow, caller.actor, Operation.DOCUMENT_READ, query.student_number
            )
            key = uow.students.data_key(dossier.student_number)
        ref = next((d for d in dossier.documents if d.sha256 == query.sha256), None)
        if ref is None:
            raise NotFound("document", query.sha256)
        owners = [dossier.student_number, dossier.registration_id]
        for owner in filter(None, owners):
            try:
                data = self.documents.get(owner, key, ref.sha256)
            except ObjectNotFound:
                continue
            return DocumentContent(ref=ref, content=base64.b64encode(data).decode())
        raise NotFound("document", query.sha256)

    # -- shared steps ----------------------------------------------------------------------

    def _change_dossier(
        self,
        caller: Caller,
        command: Any,
        operation: Operation,
        student_number: str,
        action: str,
        change: Callable[[StudentDossier], StudentDossier],
    ) -> DossierChanged:
        def work(uow: UnitOfWork) -> DossierChanged:
            dossier = self._visible_dossier(uow, caller.actor, operation, student_number)
            changed = attrs.evolve(change(dossier), version=dossier.version + 1)
            self._save(uow, caller, changed, action)
            return DossierChanged(
                student_number=changed.student_number, version=changed.version, change=action
            )

        return self._changing(caller, command, DossierChanged, work)

    def _save(self, uow: UnitOfWork, caller: Caller, dossier: StudentDossier, action: str) -> None:
        field_name = action.split(".", 1)[0]
        event = StudentRecordChanged(
            branch=dossier.branch,
            occurred_at=self.clock(),
            actor=caller.actor.id,
            student_number=dossier.student_number,
            fields=(field_name,),
        )
        uow.apply(Transitioned(dossier, (event,)), AuditSpec(action=action, fields=(field_name,)))

    def _changing(
        self,
        caller: Caller,
        command: Any,
        result_type: type[T],
        work: Callable[[UnitOfWork], T],
    ) -> T:
        once = None
        if caller.idempotency_key is not None:
            fingerprint = hashlib.sha256(
                f"{command.type}\n".encode() + wire.dumps(command)
            ).hexdigest()
            once = Once(caller.actor.id, caller.idempotency_key, fingerprint)

        def encode(result: T) -> bytes:
            return wire.dumps(result)

        def decode(raw: bytes) -> T:
            return wire.loads(raw, result_type)

        return transact(self.db, work, once=once, encode=encode, decode=decode)

    def _branch(self, code: str, path: str) -> Branch:
        branch = self.branches.get(code)
        if branch is None:
            allowed = ", ".join(sorted(self.branches))
            raise ValidationError([Problem(path, "not_allowed_value", {"allowed": allowed})])
        return branch

    def _rules(self, code: str) -> BranchRules:
        return self.plugins.rules_for(self._branch(code, "branch"))

    def _today(self, branch: Branch) -> date:
        return self.clock().astimezone(ZoneInfo(branch.time_zone)).date()

    def _require(self, actor: Actor, operation: Operation, branch: str | None) -> None:
        verdict = authorize(actor, operation, branch)
        if not verdict.allowed:
            raise AccessDenied(operation.value, verdict.reason or "role_not_permitted")

    def _visible_registration(
        self, uow: UnitOfWork, actor: Actor, operation: Operation, registration_id: str
    ) -> Registration:
        registration = uow.registrations.get(registration_id)
        _hide_unless(
            actor, operation, registration.branch, Subject(), "registration", registration_id
        )
        return registration

    def _visible_dossier(
        self, uow: UnitOfWork, actor: Actor, operation: Operation, student_number: str
    ) -> StudentDossier:
        try:
            dossier = uow.students.get(student_number)
        except DossierError as error:
            branch = _branch_of_destroyed(uow, student_number)
            if branch is not None:
                _hide_unless(
                    actor,
                    operation,
                    branch,
                    Subject(student_number=student_number),
                    "student",
                    student_number,
                )
            raise error from None
        subject = Subject(student_number=student_number)
        _hide_unless(actor, operation, dossier.branch, subject, "student", student_number)
        return dossier

    def _duplicates(self, uow: UnitOfWork, registration: Registration) -> tuple[DuplicateHint, ...]:
        """Chain-wide: the same ID document, phone, or name + birth date + phone."""
        applicant = registration.applicant
        probes: list[tuple[str, IndexKind, Any]] = [
            ("id_document", IndexKind.ID_DOCUMENT, applicant.id_document),
            ("phone", IndexKind.PHONE, applicant.phone),
            (
                "name_birth_phone",
                IndexKind.NAME_BIRTH_PHONE,
                (applicant.name, applicant.birth_date, applicant.phone),
            ),
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
    verdict = authorize(actor, Operation.REGISTRATION_SUBMIT, branch.code)
    if not verdict.allowed:
        raise AccessDenied(
            Operation.REGISTRATION_SUBMIT.value, verdict.reason or "role_not_permitted"
        )
    if Role.STUDENT in actor.roles and len(actor.roles) == 1:
        if command.channel is not Channel.ONLINE:
            raise ValidationError(
                [Problem("channel", "not_allowed_value", {"allowed": Channel.ONLINE.value})]
            )
    elif command.channel is Channel.IMPORT:
        allowed = f"{Channel.ONLINE.value}, {Channel.FRONT_DESK.value}"
        raise ValidationError([Problem("channel", "not_allowed_value", {"allowed": allowed})])
    contents = _decoded(command.attachments)
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
    return rules.validate_registration(draft, today), contents


def _hide_unless(
    actor: Actor, operation: Operation, branch: str, subject: Subject, kind: str, ref: str
) -> None:
    reveal(actor, operation, branch, kind, ref, subject)


def _branch_of_destroyed(uow: UnitOfWork, student_number: str) -> str | None:
    tombstone = uow.students.tombstone(student_number)
    return None if tombstone is None else tombstone.branch


def _decoded(
    attachments: Sequence[Attachment], prefix: str | None = "attachments"
) -> list[tuple[Attachment, bytes]]:
    """Every attachment's bytes, or every problem with them (paths under ``prefix``)."""
    problems: list[Problem] = []
    decoded: list[tuple[Attachment, bytes]] = []
    for index, attachment in enumerate(attachments):
        data, found = decode_attachment(attachment, f"{prefix}[{index}]" if prefix else "")
        problems.extend(found)
        decoded.append((attachment, data))
    if problems:
        raise ValidationError(problems)
    return decoded


def _personal_values(person: Any) -> dict[str, object]:
    return {
        "personal.name": person.name,
        "personal.birth_date": person.birth_date,
        "personal.id_document": f"{person.id_document.type.value}:{person.id_document.number}",
        "personal.phone": person.phone,
        "personal.email": person.email,
        "personal.address": person.address,
    }


def _checked(rules: BranchRules, kind: FieldKind, path: str, value: str, today: date) -> object:
    result = rules.check_field(kind, path, value, today)
    if result.problems:
        raise ValidationError(result.problems)
    return result.value
