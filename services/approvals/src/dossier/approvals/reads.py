"""查阅记录 and misuse alerts: the read trail as the student and the auditor see it, and the
alerts the branch manager and the auditor see and the auditor acknowledges.

The entries themselves are written by the use cases that reveal unmasked data
(`UseCases._record_read`); this module only reads them, pages them, and records
an auditor's acknowledgement of an alert (audited, ``read_alert.acknowledged``).
"""

from __future__ import annotations

from datetime import datetime

from dossier.core.caller import Caller
from dossier.core.contracts.read_trail import (
    AcknowledgeReadAlert,
    ListMyReads,
    ListReadAlerts,
    ListStaffReads,
    ListStudentReads,
    ReadAlertPage,
    ReadAlertView,
    ReadLine,
    ReadPage,
)
from dossier.core.errors import NotFound, Problem, ValidationError
from dossier.core.policy import Operation
from dossier.storage.audit import AuditSpec
from dossier.storage.read_trail import ReadAlert, ReadEntry
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, hide_unless, page_limit


def display_name(actor: str) -> str:
    """What a student is shown of a staff member: the account's login (``web:<login>``), or the
    service account's name — nothing more."""
    return actor.removeprefix("web:")


def read_line(entry: ReadEntry, *, for_student: bool) -> ReadLine:
    return ReadLine(
        at=entry.at,
        student_number=entry.student_number,
        branch=entry.branch,
        viewer=display_name(entry.actor),
        roles=entry.roles,
        kinds=entry.kinds,
        channel=entry.channel,
        actor=None if for_student else entry.actor,
        request_id=None if for_student else entry.request_id,
    )


def _page(entries: list[ReadEntry], limit: int, *, for_student: bool) -> ReadPage:
    shown = entries[:limit]
    more = len(entries) > limit
    return ReadPage(
        items=tuple(read_line(e, for_student=for_student) for e in shown),
        next_before=shown[-1].at if more and shown else None,
    )


def alert_view(alert: ReadAlert) -> ReadAlertView:
    return ReadAlertView(
        alert_id=alert.id,
        branch=alert.branch,
        actor=alert.actor,
        rule=alert.rule,
        window=alert.window,
        count=alert.count,
        threshold=alert.threshold,
        raised_at=alert.raised_at,
        notices=tuple(f"{channel}: {text}" for channel, text in alert.notices),
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        comment=alert.comment,
    )


class ReadTrailHandlers(UseCases):
    def list_my_reads(self, caller: Caller, query: ListMyReads) -> ReadPage:
        """Who in the school viewed the student's record: role, display name, when."""
        return self._student_reads(caller, query, Operation.READ_TRAIL_OWN, for_student=True)

    def list_student_reads(self, caller: Caller, query: ListStudentReads) -> ReadPage:
        """One student's read trail, as an auditor sees it (who, roles, what, channel)."""
        return self._student_reads(caller, query, Operation.READ_TRAIL_READ, for_student=False)

    def _student_reads(
        self,
        caller: Caller,
        query: ListMyReads | ListStudentReads,
        operation: Operation,
        *,
        for_student: bool,
    ) -> ReadPage:
        page_limit(query.limit)

        def work(uow: UnitOfWork) -> ReadPage:
            number = query.student_number
            tombstone = None if for_student else uow.students.tombstone(number)
            if tombstone is None:
                self._dossier(uow, caller.actor, operation, number)
            else:  # destroyed: the trail is kept (it holds no value), and auditors still read it
                hide_unless(caller.actor, operation, tombstone.branch, "student", number)
            entries = uow.reads.for_student(number, before=query.before, limit=query.limit + 1)
            return _page(entries, query.limit, for_student=for_student)

        return self._reading(work)

    def list_staff_reads(self, caller: Caller, query: ListStaffReads) -> ReadPage:
        page_limit(query.limit)
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.READ_TRAIL_READ, branch.code)

        def work(uow: UnitOfWork) -> ReadPage:
            entries = uow.reads.for_actor(
                query.actor, branches=[branch.code], before=query.before, limit=query.limit + 1
            )
            return _page(entries, query.limit, for_student=False)

        return self._reading(work)

    def list_read_alerts(self, caller: Caller, query: ListReadAlerts) -> ReadAlertPage:
        page_limit(query.limit)
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.READ_ALERT_READ, branch.code)

        def work(uow: UnitOfWork) -> ReadAlertPage:
            found = uow.read_alerts.listed(
                [branch.code], open_only=query.open_only, limit=query.limit
            )
            return ReadAlertPage(items=tuple(alert_view(a) for a in found))

        return self._reading(work)

    def acknowledge_read_alert(
        self, caller: Caller, command: AcknowledgeReadAlert
    ) -> ReadAlertView:
        def work(uow: UnitOfWork) -> ReadAlertView:
            alert = uow.read_alerts.get(command.alert_id)
            if alert is None:
                raise NotFound("read_alert", command.alert_id)
            hide_unless(
                caller.actor,
                Operation.READ_ALERT_ACKNOWLEDGE,
                alert.branch,
                "read_alert",
                command.alert_id,
            )
            if alert.acknowledged_at is not None:
                allowed = {"allowed": "an alert not yet acknowledged"}
                raise ValidationError([Problem("alert_id", "not_allowed_value", allowed)])
            comment = self._texts(alert.branch, {"comment": command.comment})["comment"]
            at: datetime = self.clock()
            uow.read_alerts.acknowledge(alert.id, by=caller.actor.id, comment=comment, at=at)
            uow.audit.record(
                AuditSpec(action="read_alert.acknowledged", fields=("comment",)),
                branch=alert.branch,
                actor=caller.actor.id,
                subject=alert.id,
                at=at,
            )
            acknowledged = uow.read_alerts.get(alert.id)
            assert acknowledged is not None
            return alert_view(acknowledged)

        return self._changing(caller, command, ReadAlertView, work)
