"""流程反馈: students and staff tell the school what works and what does not in the process.

Anonymous feedback keeps no trace of its sender anywhere: not in the record
(``submitted_by`` is None), not in the audit entry or the event (their actor
is `ANONYMOUS`), not in the idempotency ledger (kept under `ANONYMOUS` and
the caller's random key). Managers (approver, admin) list, answer and count
it per topic for the quarterly report. A student whose record was destroyed
sends no more (`Destroyed`): destruction closes their web account, and a token
of theirs that is still about is refused here too.
"""

from __future__ import annotations

import uuid

from dossier.approvals.views import feedback_view
from dossier.core.caller import Caller
from dossier.core.commands import RespondFeedback, SubmitFeedback
from dossier.core.contracts.approvals import (
    CountFeedback,
    FeedbackCounts,
    FeedbackPage,
    FeedbackReceipt,
    FeedbackView,
    ListFeedback,
    TopicCount,
)
from dossier.core.errors import Problem, ValidationError
from dossier.core.lifecycle import Context
from dossier.core.lifecycles import respond_feedback, submit_feedback
from dossier.core.policy import Operation
from dossier.core.records import Feedback
from dossier.storage.audit import AuditSpec
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, hide_unless, page_limit

ANONYMOUS = "anonymous"
TOPIC_MAX = 64


class FeedbackHandlers(UseCases):
    def submit_feedback(self, caller: Caller, command: SubmitFeedback) -> FeedbackReceipt:
        branch = self._branch(command.branch)
        self._require(caller.actor, Operation.FEEDBACK_SUBMIT, branch.code)
        texts = self._texts(branch.code, {"topic": command.topic, "text": command.text})
        if len(texts["topic"]) > TOPIC_MAX:
            raise ValidationError([Problem("topic", "too_long", {"max": TOPIC_MAX})])
        sender = None if command.anonymous else caller.actor.id
        ctx = Context(actor=sender or ANONYMOUS, reason="feedback", at=self.clock())
        item = Feedback(
            id=str(uuid.uuid4()),
            branch=branch.code,
            topic=texts["topic"],
            text=texts["text"],
            submitted_at=ctx.at,
            submitted_by=sender,
        )

        def work(uow: UnitOfWork) -> FeedbackReceipt:
            own = caller.actor.student_number
            if own is not None and uow.students.tombstone(own) is not None:
                raise uow.session.destroyed_error(own)
            uow.apply(submit_feedback(item, ctx), AuditSpec(action="feedback.submitted"))
            return FeedbackReceipt(feedback_id=item.id, branch=item.branch, topic=item.topic)

        ledger = ANONYMOUS if command.anonymous else None
        return self._changing(caller, command, FeedbackReceipt, work, ledger_actor=ledger)

    def list_feedback(self, caller: Caller, query: ListFeedback) -> FeedbackPage:
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.FEEDBACK_MANAGE, branch.code)
        page_limit(query.limit)

        def work(uow: UnitOfWork) -> list[Feedback]:
            return uow.feedback.find(branch=branch.code, limit=10_000)

        found = [f for f in self._reading(work) if not query.unanswered_only or f.response is None]
        return FeedbackPage(items=tuple(feedback_view(f) for f in found[: query.limit]))

    def respond_feedback(self, caller: Caller, command: RespondFeedback) -> FeedbackView:
        """回复反馈, once."""

        def work(uow: UnitOfWork) -> FeedbackView:
            item = uow.feedback.get(command.feedback_id)
            hide_unless(caller.actor, Operation.FEEDBACK_MANAGE, item.branch, "feedback", item.id)
            response = self._texts(item.branch, {"response": command.response})["response"]
            answered = respond_feedback(item, response, self._context(caller, "answered"))
            uow.apply(answered, AuditSpec(action="feedback.responded"))
            return feedback_view(answered.record)

        return self._changing(caller, command, FeedbackView, work)

    def count_feedback(self, caller: Caller, query: CountFeedback) -> FeedbackCounts:
        """Per topic: how much came in during the period, and how much was answered."""
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.FEEDBACK_MANAGE, branch.code)

        def work(uow: UnitOfWork) -> list[tuple[str, int, int]]:
            return uow.feedback.topic_counts(
                branch=branch.code,
                submitted_from=query.submitted_from,
                submitted_to=query.submitted_to,
            )

        counts = self._reading(work)
        return FeedbackCounts(
            branch=branch.code,
            total=sum(total for _, total, _ in counts),
            topics=tuple(
                TopicCount(topic=topic, total=total, answered=answered)
                for topic, total, answered in counts
            ),
            submitted_from=query.submitted_from,
            submitted_to=query.submitted_to,
        )
