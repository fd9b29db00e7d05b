"""Quarterly review (定期审核): findings per rule, paging in bounded memory, the work list,
sign-off, exports, and the schedule across quarter boundaries."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
import weakref
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.contracts.retention import (
    ExportReview,
    GetReviewRun,
    ListFindings,
    ListReviewRuns,
    ResolveFinding,
    ReviewReport,
    SignOffReview,
    StartReview,
    WaiveFinding,
)
from dossier.core.enums import (
    ChangeStatus,
    Channel,
    ConsentGiver,
    ConsentPurpose,
    DocumentKind,
    EnrolmentStatus,
    FindingStatus,
    IdDocumentType,
    ReviewRunStatus,
    StudentStatus,
)
from dossier.core.errors import AccessDenied, GuardRefused, IllegalTransition, NotFound
from dossier.core.lifecycle import Context, Transitioned
from dossier.core.policy import Actor, Role
from dossier.core.records import (
    ChangeRequest,
    Consent,
    CourseEnrolment,
    DocumentRef,
    FieldChange,
    Guardian,
    IdDocument,
    LearningNeeds,
    PersonalDetails,
    Registration,
    StatusChange,
    StudentDossier,
)
from dossier.retention.report import CSV_COLUMNS
from dossier.retention.review import Reviews
from dossier.retention.schedule import Quarter, current_quarter, due_runs
from dossier.storage.audit import AuditSpec
from dossier.storage.bulk import BulkAdmitter
from dossier.storage.db import Database
from dossier.storage.repositories.student_pages import StudentPage
from dossier.storage.schema import audit_log, outbox, review_findings
from tests.integration.retention.conftest import DatabaseFactory

BRANCHES = {
    "SH01": Branch(code="SH01", name="上海一校"),
    "BJ01": Branch(code="BJ01", name="北京一校"),
}
NOW = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: 2026Q2
REVIEWER = Caller(Actor(id="reviewer-1", roles={Role.REVIEWER}, branches={"SH01"}))
OTHER_REVIEWER = Caller(Actor(id="reviewer-bj", roles={Role.REVIEWER}, branches={"BJ01"}))
DESK = Caller(Actor(id="desk-1", roles={Role.FRONT_DESK}, branches={"SH01"}))
ID_PROOF = DocumentRef(kind=DocumentKind.ID_PROOF, sha256="b" * 64, size=10, media_type="image/png")


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, make_db: DatabaseFactory) -> Database:
    return make_db(request.param)


# -- planting dossiers that trigger each rule ------------------------------------------------


def plant(
    db: Database,
    *,
    branch: str = "SH01",
    birth_date: date = date(1995, 5, 17),
    phone: str = "+8613800138000",
    documents: tuple[DocumentRef, ...] = (ID_PROOF,),
    guardian: Guardian | None = None,
    consents: int = 0,
    enrolments: tuple[CourseEnrolment, ...] = (),
    status: StudentStatus = StudentStatus.ENROLLED,
    left_on: date | None = None,
) -> str:
    """A dossier written straight through storage; every field a rule looks at overridable."""
    with db.unit_of_work() as uow:
        number = uow.numbers.next(branch, 2026)
        history = [
            StatusChange(
                from_status=None,
                to_status=StudentStatus.ENROLLED,
                actor="officer-1",
                reason="admitted",
                effective_date=date(2019, 9, 1),
                recorded_at=NOW - timedelta(days=2000),
            )
        ]
        if status is not StudentStatus.ENROLLED:
            history.append(
                StatusChange(
                    from_status=StudentStatus.ENROLLED,
                    to_status=status,
                    actor="officer-1",
                    reason="left",
                    effective_date=left_on or date(2026, 1, 10),
                    recorded_at=NOW - timedelta(days=90),
                )
            )
        dossier = StudentDossier(
            student_number=number,
            branch=branch,
            personal=PersonalDetails(
                name="王小明",
                birth_date=birth_date,
                id_document=IdDocument(type=IdDocumentType.PASSPORT, number="E12345678"),
                phone=phone,
            ),
            needs=LearningNeeds(target_language="en"),
            status=status,
            admitted_at=NOW - timedelta(days=2000),
            guardian=guardian,
            history=tuple(history),
            enrolments=enrolments,
            documents=documents,
            consents=tuple(
                Consent(
                    id=f"consent-{uuid.uuid4()}",
                    student_number=number,
                    purpose=ConsentPurpose.PROCESSING,
                    given_by=ConsentGiver.GUARDIAN,
                    granted_at=NOW - timedelta(days=30),
                    recorded_by="desk-1",
                )
                for _ in range(consents)
            ),
        )
        uow.apply(Transitioned(dossier, ()), AuditSpec(action="test.planted", actor="test"))
        uow.commit()
    return number


def plant_change(db: Database, number: str, *, applied_days_ago: int, confirmed: bool) -> None:
    applied = NOW - timedelta(days=applied_days_ago)
    change = ChangeRequest(
        id=f"chg-{uuid.uuid4()}",
        student_number=number,
        branch="SH01",
        changes=(FieldChange(field="personal.address", before="old", after="new"),),
        reason="moved",
        requested_by="student",
        requested_at=applied - timedelta(days=1),
        dossier_version=1,
        status=ChangeStatus.CONFIRMED if confirmed else ChangeStatus.APPLIED,
        applied_at=applied,
        answered_at=applied + timedelta(days=1) if confirmed else None,
    )
    with db.unit_of_work() as uow:
        uow.apply(Transitioned(change, ()), AuditSpec(action="test.planted", actor="test"))
        uow.commit()


GUARDIAN = Guardian(name="王大明", relation="father", phone="+8613900139000")
ENDED = CourseEnrolment(
    id="enr-1",
    course_code="EN-1",
    course_name="English 1",
    starts_on=date(2025, 9, 1),
    ends_on=date(2026, 1, 15),
    status=EnrolmentStatus.ENDED,
)


def plant_branch(db: Database) -> dict[tuple[str, str], int]:
    """Students of SH01 planted to trigger each rule once; the (student, rule) pairs expected."""
    plant(db)  # clean
    plant(
        db,
        enrolments=(attrs.evolve(ENDED, id="enr-0", ends_on=None, status=EnrolmentStatus.ACTIVE),),
    )
    expected = {
        (plant(db, documents=()), "missing_id_proof"),
        (plant(db, birth_date=date(2010, 1, 1)), "minor_without_guardian"),
        (
            plant(db, birth_date=date(2016, 1, 1), guardian=GUARDIAN),
            "minor_without_guardian_consent",
        ),
        (plant(db, phone="+8612012345678"), "invalid_contact"),
        (plant(db, enrolments=(ENDED,)), "enrolled_without_active_course"),
        (
            plant(db, status=StudentStatus.WITHDRAWN, left_on=date(2020, 1, 10)),
            "retention_period_passed",
        ),
    }
    plant(db, birth_date=date(2016, 1, 1), guardian=GUARDIAN, consents=1)  # a minor, in order
    plant(db, status=StudentStatus.COMPLETED, left_on=date(2025, 6, 30))  # within retention
    late = plant(db)
    plant_change(db, late, applied_days_ago=20, confirmed=False)
    plant_change(db, late, applied_days_ago=30, confirmed=False)
    expected.add((late, "unconfirmed_change"))
    recent = plant(db)
    plant_change(db, recent, applied_days_ago=5, confirmed=False)
    plant_change(db, recent, applied_days_ago=40, confirmed=True)
    gone = plant(db, documents=(), birth_date=date(2012, 1, 1), status=StudentStatus.WITHDRAWN)
    with db.unit_of_work() as uow:
        uow.shred(gone, certificate_id="cert-0", actor="operator-1")
        uow.commit()
    plant(db, branch="BJ01", documents=())  # another branch: not in SH01's run
    return Counter(expected)


def findings_of(db: Database) -> Counter[tuple[str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(review_findings.c.student_number, review_findings.c.rule))
        return Counter((row.student_number, row.rule) for row in rows)


def counted(db: Database, column: Any) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(column, func.count()).group_by(column))
        return {key: int(n) for key, n in rows}


# -- the run ---------------------------------------------------------------------------------


def test_a_run_finds_each_planted_problem_once_and_skips_the_destroyed(db: Database) -> None:
    expected = plant_branch(db)
    reviews = Reviews(db, BRANCHES, clock=Clock(), page_size=3)
    run = reviews.start_run(REVIEWER, StartReview(branch="SH01"))

    assert run.quarter == "2026Q2"
    assert run.status is ReviewRunStatus.COMPLETED
    assert run.dossiers == 12, "every SH01 dossier but the destroyed one"
    assert findings_of(db) == expected
    assert {c.rule: c.count for c in run.by_rule} == Counter(rule for _, rule in expected)
    assert (run.findings, run.open) == (len(expected), len(expected))

    again = reviews.start_run(REVIEWER, StartReview(branch="SH01", quarter="2026Q2"))
    assert again.id == run.id
    assert findings_of(db) == expected, "starting an existing run again adds nothing"
    assert counted(db, outbox.c.type)["review.run_moved"] == 2  # started, completed
    assert {"review.started", "review.completed"} <= set(counted(db, audit_log.c.action))
    assert db.verify_audit().ok


def test_an_interrupted_run_resumes_without_doubling_findings(db: Database) -> None:
    expected = plant_branch(db)

    class Crashing(Reviews):
        pages = 0

        def _page(self, *args: Any) -> bool:
            Crashing.pages += 1
            if Crashing.pages == 3:
                raise RuntimeError("the process died")
            return super()._page(*args)

    with pytest.raises(RuntimeError):
        Crashing(db, BRANCHES, clock=Clock(), page_size=2).start_run(
            REVIEWER, StartReview(branch="SH01")
        )
    reviews = Reviews(db, BRANCHES, clock=Clock(), page_size=2)
    (running,) = reviews.list_runs(REVIEWER, ListReviewRuns(branch="SH01")).items
    assert running.status is ReviewRunStatus.RUNNING
    assert running.dossiers == 4
    done = reviews.start_run(REVIEWER, StartReview(branch="SH01"))
    assert done.id == running.id
    assert done.dossiers == 12
    assert findings_of(db) == expected


def test_the_work_list_is_resolved_or_waived_then_signed_off(db: Database) -> None:
    expected = plant_branch(db)
    clock = Clock()
    reviews = Reviews(db, BRANCHES, clock=clock, page_size=5)
    run = reviews.start_run(REVIEWER, StartReview(branch="SH01"))

    pages, after = [], None
    while True:
        page = reviews.list_findings(REVIEWER, ListFindings(run_id=run.id, limit=3, after=after))
        pages.append(page.items)
        if page.next_after is None:
            break
        after = page.next_after
    items = [f for page in pages for f in page]
    assert len(items) == len(expected)
    assert len(pages) == 3
    assert [f.student_number for f in items] == sorted(f.student_number for f in items)

    with pytest.raises(GuardRefused) as refused:
        reviews.sign_off(REVIEWER, SignOffReview(run_id=run.id, note="all checked"))
    assert refused.value.reason == "open_findings"

    clock.now += timedelta(days=3)
    first, *rest = items
    waived = reviews.waive(REVIEWER, WaiveFinding(finding_id=first.id, note="已核实，无需处理"))
    assert (waived.status, waived.resolved_by, waived.resolved_at) == (
        FindingStatus.WAIVED,
        "reviewer-1",
        clock.now,
    )
    with pytest.raises(IllegalTransition):
        reviews.resolve(REVIEWER, ResolveFinding(finding_id=first.id, note="again"))
    shown = reviews.get_run(REVIEWER, GetReviewRun(run_id=run.id))
    assert (shown.findings, shown.open) == (len(expected), len(expected) - 1)  # live count
    for finding in rest:
        reviews.resolve(REVIEWER, ResolveFinding(finding_id=finding.id, note="补充资料"))
    open_left = reviews.list_findings(
        REVIEWER, ListFindings(run_id=run.id, status=FindingStatus.OPEN)
    )
    assert open_left.items == ()

    signed = reviews.sign_off(REVIEWER, SignOffReview(run_id=run.id, note="Q2 审核完成"))
    assert signed.status is ReviewRunStatus.SIGNED_OFF
    assert (signed.signed_off_by, signed.signed_off_at) == ("reviewer-1", clock.now)
    assert reviews.get_run(REVIEWER, GetReviewRun(run_id=run.id)) == signed
    with pytest.raises(IllegalTransition):
        reviews.sign_off(REVIEWER, SignOffReview(run_id=run.id, note="twice"))

    events = counted(db, outbox.c.type)
    assert events["review.run_moved"] == 3
    assert events["review.finding_moved"] == len(expected)
    actions = counted(db, audit_log.c.action)
    assert actions["review.finding_waived"] == 1
    assert actions["review.finding_resolved"] == len(expected) - 1
    assert actions["review.signed_off"] == 1
    assert db.verify_audit().ok


def test_access_is_by_role_and_other_branches_read_as_not_found(make_db: DatabaseFactory) -> None:
    db = make_db("sqlite")
    plant_branch(db)
    reviews = Reviews(db, BRANCHES, clock=Clock())
    with pytest.raises(AccessDenied):
        reviews.start_run(DESK, StartReview(branch="SH01"))
    run = reviews.start_run(REVIEWER, StartReview(branch="SH01"))
    with pytest.raises(NotFound):
        reviews.get_run(OTHER_REVIEWER, GetReviewRun(run_id=run.id))
    with pytest.raises(NotFound):
        reviews.list_findings(OTHER_REVIEWER, ListFindings(run_id=run.id))
    finding = reviews.list_findings(REVIEWER, ListFindings(run_id=run.id, limit=1)).items[0]
    with pytest.raises(NotFound):
        reviews.resolve(OTHER_REVIEWER, ResolveFinding(finding_id=finding.id, note="x"))
    with pytest.raises(NotFound):
        reviews.export_csv(OTHER_REVIEWER, ExportReview(run_id=run.id))
    auditor = Caller(Actor(id="auditor-1", roles={Role.AUDITOR}))
    assert reviews.get_run(auditor, GetReviewRun(run_id=run.id)).id == run.id
    with pytest.raises(AccessDenied):
        reviews.resolve(auditor, ResolveFinding(finding_id=finding.id, note="x"))
    other = reviews.report_html(OTHER_REVIEWER, ReviewReport()).content
    assert "SH01" not in other


# -- exports ---------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The count tables of the report: table id → row key → {quarter: n, "total": n}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, dict[str, int]]] = {}
        self.bars: dict[str, int] = {}
        self._table: str | None = None
        self._row: str | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id")
            self.tables.setdefault(self._table or "", {})
        elif tag == "tr" and self._table:
            self._row = a.get("data-rule") or a.get("data-branch")
        elif tag == "td" and self._row:
            self._cell = a.get("data-quarter") or (
                "total" if "total" in (a.get("class") or "") else None
            )
        elif tag == "g" and a.get("data-quarter"):
            self.bars[a["data-quarter"] or ""] = int(a["data-value"] or 0)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None
        elif tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._table and self._row and self._cell:
            self.tables[self._table].setdefault(self._row, {})[self._cell] = int(data)


def test_csv_and_html_exports_carry_the_counts_per_rule_and_branch(db: Database) -> None:
    expected = plant_branch(db)
    clock = Clock()
    reviews = Reviews(db, BRANCHES, clock=clock)
    q2 = reviews.start_run(REVIEWER, StartReview(branch="SH01"))
    first = reviews.list_findings(REVIEWER, ListFindings(run_id=q2.id, limit=1)).items[0]
    reviews.resolve(REVIEWER, ResolveFinding(finding_id=first.id, note='=HYPERLINK("x")'))

    exported = reviews.export_csv(REVIEWER, ExportReview(run_id=q2.id))
    assert exported.filename == "review-SH01-2026Q2.csv"
    rows = list(csv.DictReader(io.StringIO(exported.content)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert Counter(r["rule"] for r in rows) == Counter(rule for _, rule in expected)
    assert Counter((r["student_number"], r["rule"]) for r in rows) == expected
    (resolved,) = [r for r in rows if r["status"] == "resolved"]
    assert resolved["note"].startswith("'="), "a note is never exported as a live formula"

    clock.now = datetime(2026, 7, 6, 1, 0, tzinfo=UTC)  # 2026Q3: one more dossier to review
    plant(db, documents=(), enrolments=())
    q3 = reviews.start_run(REVIEWER, StartReview(branch="SH01"))
    admin = Caller(Actor(id="admin-1", roles={Role.ADMIN}))
    bj = reviews.start_run(admin, StartReview(branch="BJ01"))
    assert (q3.quarter, bj.quarter) == ("2026Q3", "2026Q3")

    page = reviews.report_html(admin, ReviewReport())
    assert page.media_type.startswith("text/html")
    assert "<script" not in page.content
    assert "http" not in page.content.replace('xmlns="http://www.w3.org/2000/svg"', "")
    parsed = _Tables()
    parsed.feed(page.content)
    by_rule = parsed.tables["by-rule"]
    for run in (q2, q3, bj):
        for count in run.by_rule:
            assert by_rule[count.rule][run.quarter] >= count.count
    q2_rules = {c.rule: c.count for c in q2.by_rule}
    q3_rules = {c.rule: c.count for c in q3.by_rule}
    bj_rules = {c.rule: c.count for c in bj.by_rule}
    for rule, row in by_rule.items():
        assert row.get("2026Q2", 0) == q2_rules.get(rule, 0)
        assert row.get("2026Q3", 0) == q3_rules.get(rule, 0) + bj_rules.get(rule, 0)
        assert row["total"] == row.get("2026Q2", 0) + row.get("2026Q3", 0)
    assert q3_rules["missing_id_proof"] == q2_rules["missing_id_proof"] + 1
    by_branch = parsed.tables["by-branch"]
    assert by_branch["SH01"] == {
        "2026Q2": q2.findings,
        "2026Q3": q3.findings,
        "total": q2.findings + q3.findings,
    }
    assert by_branch["BJ01"] == {"2026Q2": 0, "2026Q3": bj.findings, "total": bj.findings}
    assert parsed.bars == {"2026Q2": q2.findings, "2026Q3": q3.findings + bj.findings}


# -- bounded memory --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_run_over_2000_dossiers_holds_one_page_at_a_time(
    make_db: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = make_db("sqlite")
    count, page_size = 2000, 50
    ctx = Context(actor="importer", reason="import", at=NOW)
    registrations = [
        Registration(
            id=f"imp-{i}",
            branch="SH01",
            channel=Channel.IMPORT,
            applicant=PersonalDetails(
                name="李四",
                birth_date=date(1995, 5, 17),
                id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"E{20_000_000 + i}"),
                phone=f"+86137{i:08d}",
                address="上海市黄浦区南京东路" + "1" * 200,
            ),
            needs=LearningNeeds(target_language="ja", goals="JLPT N2 " * 30),
            submitted_at=NOW,
            documents=(ID_PROOF,) if i % 3 else (),
        )
        for i in range(count)
    ]
    with db.unit_of_work() as uow:
        BulkAdmitter(uow).admit(registrations, ctx)
        uow.commit()
    del registrations

    live: weakref.WeakSet[StudentDossier] = weakref.WeakSet()
    most = 0
    loaded = 0
    original = StudentPage.dossier

    def tracked(self: StudentPage, number: str) -> StudentDossier | None:
        nonlocal most, loaded
        dossier = original(self, number)
        assert dossier is not None
        live.add(dossier)
        loaded += 1
        most = max(most, len(live))
        return dossier

    monkeypatch.setattr(StudentPage, "dossier", tracked)
    reviews = Reviews(db, BRANCHES, clock=Clock(), page_size=page_size)
    reviews.start_run(REVIEWER, StartReview(branch="SH01"))  # warms the caches (2026Q2)

    tracemalloc.start()
    run = reviews.start_run(REVIEWER, StartReview(branch="SH01", quarter="2026Q1"))
    _, run_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert run.dossiers == count
    assert {c.rule: c.count for c in run.by_rule} == {"missing_id_proof": 667}
    assert loaded == 2 * count
    assert most <= page_size, f"{most} dossiers alive at once"

    tracemalloc.start()
    with db.unit_of_work() as uow:
        everything = [uow.students.get(n) for n in uow.students.numbers(branch="SH01")]
    _, all_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(everything) == count
    assert run_peak * 4 < all_peak, f"run peak {run_peak} B vs {all_peak} B for all dossiers"


# -- the schedule ----------------------------------------------------------------------------


@attrs.frozen
class Run:
    branch: str
    quarter: str
    status: ReviewRunStatus


SCHEDULE_BRANCHES = [
    Branch(code="SH01", name="上海一校"),
    Branch(code="NY01", name="New York", time_zone="America/New_York"),
]
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)


def _quarter(now: datetime, branch: Branch) -> str:
    return str(current_quarter(now, branch.time_zone))


@settings(max_examples=300, deadline=None)
@given(now=instants)
def test_the_current_quarter_is_due_until_a_run_exists(now: datetime) -> None:
    schedule = due_runs(now, SCHEDULE_BRANCHES, [])
    assert [(d.branch, d.quarter) for d in schedule.start] == [
        ("NY01", _quarter(now, SCHEDULE_BRANCHES[1])),
        ("SH01", _quarter(now, SCHEDULE_BRANCHES[0])),
    ]
    runs = [Run(d.branch, d.quarter, ReviewRunStatus.RUNNING) for d in schedule.start]
    assert due_runs(now, SCHEDULE_BRANCHES, runs).start == ()
    previous = [
        Run(b.code, str(Quarter.parse(_quarter(now, b)).previous()), ReviewRunStatus.SIGNED_OFF)
        for b in SCHEDULE_BRANCHES
    ]
    assert due_runs(now, SCHEDULE_BRANCHES, previous).start == schedule.start


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 1)),
    offset=st.integers(min_value=-3_600_000, max_value=3_600_000),
)
def test_runs_become_due_at_the_quarter_start_in_branch_time(day: date, offset: int) -> None:
    """Around each quarter's first instant in the branch's zone, the due quarter flips over."""
    branch = SCHEDULE_BRANCHES[1]
    quarter = Quarter.of(day)
    start = quarter.starts_at(branch.time_zone)
    now = (start + timedelta(milliseconds=offset)).astimezone(UTC)
    (due,) = due_runs(now, [branch], []).start
    assert due.quarter == str(quarter if offset >= 0 else quarter.previous())


@settings(max_examples=300, deadline=None)
@given(
    now=instants,
    age=st.integers(min_value=0, max_value=8),
    status=st.sampled_from(ReviewRunStatus),
)
def test_an_unsigned_run_is_overdue_30_days_after_its_quarter_began(
    now: datetime, age: int, status: ReviewRunStatus
) -> None:
    branch = SCHEDULE_BRANCHES[0]
    quarter = Quarter.parse(_quarter(now, branch))
    for _ in range(age):
        quarter = quarter.previous()
    run = Run(branch.code, str(quarter), status)
    overdue = due_runs(now, [branch], [run]).overdue
    started = datetime.combine(quarter.first_day, datetime.min.time(), ZoneInfo(branch.time_zone))
    late = now - started >= timedelta(days=30)
    assert bool(overdue) == (status is not ReviewRunStatus.SIGNED_OFF and late)
    if overdue:
        assert overdue[0].sign_off_due == started + timedelta(days=30)


@given(year=st.integers(min_value=1000, max_value=9999), number=st.integers(1, 4))
def test_quarters_parse_print_and_step(year: int, number: int) -> None:
    quarter = Quarter(year, number)
    assert Quarter.parse(str(quarter)) == quarter
    assert quarter.next().previous() == quarter
    assert Quarter.of(quarter.first_day) == quarter
    assert Quarter.of(quarter.first_day - timedelta(days=1)) == quarter.previous()
    with pytest.raises(ValueError, match="YYYYQn"):
        Quarter.parse(f"{year}Q{number + 4}")
