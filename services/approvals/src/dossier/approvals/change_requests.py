"""信息变更申请: submit → review (four-eyes) → applied → the student confirms or disputes.

- **Submit** (《信息变更申请表》): by the student on their own dossier, or by
  staff on their behalf; validated at once with the branch's rules
  (`BranchRules.validate_change`), evidence filed encrypted under the
  student's key, the dossier's version recorded as the request's base.
- **Review** (审批): never by the requester (the policy's ``self_approval``
  and core's ``four_eyes`` guard). Approval applies the approved fields in
  the same transaction and notifies the student with a one-time code. A
  request whose dossier changed since its base is *stale*: approval is
  refused (``stale_change``) until it is re-based (``change.rebase``:
  re-validated against the current dossier, before-values and base
  refreshed, still submitted).
- **Answer** (确认/异议): the student confirms, or disputes with a reason; a
  disputed change is reviewed again: approving upholds it (a new code is
  sent), rejecting reverts the fields that still hold the change's values.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from dossier.approvals.notices import code_hash, notify
from dossier.approvals.views import change_receipt, change_summary, change_view
from dossier.core.attachments import Attachment, decode_attachment, reference
from dossier.core.caller import Caller
from dossier.core.changes import apply_changes, current_value, describe_changes, parse_value
from dossier.core.changes import render_value as rendered
from dossier.core.commands import AnswerChange, RebaseChange, ReviewChange, SubmitChange
from dossier.core.contracts.approvals import (
    ChangePage,
    ChangeReceipt,
    ChangeView,
    ConfirmChange,
    DisputeChange,
    GetChange,
    ListChanges,
    ListUnconfirmed,
)
from dossier.core.enums import ChangeStatus, Decision, DocumentKind, DocumentStage
from dossier.core.errors import AccessDenied, Problem, ValidationError
from dossier.core.events import StudentRecordChanged
from dossier.core.lifecycle import Context, Transitioned
from dossier.core.lifecycles import (
    CHANGE,
    approve_change,
    confirm_change,
    dispute_change,
    mark_change_applied,
    rebase_change,
    reject_change,
    submit_change,
)
from dossier.core.policy import Actor, Operation, Subject
from dossier.core.records import ChangeRequest, FieldChange, StudentDossier
from dossier.core.shape import checks_partial
from dossier.core.views import Masker
from dossier.core.wire import Partial
from dossier.storage.audit import AuditSpec
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, hide_unless, page_limit


class ChangeHandlers(UseCases):
    # -- submit ------------------------------------------------------------------------------

    def _submission_rules(self, caller: Caller, partial: Partial) -> list[Problem]:
        """`submit_change`'s checks over a form that failed its shape (`checks_partial`): its
        well-shaped changes, reason and attachments, against the student's dossier."""
        number = partial.get("student_number", str)
        if number is None:
            return []
        problems: list[Problem] = []
        attachments = partial.items("attachments", Attachment)
        for index, attachment in attachments:
            problems.extend(decode_attachment(attachment, f"attachments[{index}]")[1])
        changes = [change for _, change in partial.items("changes", FieldChange)]
        if partial.ok("changes") and not changes:
            problems.append(Problem("changes", "required"))
        dossier = self._reading(
            lambda uow: self._dossier(uow, caller.actor, Operation.CHANGE_SUBMIT, number)
        )
        kinds = {a.kind for _, a in attachments} if partial.ok("attachments") else None
        found, _, _ = self._change_problems(dossier, partial.get("reason", str), changes, kinds)
        return problems + found

    @checks_partial(_submission_rules)
    def submit_change(self, caller: Caller, command: SubmitChange) -> ChangeReceipt:
        """提交《信息变更申请表》: validated now, so a malformed phone is known at once."""
        contents = _decoded(command.attachments)
        refs = tuple(reference(attachment, data) for attachment, data in contents)
        if not command.changes:
            raise ValidationError([Problem("changes", "required")])

        def work(uow: UnitOfWork) -> ChangeReceipt:
            dossier = self._dossier(
                uow, caller.actor, Operation.CHANGE_SUBMIT, command.student_number
            )
            problems, reason, values = self._change_problems(
                dossier, command.reason, command.changes, {r.kind for r in refs}
            )
            if problems:
                raise ValidationError(problems)
            ctx = self._context(caller, "submitted")
            change = ChangeRequest(
                id=str(uuid.uuid4()),
                student_number=dossier.student_number,
                branch=dossier.branch,
                changes=describe_changes(dossier, command.changes, values),
                reason=reason,
                requested_by=caller.actor.id,
                requested_at=ctx.at,
                dossier_version=dossier.version,
                documents=refs,
            )
            uow.apply(
                submit_change(change, ctx), AuditSpec(action="change.submitted", values=values)
            )
            key = uow.students.data_key(dossier.student_number)
            for attachment, data in contents:
                self.documents.put(dossier.student_number, key, data, attachment.media_type)
            return change_receipt(change)

        return self._changing(caller, command, ChangeReceipt, work)

    def _change_problems(
        self,
        dossier: StudentDossier,
        reason: str | None,
        changes: Sequence[FieldChange],
        kinds: set[DocumentKind] | None,
    ) -> tuple[list[Problem], str, dict[str, object]]:
        """A change request's reason, changes and evidence (the kinds filed) against the
        dossier: every problem, the normalised reason and the parsed values. A reason or
        kinds that are None, or no changes, failed their shape and are not checked."""
        rules = self._rules(dossier.branch)
        problems: list[Problem] = []
        text, values = "", {}
        if reason is not None:
            try:
                text = self._texts(dossier.branch, {"reason": reason})["reason"]
            except ValidationError as error:
                problems.extend(error.problems())
        if changes:
            try:
                values = rules.validate_change(dossier, changes, self._today(dossier.branch))
            except ValidationError as error:
                problems.extend(error.problems())
        if kinds is not None:
            missing = rules.required_documents(DocumentStage.CHANGE) - kinds
            problems.extend(
                Problem("attachments", "document_required", {"kind": kind.value})
                for kind in sorted(missing)
            )
        return problems, text, values

    # -- read --------------------------------------------------------------------------------

    def get_change(self, caller: Caller, query: GetChange) -> ChangeView:
        """Field by field, before and after, masked for the caller's role; ``stale`` flagged."""

        def work(uow: UnitOfWork) -> ChangeView:
            change = self._change(uow, caller.actor, Operation.CHANGE_READ, query.change_id)
            current = uow.students.get(change.student_number).version
            return change_view(change, current, Masker(self._rules(change.branch), caller.actor))

        return self._reading(work)

    def list_changes(self, caller: Caller, query: ListChanges) -> ChangePage:
        branch = self._branch(query.branch)
        page_limit(query.limit)
        if query.student_number is None:
            self._require(caller.actor, Operation.CHANGE_READ, branch.code)
        else:
            subject = Subject(student_number=query.student_number)
            number = query.student_number
            hide_unless(
                caller.actor, Operation.CHANGE_READ, branch.code, "student", number, subject
            )

        def work(uow: UnitOfWork) -> list[ChangeRequest]:
            if query.student_number is not None:
                return uow.change_requests.for_student(query.student_number)
            return uow.change_requests.find(branch=branch.code, status=query.status, limit=10_000)

        found = [
            c
            for c in self._reading(work)
            if c.branch == branch.code and (query.status is None or c.status is query.status)
        ]
        if query.after is not None:
            ids = [c.id for c in found]
            found = found[ids.index(query.after) + 1 :] if query.after in ids else []
        page = found[: query.limit]
        more = len(found) > query.limit
        return ChangePage(
            items=tuple(change_summary(c) for c in page),
            next_after=page[-1].id if more and page else None,
        )

    def unconfirmed_changes(self, caller: Caller, query: ListUnconfirmed) -> ChangePage:
        """Applied, neither confirmed nor disputed, for more than ``unconfirmed_change_days``."""
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.CHANGE_READ, branch.code)
        cutoff = self.clock() - timedelta(days=branch.unconfirmed_change_days)

        def work(uow: UnitOfWork) -> list[ChangeRequest]:
            return uow.change_requests.find(
                branch=branch.code, status=ChangeStatus.APPLIED, limit=10_000
            )

        overdue = [c for c in self._reading(work) if c.applied_at and c.applied_at <= cutoff]
        return ChangePage(items=tuple(change_summary(c) for c in overdue))

    # -- review (审批) -------------------------------------------------------------------------

    def review_change(self, caller: Caller, command: ReviewChange) -> ChangeReceipt:
        """Approve (all fields or a subset) and apply, or reject with a comment; never one's own."""

        def work(uow: UnitOfWork) -> ChangeReceipt:
            change = self._change(
                uow, caller.actor, Operation.CHANGE_REVIEW, command.change_id, deciding=True
            )
            required = {"comment": command.comment} if command.decision is Decision.REJECT else {}
            texts = self._texts(change.branch, required, {"comment": command.comment})
            ctx = self._context(caller, texts["comment"])
            dossier = uow.students.get(change.student_number)
            if command.decision is Decision.REJECT:
                return change_receipt(self._reject(uow, change, dossier, ctx))
            return change_receipt(self._approve(uow, change, dossier, command.fields, ctx))

        return self._changing(caller, command, ChangeReceipt, work)

    def _approve(
        self,
        uow: UnitOfWork,
        change: ChangeRequest,
        dossier: StudentDossier,
        fields: tuple[str, ...] | None,
        ctx: Context,
    ) -> ChangeRequest:
        disputed = change.status is ChangeStatus.DISPUTED
        if disputed:  # upholding: exactly what was applied stands
            if fields is not None and set(fields) != set(change.approved_fields):
                allowed = ", ".join(change.approved_fields)
                raise ValidationError(
                    [Problem("fields", "not_allowed_value", {"allowed": allowed})]
                )
            fields = change.approved_fields
        approved = approve_change(change, ctx, fields, dossier)
        uow.apply(
            approved, AuditSpec(action="change.approved", fields=approved.record.approved_fields)
        )
        base = None
        if not disputed:
            base = self._apply_values(uow, approved.record, dossier, ctx).version
        applied = mark_change_applied(approved.record, ctx, base)
        uow.apply(
            applied, AuditSpec(action="change.applied", fields=applied.record.approved_fields)
        )
        notify(
            uow,
            self._rules(change.branch),
            student_number=change.student_number,
            kind="change_applied",
            subject=change.id,
            at=ctx.at,
            with_code=True,
        )
        return applied.record

    def _apply_values(
        self, uow: UnitOfWork, change: ChangeRequest, dossier: StudentDossier, ctx: Context
    ) -> StudentDossier:
        """The approved fields, validated again under the branch's current rules, written."""
        chosen = [
            FieldChange(field=c.field, after=c.after)
            for c in change.changes
            if c.field in change.approved_fields
        ]
        rules = self._rules(change.branch)
        values = rules.validate_change(dossier, chosen, self._today(change.branch))
        changed = apply_changes(dossier, values)
        self._save(uow, changed, ctx, "student.record_changed", values)
        return changed

    def _reject(
        self, uow: UnitOfWork, change: ChangeRequest, dossier: StudentDossier, ctx: Context
    ) -> ChangeRequest:
        rejected = reject_change(change, ctx)
        uow.apply(rejected, AuditSpec(action="change.rejected"))
        if change.status is ChangeStatus.DISPUTED:
            restore = _reverting(change, dossier)
            if restore:
                reverted = apply_changes(dossier, restore)
                self._save(uow, reverted, ctx, "student.record_reverted", restore)
        notify(
            uow,
            self._rules(change.branch),
            student_number=change.student_number,
            kind="change_rejected",
            subject=change.id,
            at=ctx.at,
            with_code=False,
        )
        return rejected.record

    def _save(
        self,
        uow: UnitOfWork,
        dossier: StudentDossier,
        ctx: Context,
        action: str,
        values: dict[str, object],
    ) -> None:
        event = StudentRecordChanged(
            branch=dossier.branch,
            occurred_at=ctx.at,
            actor=ctx.actor,
            student_number=dossier.student_number,
            fields=tuple(values),
        )
        uow.apply(Transitioned(dossier, (event,)), AuditSpec(action=action, values=values))

    def rebase_change(self, caller: Caller, command: RebaseChange) -> ChangeReceipt:
        """重新核对: re-validate a submitted request against the dossier as it is now, refresh its
        before-values and base version; it stays submitted for a fresh decision."""

        def work(uow: UnitOfWork) -> ChangeReceipt:
            change = self._change(uow, caller.actor, Operation.CHANGE_REVIEW, command.change_id)
            comment = self._texts(change.branch, {}, {"comment": command.comment})["comment"]
            ctx = self._context(caller, comment)
            CHANGE.target(change.status, "rebase", change, ctx)  # a submitted one only
            dossier = uow.students.get(change.student_number)
            requested = [FieldChange(field=c.field, after=c.after) for c in change.changes]
            rules = self._rules(change.branch)
            values = rules.validate_change(dossier, requested, self._today(change.branch))
            rebased = rebase_change(change, dossier, ctx, values)
            uow.apply(rebased, AuditSpec(action="change.rebased", values=values))
            return change_receipt(rebased.record)

        return self._changing(caller, command, ChangeReceipt, work)

    # -- answer (确认/异议) ---------------------------------------------------------------------

    def answer_change(self, caller: Caller, command: AnswerChange) -> ChangeReceipt:
        """The student confirms the applied change, or disputes it (with a reason), with the
        one-time code of their notification; a wrong or used code is refused."""

        def work(uow: UnitOfWork) -> ChangeReceipt:
            change = self._change(uow, caller.actor, Operation.CHANGE_ANSWER, command.change_id)
            required = {} if command.confirm else {"reason": command.reason}
            reason = self._texts(change.branch, required, {"reason": command.reason})["reason"]
            ctx = self._context(caller, reason or "confirmed")
            if not uow.notifications.consume(change.id, code_hash(command.token), ctx.at):
                raise AccessDenied(Operation.CHANGE_ANSWER.value, "confirmation_token_invalid")
            if command.confirm:
                moved = confirm_change(change, ctx)
                action = "change.confirmed"
            else:
                moved = dispute_change(change, ctx)
                action = "change.disputed"
            uow.apply(moved, AuditSpec(action=action))
            return change_receipt(moved.record)

        return self._changing(caller, command, ChangeReceipt, work)

    def confirm_change(self, caller: Caller, command: ConfirmChange) -> ChangeReceipt:
        """确认变更: `answer_change` with ``confirm``."""
        answer = AnswerChange(change_id=command.change_id, token=command.token, confirm=True)
        return self.answer_change(caller, answer)

    def dispute_change(self, caller: Caller, command: DisputeChange) -> ChangeReceipt:
        """提出异议: `answer_change` without ``confirm``, with a reason."""
        answer = AnswerChange(
            change_id=command.change_id, token=command.token, confirm=False, reason=command.reason
        )
        return self.answer_change(caller, answer)

    # -- shared ------------------------------------------------------------------------------

    def _change(
        self,
        uow: UnitOfWork,
        actor: Actor,
        operation: Operation,
        change_id: str,
        *,
        deciding: bool = False,
    ) -> ChangeRequest:
        """The request if ``actor`` may ``operation`` it (deciding: and did not make it)."""
        change = uow.change_requests.get(change_id)
        subject = Subject(
            student_number=change.student_number,
            requested_by=change.requested_by if deciding else None,
        )
        hide_unless(actor, operation, change.branch, "change_request", change_id, subject)
        return change


def _reverting(change: ChangeRequest, dossier: StudentDossier) -> dict[str, object]:
    """The before-values of the applied fields that still hold the change's after-values.

    A field someone changed since holds a newer truth and is left alone; a
    before-value that cannot be restored as a value (a guardian that did not
    exist) is left too.
    """
    restore: dict[str, object] = {}
    for field_change in change.changes:
        path = field_change.field
        if path not in change.approved_fields:
            continue
        if rendered(current_value(dossier, path)) != field_change.after:
            continue
        value, problems = parse_value(path, field_change.before)
        if not problems:
            restore[path] = value
    return restore


def _decoded(attachments: Sequence[Attachment]) -> list[tuple[Attachment, bytes]]:
    """Every attachment's bytes, or every problem with them (paths ``attachments[i]…``)."""
    problems: list[Problem] = []
    found: list[tuple[Attachment, bytes]] = []
    for index, attachment in enumerate(attachments):
        data, wrong = decode_attachment(attachment, f"attachments[{index}]")
        problems.extend(wrong)
        found.append((attachment, data))
    if problems:
        raise ValidationError(problems)
    return found
