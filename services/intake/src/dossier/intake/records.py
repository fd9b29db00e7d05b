"""Courses (选课), payments (缴费) and documents of an admitted student's dossier."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import attrs

from dossier.core.attachments import Attachment, decode_attachment, reference
from dossier.core.caller import Caller
from dossier.core.commands import EndCourse, EnrolCourse, RecordPayment
from dossier.core.contracts.intake import AddDocument, DocumentContent, DossierChanged, GetDocument
from dossier.core.enums import DocumentKind, EnrolmentStatus
from dossier.core.errors import NotFound, Problem, ValidationError
from dossier.core.events import StudentRecordChanged
from dossier.core.lifecycle import Transitioned
from dossier.core.policy import Operation
from dossier.core.records import CURRENCY, CourseEnrolment, DocumentRef, Payment, StudentDossier
from dossier.core.shape import checks_partial
from dossier.core.wire import Partial
from dossier.storage.audit import AuditSpec
from dossier.storage.objects import ObjectNotFound
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases

COURSE_CODE_MAX = 64
RECEIPT_REF_MAX = 128
"""The widths of their columns: longer values are refused as ``too_long``, not by the database."""


def _too_long(path: str, value: str, maximum: int) -> list[Problem]:
    return [Problem(path, "too_long", {"max": maximum})] if len(value) > maximum else []


class RecordHandlers(UseCases):
    def _course_rules(self, caller: Caller, partial: Partial) -> list[Problem]:
        return _course_problems(
            partial.get("course_code", str),
            partial.get("starts_on", date),
            partial.get("ends_on", date),
        )

    @checks_partial(_course_rules)
    def enrol_course(self, caller: Caller, command: EnrolCourse) -> DossierChanged:
        problems = _course_problems(command.course_code, command.starts_on, command.ends_on)
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
            found = [e for e in dossier.enrolments if e.id == command.enrolment_id]
            if not found:
                raise NotFound("enrolment", command.enrolment_id)
            if command.ended_on < found[0].starts_on:  # as enrol_course refuses it
                raise ValidationError([Problem("ended_on", "invalid_date")])
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

    def _payment_rules(self, caller: Caller, partial: Partial) -> list[Problem]:
        return _payment_problems(
            partial.get("receipt_ref", str),
            partial.get("amount_minor", int),
            partial.get("currency", str),
        )

    @checks_partial(_payment_rules)
    def record_payment(self, caller: Caller, command: RecordPayment) -> DossierChanged:
        problems = _payment_problems(command.receipt_ref, command.amount_minor, command.currency)
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

    def _document_rules(self, caller: Caller, partial: Partial) -> list[Problem]:
        media_type, content = partial.get("media_type", str), partial.get("content", str)
        if media_type is None or content is None:
            return []
        attachment = Attachment(
            kind=partial.get("kind", DocumentKind) or DocumentKind.OTHER,  # not among the checks
            media_type=media_type,
            content=content,
            sha256=partial.get("sha256", str),
        )
        return decode_attachment(attachment)[1]

    @checks_partial(_document_rules)
    def add_document(self, caller: Caller, command: AddDocument) -> DocumentRef:
        attachment = Attachment(
            kind=command.kind,
            media_type=command.media_type,
            content=command.content,
            sha256=command.sha256,
        )
        data, problems = decode_attachment(attachment)
        if problems:
            raise ValidationError(problems)
        ref = reference(attachment, data)

        def work(uow: UnitOfWork) -> DocumentRef:
            dossier = self._dossier(
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
            dossier = self._dossier(
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
            self._recorded_reads(caller, [(dossier.branch, dossier.student_number, ("documents",))])
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
            dossier = self._dossier(uow, caller.actor, operation, student_number)
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


def _course_problems(
    course_code: str | None, starts_on: date | None, ends_on: date | None
) -> list[Problem]:
    """选课's checks; a value that is None (failed its shape, or left out) is not checked."""
    problems = [] if course_code is None else _too_long("course_code", course_code, COURSE_CODE_MAX)
    if course_code == "":
        problems.append(Problem("course_code", "required"))
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        problems.append(Problem("ends_on", "invalid_date"))
    return problems


AMOUNT_MINOR_MAX = 2**63 - 1
"""The amount column's range (BIGINT): a larger amount is refused as a problem, never by the
database."""


def _payment_problems(
    receipt_ref: str | None, amount_minor: int | None, currency: str | None
) -> list[Problem]:
    """缴费's checks; a value that is None (failed its shape) is not checked."""
    problems = [] if receipt_ref is None else _too_long("receipt_ref", receipt_ref, RECEIPT_REF_MAX)
    if amount_minor is not None and not 0 < amount_minor <= AMOUNT_MINOR_MAX:
        allowed = f"1–{AMOUNT_MINOR_MAX}"
        problems.append(Problem("amount_minor", "not_allowed_value", {"allowed": allowed}))
    if currency is not None and not CURRENCY.fullmatch(currency.upper()):
        expected = "currency_code"  # a three-letter code of ISO 4217
        problems.append(Problem("currency", "wrong_type", {"expected": expected}))
    return problems
