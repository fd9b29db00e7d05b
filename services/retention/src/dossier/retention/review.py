"""Quarterly review (定期审核): every dossier of a branch through the review rules, each quarter.

A run is one branch's review of one quarter (``2026Q4``):

1. ``start_run`` opens it (status running) or finds it — there is one run per
   branch and quarter — and streams the branch's dossiers through the rules
   page by page: each page is its own short transaction that locks the run
   row, takes the next ``page_size`` student numbers after the run's cursor,
   loads each dossier (`uow.students.get`), runs the branch's review hook
   (`BranchRules.review`: missing ID proof, minors without guardian or
   guardian consent, invalid contact, enrolled without an active course,
   retention period passed) and `unconfirmed_changes`, writes the findings and
   moves the cursor. Memory holds one page of student numbers and one dossier
   at a time, never the branch; an interrupted run resumes where it stopped,
   and two workers on one run share its pages instead of doubling them.
   Destroyed students are skipped. The last page completes the run and counts
   its findings per rule and severity.
2. The findings are the branch's work list: a reviewer resolves (处理) or
   waives (豁免) each with a note.
3. The reviewer signs the run off (签署) — refused while a finding is open.

Runs, findings and sign-off stay on record; `export_csv` and `report_html`
hand them over (see `dossier.retention.report`). Every change writes its
audit entry and its event (``review.run_moved``, ``review.finding_moved``) in
its own transaction. Access: ``review.run`` / ``review.read`` /
``review.resolve`` / ``review.sign_off``; runs of other branches are not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs

from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.contracts.retention import (
    Export,
    ExportReview,
    FindingPage,
    FindingView,
    GetReviewRun,
    ListFindings,
    ListReviewRuns,
    ResolveFinding,
    ReviewReport,
    RuleCount,
    RunPage,
    RunView,
    SignOffReview,
    StartReview,
    WaiveFinding,
)
from dossier.core.enums import ChangeStatus, ReviewRunStatus, Severity
from dossier.core.errors import AccessDenied, GuardRefused, Problem, ValidationError
from dossier.core.events import ReviewFindingMoved, ReviewRunMoved
from dossier.core.lifecycle import Context
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor, Operation, authorize
from dossier.core.progress import Progress
from dossier.core.records import ReviewFinding, StudentDossier
from dossier.retention import report
from dossier.retention.review_store import (
    FINDING,
    FINDING_KIND,
    RUN,
    RUN_KIND,
    ReviewRun,
    ReviewStore,
    StoredFinding,
)
from dossier.retention.schedule import Quarter, Schedule, current_quarter, due_runs
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database
from dossier.storage.repositories.student_pages import StudentPage
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, hide_unless, page_limit, utc_now

PAGE_SIZE = 1000
"""Dossiers per transaction of a run: the most a run holds in memory at once."""

UNCONFIRMED_CHANGE = "unconfirmed_change"


class ChangeLike(Protocol):
    """What `unconfirmed_changes` reads of a change request (`ChangeRequest`, `ChangeState`)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> ChangeStatus: ...
    @property
    def applied_at(self) -> datetime | None: ...
    @property
    def answered_at(self) -> datetime | None: ...


def unconfirmed_changes(
    dossier: StudentDossier, changes: Sequence[ChangeLike], branch: Branch, now: datetime
) -> list[ReviewFinding]:
    """变更未确认: applied changes the student has neither confirmed nor disputed within
    ``branch.unconfirmed_change_days``. One finding per student; the detail names the oldest
    change and how many there are, never a value."""
    limit = timedelta(days=branch.unconfirmed_change_days)
    stale = [
        c
        for c in changes
        if c.status is ChangeStatus.APPLIED
        and c.answered_at is None
        and c.applied_at is not None
        and now - c.applied_at > limit
    ]
    if not stale:
        return []
    oldest = min(stale, key=lambda c: (c.applied_at or now, c.id))
    return [
        ReviewFinding(
            student_number=dossier.student_number,
            rule=UNCONFIRMED_CHANGE,
            severity=Severity.WARNING,
            suggested_action="remind_student_to_confirm",
            detail={
                "days": branch.unconfirmed_change_days,
                "changes": len(stale),
                "oldest_change_id": oldest.id,
            },
        )
    ]


def run_view(run: ReviewRun, tally: Mapping[str, Any] | None = None) -> RunView:
    """A run as callers see it; ``tally``: live counts, for a run not yet signed off."""
    counts = {**run.counts, **(tally or {})}
    by_rule: Mapping[str, int] = counts.get("by_rule") or {}
    return RunView(
        id=run.id,
        branch=run.branch,
        quarter=run.quarter,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        dossiers=int(counts.get("dossiers", 0)),
        findings=int(counts.get("findings", 0)),
        open=int(counts.get("open", 0)),
        by_rule=tuple(RuleCount(rule=r, count=int(c)) for r, c in sorted(by_rule.items())),
        signed_off_by=run.signed_off_by,
        signed_off_at=run.signed_off_at,
        sign_off_note=run.sign_off_note,
    )


def finding_view(f: StoredFinding) -> FindingView:
    return FindingView(
        id=f.id,
        run_id=f.run_id,
        student_number=f.student_number,
        rule=f.rule,
        severity=f.severity,
        suggested_action=f.suggested_action,
        detail=dict(f.detail),
        status=f.status,
        resolved_by=f.resolved_by,
        resolved_at=f.resolved_at,
        note=f.note,
    )


class Reviews(UseCases):
    """The review use cases, callable in-process; the service maps ``review.*`` onto them."""

    def __init__(
        self,
        db: Database,
        branches: Mapping[str, Branch],
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(db, branches, plugins=plugins, clock=clock)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size

    # -- running ---------------------------------------------------------------------------

    def start_run(self, caller: Caller, command: StartReview) -> RunView:
        """Open (or find) the branch's run of the quarter and review every dossier of it; the
        caller's ``progress`` hears the dossiers reviewed after each page (stage ``dossiers``)."""
        progress = caller.progress
        branch = self._branch(command.branch)
        self._require(caller.actor, Operation.REVIEW_RUN, branch.code)
        quarter = self._quarter(command.quarter, branch)
        run_id = self._logged(str, lambda uow: self._open(uow, branch, quarter, caller.actor))
        total, done = self._reading(lambda uow: self._extent(uow, run_id, branch))
        progress(Progress("dossiers", done, total))
        reviewed = {"dossiers": done}
        while not self._logged(
            bool, lambda uow: self._page(uow, run_id, branch, caller.actor, reviewed)
        ):
            progress(Progress("dossiers", reviewed["dossiers"], total))
        return self._reading(lambda uow: self._view(ReviewStore(uow.connection).run(run_id), uow))

    def _quarter(self, text: str | None, branch: Branch) -> str:
        if text is None:
            return str(current_quarter(self.clock(), branch.time_zone))
        try:
            return str(Quarter.parse(text))
        except ValueError:
            raise ValidationError(
                [Problem("quarter", "wrong_type", {"expected": "YYYYQn, e.g. 2026Q4"})]
            ) from None

    def _open(self, uow: UnitOfWork, branch: Branch, quarter: str, actor: Actor) -> str:
        store = ReviewStore(uow.connection)
        existing = store.run_for(branch.code, quarter)
        if existing is not None:
            return existing.id
        run = ReviewRun(
            id=str(uuid.uuid4()),
            branch=branch.code,
            quarter=quarter,
            status=ReviewRunStatus.RUNNING,
            started_at=self.clock(),
            counts={"dossiers": 0, "after": None},
        )
        store.add_run(run)
        self._record(uow, run, actor, "review.started", 0)
        return run.id

    def _extent(self, uow: UnitOfWork, run_id: str, branch: Branch) -> tuple[int, int]:
        """The dossiers a run covers (an estimate while it runs), and those it has reviewed."""
        store = ReviewStore(uow.connection)
        done = int(store.run(run_id).counts.get("dossiers", 0))
        return max(store.count_numbers(branch.code), done), done

    def _page(
        self,
        uow: UnitOfWork,
        run_id: str,
        branch: Branch,
        actor: Actor,
        reviewed: dict[str, int] | None = None,
    ) -> bool:
        """Review the next page of the run (True when the run is no longer running); the
        run's count of dossiers reviewed goes into ``reviewed``."""
        store = ReviewStore(uow.connection)
        run = store.run(run_id, lock=True)
        if run.status is not ReviewRunStatus.RUNNING:
            return True
        after = run.counts.get("after")
        numbers = store.page_of_numbers(branch.code, after, self.page_size)
        if not numbers:
            self._complete(uow, store, run, actor)
            return True
        rules = self.plugins.rules_for(branch)
        now = self.clock()
        today = self._today(branch.code)
        page = StudentPage.load(uow.connection, self.db.vault, numbers)
        count = 0
        found: list[tuple[str, ReviewFinding]] = []
        for number in numbers:
            dossier = page.dossier(number)
            if dossier is None:  # destroyed since the page was chosen
                continue
            found.extend(
                (str(uuid.uuid4()), f)
                for f in (
                    *rules.review(dossier, today),
                    *unconfirmed_changes(dossier, page.changes(number), branch, now),
                )
            )
            count += 1
        store.add_findings(run.id, found)
        dossiers = int(run.counts.get("dossiers", 0)) + count
        counts = {"dossiers": dossiers, "after": numbers[-1]}
        store.update_run(attrs.evolve(run, counts=counts), expected=ReviewRunStatus.RUNNING)
        if reviewed is not None:
            reviewed["dossiers"] = dossiers
        return False

    def _complete(self, uow: UnitOfWork, store: ReviewStore, run: ReviewRun, actor: Actor) -> None:
        now = self.clock()
        ctx = Context(actor=actor.id, reason="review completed", at=now)
        status = RUN.target(run.status, "complete", run, ctx)
        tally = store.tally(run.id)
        counts = {"dossiers": run.counts.get("dossiers", 0), **tally}
        done = attrs.evolve(run, status=status, finished_at=now, counts=counts)
        store.update_run(done, expected=ReviewRunStatus.RUNNING)
        self._record(uow, done, actor, "review.completed", int(tally["findings"]))

    def _record(
        self, uow: UnitOfWork, run: ReviewRun, actor: Actor, action: str, findings: int
    ) -> None:
        uow.audit.record(
            AuditSpec(action=action, subject=run.id), branch=run.branch, actor=actor.id
        )
        uow.outbox.add(
            [
                ReviewRunMoved(
                    branch=run.branch,
                    occurred_at=self.clock(),
                    actor=actor.id,
                    run_id=run.id,
                    quarter=run.quarter,
                    status=run.status,
                    findings=findings,
                )
            ]
        )

    # -- scheduling ------------------------------------------------------------------------

    def schedule(self, now: datetime | None = None) -> Schedule:
        """Which runs are due to start, and which are overdue for sign-off (`due_runs`)."""
        runs = self._reading(lambda uow: ReviewStore(uow.connection).runs(self.branches))
        return due_runs(now or self.clock(), self.branches.values(), runs)

    def start_due(self, caller: Caller) -> list[RunView]:
        """Start every run that is due, as ``caller`` (the service's operator identity)."""
        return [
            self.start_run(caller, StartReview(branch=due.branch, quarter=due.quarter))
            for due in self.schedule().start
        ]

    # -- the work list ---------------------------------------------------------------------

    def resolve(self, caller: Caller, command: ResolveFinding) -> FindingView:
        """处理: the finding was dealt with; ``note`` says how."""
        return self._close(caller, command, command.finding_id, command.note, "resolve")

    def waive(self, caller: Caller, command: WaiveFinding) -> FindingView:
        """豁免: the finding needs no action; ``note`` says why."""
        return self._close(caller, command, command.finding_id, command.note, "waive")

    def _close(
        self,
        caller: Caller,
        command: ResolveFinding | WaiveFinding,
        finding_id: str,
        note: str,
        action: str,
    ) -> FindingView:
        def work(uow: UnitOfWork) -> FindingView:
            store = ReviewStore(uow.connection)
            finding = store.finding(finding_id)
            run = store.run(finding.run_id)
            actor = caller.actor
            hide_unless(actor, Operation.REVIEW_RESOLVE, run.branch, FINDING_KIND, finding_id)
            text = self._texts(run.branch, {"note": note})["note"]
            ctx = Context(actor=actor.id, reason=text, at=self.clock())
            status = FINDING.target(finding.status, action, finding, ctx)
            closed = attrs.evolve(
                finding, status=status, resolved_by=actor.id, resolved_at=ctx.at, note=text
            )
            store.close_finding(closed)
            uow.audit.record(
                AuditSpec(action=f"review.finding_{status.value}", subject=finding.id),
                branch=run.branch,
                actor=actor.id,
                student_number=finding.student_number,
            )
            uow.outbox.add(
                [
                    ReviewFindingMoved(
                        branch=run.branch,
                        occurred_at=ctx.at,
                        actor=actor.id,
                        run_id=run.id,
                        finding_id=finding.id,
                        student_number=finding.student_number,
                        rule=finding.rule,
                        status=status,
                    )
                ]
            )
            return finding_view(closed)

        return self._changing(caller, command, FindingView, work)

    def sign_off(self, caller: Caller, command: SignOffReview) -> RunView:
        """签署: sign a completed run off; refused (``open_findings``) while any is open."""

        def work(uow: UnitOfWork) -> RunView:
            store = ReviewStore(uow.connection)
            run = store.run(command.run_id, lock=True)
            actor = caller.actor
            hide_unless(actor, Operation.REVIEW_SIGN_OFF, run.branch, RUN_KIND, run.id)
            text = self._texts(run.branch, {"note": command.note})["note"]
            ctx = Context(actor=actor.id, reason=text, at=self.clock())
            status = RUN.target(run.status, "sign_off", run, ctx)
            tally = store.tally(run.id)
            if tally["open"]:
                raise GuardRefused(RUN.name, "sign_off", "open_findings")
            signed = attrs.evolve(
                run,
                status=status,
                signed_off_by=actor.id,
                signed_off_at=ctx.at,
                sign_off_note=text,
                counts={**run.counts, **tally},
            )
            store.update_run(signed, expected=ReviewRunStatus.COMPLETED)
            self._record(uow, signed, actor, "review.signed_off", int(tally["findings"]))
            return run_view(signed)

        return self._changing(caller, command, RunView, work)

    # -- reading ---------------------------------------------------------------------------

    def get_run(self, caller: Caller, query: GetReviewRun) -> RunView:
        def work(uow: UnitOfWork) -> RunView:
            run = ReviewStore(uow.connection).run(query.run_id)
            hide_unless(caller.actor, Operation.REVIEW_READ, run.branch, RUN_KIND, run.id)
            return self._view(run, uow)

        return self._reading(work)

    def list_runs(self, caller: Caller, query: ListReviewRuns) -> RunPage:
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.REVIEW_READ, branch.code)

        def work(uow: UnitOfWork) -> RunPage:
            runs = ReviewStore(uow.connection).runs([branch.code])
            return RunPage(items=tuple(self._view(run, uow) for run in runs))

        return self._reading(work)

    def list_findings(self, caller: Caller, query: ListFindings) -> FindingPage:
        page_limit(query.limit, 500)

        def work(uow: UnitOfWork) -> FindingPage:
            store = ReviewStore(uow.connection)
            run = store.run(query.run_id)
            hide_unless(caller.actor, Operation.REVIEW_READ, run.branch, RUN_KIND, run.id)
            if query.after is not None and store.finding(query.after).run_id != run.id:
                raise ValidationError([Problem("after", "invalid_value")])
            found = store.findings(
                run.id,
                status=query.status,
                rule=query.rule,
                after=query.after,
                limit=query.limit + 1,
            )
            page = found[: query.limit]
            more = len(found) > query.limit
            return FindingPage(
                items=tuple(finding_view(f) for f in page),
                next_after=page[-1].id if more else None,
            )

        return self._reading(work)

    def export_csv(self, caller: Caller, query: ExportReview) -> Export:
        """One row per finding of the run (CSV)."""
        run = self._reading(lambda uow: ReviewStore(uow.connection).run(query.run_id))
        hide_unless(caller.actor, Operation.REVIEW_READ, run.branch, RUN_KIND, run.id)
        return Export(
            media_type="text/csv; charset=utf-8",
            filename=f"review-{run.branch}-{run.quarter}.csv",
            content=report.findings_csv(self._finding_rows(run)),
        )

    def _finding_rows(self, run: ReviewRun) -> Iterator[report.FindingRow]:
        after: str | None = None
        while True:
            with self.db.unit_of_work() as uow:
                page = ReviewStore(uow.connection).findings(run.id, after=after, limit=500)
            for f in page:
                yield report.FindingRow(
                    branch=run.branch,
                    quarter=run.quarter,
                    run_id=run.id,
                    finding_id=f.id,
                    student_number=f.student_number,
                    rule=f.rule,
                    severity=f.severity.value,
                    suggested_action=f.suggested_action,
                    status=f.status.value,
                    detail=f.detail,
                    resolved_by=f.resolved_by,
                    resolved_at=f.resolved_at,
                    note=f.note,
                )
            if len(page) < 500:
                return
            after = page[-1].id

    def report_html(self, caller: Caller, query: ReviewReport) -> Export:
        """The readable report over the runs of the branches the caller may read."""
        actor = caller.actor
        if query.branches:
            visible = sorted(set(query.branches))
            for code in visible:
                self._branch(code, "branches")
                self._require(actor, Operation.REVIEW_READ, code)
        else:
            visible = [c for c in sorted(self.branches) if self._may_read(actor, c)]
            if not visible:
                raise AccessDenied(Operation.REVIEW_READ.value, "branch_out_of_scope")

        def work(uow: UnitOfWork) -> list[RunView]:
            return [self._view(run, uow) for run in ReviewStore(uow.connection).runs(visible)]

        rows = [
            report.RunRow(
                branch=v.branch,
                quarter=v.quarter,
                status=v.status.value,
                started_at=v.started_at,
                finished_at=v.finished_at,
                dossiers=v.dossiers,
                by_rule={c.rule: c.count for c in v.by_rule},
                open=v.open,
                signed_off_by=v.signed_off_by,
                signed_off_at=v.signed_off_at,
            )
            for v in self._reading(work)
        ]
        now = self.clock()
        return Export(
            media_type="text/html; charset=utf-8",
            filename=f"review-report-{now:%Y%m%d}.html",
            content=report.report_html(rows, generated_at=now),
        )

    @staticmethod
    def _may_read(actor: Actor, branch: str) -> bool:
        return authorize(actor, Operation.REVIEW_READ, branch).allowed

    def _view(self, run: ReviewRun, uow: UnitOfWork) -> RunView:
        """A signed-off run carries its final counts; a running or completed one is counted
        live, so the open findings drop as reviewers resolve them."""
        tally = None
        if run.status is not ReviewRunStatus.SIGNED_OFF:
            tally = ReviewStore(uow.connection).tally(run.id)
        return run_view(run, tally)
