"""Destruction that is complete and honest (issue 16, item 7): after a student is destroyed,
no free text linked to them is readable anywhere in the database, their web account is
closed, and a scratch restore's copy of their documents is gone.

Through the real use cases, a unique marker goes into every free-text field that can be
linked to one student: the reviewer's reason for admitting them, the course name and why it
ended, the receipt number, the approver's comment on their change request, a disclosure's
recipient, a legal hold's reasons, the withdrawal reason, their feedback ("please delete
me") and its answer, their own destruction reason and the approver's, a quarterly review
finding's resolution note, and an admin's reason for resetting their web account. A backup
is restored into a scratch bucket. The student is destroyed; then every column of every
table is read back and searched for the marker (as text, case folded; hex; base64), on
SQLite — its raw database and WAL files too — and on PostgreSQL. A second student's
markers stay where they were: the scan sees them, and destruction touches only its own
student. Before destruction the scan finds the marker in every one of those columns: on
the code before this change (no erasure) the final scan fails. Students destroyed before
the change are erased by migration 0008 (the last test).

`free_text_after_destruction` is what ``bench/reliability.py`` measures (its goal is 0).
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from dossier.approvals.handlers import Approvals
from dossier.core.attachments import Attachment
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.commands import (
    ChangeStudentStatus,
    EndCourse,
    EnrolCourse,
    LiftLegalHold,
    RecordConsent,
    RecordDisclosure,
    RecordPayment,
    RespondFeedback,
    ReviewChange,
    ReviewDestruction,
    ReviewRegistration,
    SetLegalHold,
    SubmitChange,
    SubmitDestruction,
    SubmitFeedback,
    SubmitRegistration,
)
from dossier.core.contracts.retention import ListFindings, ResolveFinding, StartReview
from dossier.core.enums import (
    Channel,
    ConsentGiver,
    ConsentPurpose,
    Decision,
    DocumentKind,
    IdDocumentType,
    PaymentMethod,
    StudentStatus,
)
from dossier.core.errors import Destroyed
from dossier.core.policy import Actor, Role
from dossier.core.records import FieldChange, IdDocument, LearningNeeds, PersonalDetails
from dossier.gateway.accounts import AccountClosed, AccountStore, SignInRefused
from dossier.intake.handlers import Intake
from dossier.retention import restores
from dossier.retention.archive import BackupKey
from dossier.retention.backups import Backups
from dossier.retention.destruction import Destruction
from dossier.retention.review import Reviews
from dossier.storage.data_map import ERASED
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import LocalObjectStore, ObjectStore
from dossier.storage.schema import (
    feedback,
    gateway_accounts,
    status_changes,
    students,
    tombstones,
)
from tests.integration.retention.conftest import DatabaseFactory
from tests.support.postgres import throwaway_database
from tests.support.storage import sqlite_files

BRANCHES = {"SH01": Branch(code="SH01", name="上海一校")}


def _staff(actor_id: str, role: Role) -> Actor:
    return Actor(id=actor_id, roles={role}, branches={"SH01"})


DESK = _staff("desk-1", Role.FRONT_DESK)
OFFICER = _staff("officer-1", Role.ENROLMENT_OFFICER)
APPROVER = _staff("approver-1", Role.APPROVER)
REVIEWER = _staff("reviewer-1", Role.REVIEWER)
OPERATOR = _staff("operator-1", Role.OPERATOR)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PASSWORD = "correct horse battery"
NEW_PASSWORD = "another horse battery"

FREE_TEXT = {
    "registrations.decision_reason",
    "status_changes.reason",
    "course_enrolments.course_name",
    "course_enrolments.ended_reason",
    "payments.receipt_ref",
    "change_requests.review_comment",
    "disclosures.recipient",
    "legal_holds.reason",
    "legal_holds.lift_reason",
    "feedback.topic",
    "feedback.text",
    "feedback.response",
    "destruction_requests.reason",
    "destruction_requests.review_reason",
    "review_findings.note",
    "gateway_account_events.reason",
}
"""Every column the planting below writes a marker into (the scan must find each first)."""


def _keyed(actor: Actor) -> Caller:
    """A changing call as the services make it: with an idempotency key (so an answer is kept
    for retries, which destruction must forget)."""
    return Caller(actor, f"key-{uuid.uuid4().hex}")


def _stem() -> str:
    return "ZQ" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(10))


# -- the scan ----------------------------------------------------------------------------------


def forms(needle: str) -> tuple[bytes, ...]:
    """The needle as it could be stored: text (case folded), hex, base64 at each alignment."""
    raw = needle.encode()
    found = [raw.lower(), raw.hex().encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        found.append(encoded[4 if shift else 0 : -4])
    return tuple(found)


def hits(blob: bytes, needle: str) -> int:
    """How often ``needle`` occurs in ``blob`` in any of its `forms`."""
    raw, hexed, *encoded = forms(needle)
    folded = blob.lower()
    return folded.count(raw) + folded.count(hexed) + sum(blob.count(form) for form in encoded)


def _bytes(value: object) -> bytes | None:
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    return None  # numbers, booleans, dates: no text in them


def scan(db: Database, needle: str) -> dict[str, int]:
    """Every column of every table in the database, read raw: ``table.column`` → hits."""
    found: dict[str, int] = {}
    with db.engine.connect() as conn:
        schema = inspect(conn)
        for table in schema.get_table_names():
            for column in schema.get_columns(table):
                name = column["name"]
                values = conn.execute(text(f'SELECT "{name}" FROM "{table}"')).scalars()
                count = sum(hits(blob, needle) for v in values if (blob := _bytes(v)))
                if count:
                    found[f"{table}.{name}"] = count
    return found


# -- planting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    number: str
    registration_id: str
    request_id: str
    account_id: str
    stem: str


def _registration(stem: str) -> SubmitRegistration:
    digits = "".join(secrets.choice(string.digits) for _ in range(8))
    return SubmitRegistration(
        branch="SH01",
        channel=Channel.FRONT_DESK,
        applicant=PersonalDetails(
            name=f"{stem.capitalize()}name",
            birth_date=date(1998, 3, 4),
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"E{digits}"),
            phone=f"+86139{digits}",
        ),
        needs=LearningNeeds(target_language="en", goals=f"IELTS {stem}GOALS"),
        attachments=(
            Attachment(
                kind=DocumentKind.ID_PROOF,
                media_type="image/png",
                content=base64.b64encode(PNG + stem.encode()).decode(),
            ),
        ),
    )


def plant(
    db: Database, documents: DocumentStore, stem: str, *, destroy: bool = True, quarter: int = 1
) -> Planted:
    """A student admitted, taught, paid, changed, disclosed, held, withdrawn, signed up on the
    web, reset, giving feedback and asking for destruction — a marker in every free text.
    ``quarter``: how many quarters on the review that finds their unconfirmed change runs (a
    branch has one run per quarter)."""
    now = datetime.now(UTC)
    intake = Intake(db, BRANCHES, documents)
    approvals = Approvals(db, BRANCHES, documents)
    accounts = AccountStore(db)

    receipt = intake.submit_registration(_keyed(DESK), _registration(stem))
    outcome = intake.review_registration(
        _keyed(OFFICER),
        ReviewRegistration(
            registration_id=receipt.registration_id,
            decision=Decision.APPROVE,
            reason=f"admitted {stem}ADMIT",
        ),
    )
    number = outcome.student_number
    assert number is not None

    intake.enrol_course(
        _keyed(OFFICER),
        EnrolCourse(
            student_number=number,
            course_code="EN-B1",
            course_name=f"IELTS for {stem}COURSE",
            starts_on=date(2026, 3, 1),
        ),
    )
    with db.unit_of_work() as uow:
        enrolment = uow.students.get(number).enrolments[0].id
    intake.end_course(
        _keyed(OFFICER),
        EndCourse(
            student_number=number,
            enrolment_id=enrolment,
            ended_on=date(2026, 3, 20),
            reason=f"moved to Beijing {stem}ENDED",
        ),
    )
    intake.record_payment(
        _keyed(OFFICER),
        RecordPayment(
            student_number=number,
            amount_minor=1_280_000,
            currency="CNY",
            method=PaymentMethod.WECHAT_PAY,
            receipt_ref=f"RC-{stem}RECEIPT",
            paid_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        ),
    )

    invitation = accounts.invite_student(number, "SH01")
    account = accounts.activate(invitation, PASSWORD)
    reset = accounts.invite_student(
        number, "SH01", by="admin-account", reason=f"lost phone of {stem}RESET"
    )
    account = accounts.activate(reset, NEW_PASSWORD)
    student = account.actor

    change = approvals.submit_change(
        _keyed(student),
        SubmitChange(
            student_number=number,
            changes=(FieldChange(field="personal.address", after=f"上海市{stem}路1号"),),
            reason=f"moved {stem}CHANGE",
        ),
    )
    approvals.review_change(
        _keyed(APPROVER),
        ReviewChange(
            change_id=change.change_id,
            decision=Decision.APPROVE,
            comment=f"checked with {stem}REVIEWCOMMENT",
        ),
    )
    approvals.record_consent(
        _keyed(OFFICER),
        RecordConsent(
            student_number=number,
            purpose=ConsentPurpose.EXAM_BOARD,
            given_by=ConsentGiver.STUDENT,
        ),
    )
    approvals.record_disclosure(
        _keyed(OFFICER),
        RecordDisclosure(
            student_number=number,
            recipient=f"exam board, attn. {stem}RECIPIENT",
            purpose=ConsentPurpose.EXAM_BOARD,
            fields=("student_number",),
        ),
    )
    hold = approvals.set_hold(
        _keyed(APPROVER),
        SetLegalHold(student_number=number, reason=f"fee dispute {stem}HOLD"),
    )
    approvals.lift_hold(
        _keyed(APPROVER), LiftLegalHold(hold_id=hold.hold_id, reason=f"settled {stem}LIFT")
    )

    # a quarterly review months on: the approved change was never confirmed → a finding
    reviews = Reviews(db, BRANCHES, clock=lambda: now + timedelta(days=92 * quarter))
    run = reviews.start_run(Caller(REVIEWER), StartReview(branch="SH01"))
    findings = reviews.list_findings(Caller(REVIEWER), ListFindings(run_id=run.id))
    mine = [f for f in findings.items if f.student_number == number]
    assert mine, "the review found nothing to resolve for the student"
    reviews.resolve(
        _keyed(REVIEWER),
        ResolveFinding(finding_id=mine[0].id, note=f"phoned {stem}NOTE"),
    )

    approvals.change_status(
        _keyed(OFFICER),
        ChangeStudentStatus(
            student_number=number,
            target=StudentStatus.WITHDRAWN,
            reason=f"left for family reasons {stem}WITHDRAW",
        ),
    )
    sent = approvals.submit_feedback(
        _keyed(student),
        SubmitFeedback(
            branch="SH01",
            topic=f"privacy {stem}TOPIC",
            text=f"please delete me {stem}FEEDBACK",
        ),
    )
    approvals.respond_feedback(
        _keyed(APPROVER),
        RespondFeedback(feedback_id=sent.feedback_id, response=f"will do {stem}RESPONSE"),
    )
    request = approvals.submit_destruction(
        _keyed(student),
        SubmitDestruction(student_number=number, reason=f"I want to be forgotten {stem}WHY"),
    )
    if destroy:
        approvals.review_destruction(
            _keyed(APPROVER),
            ReviewDestruction(
                request_id=request.request_id,
                decision=Decision.APPROVE,
                reason=f"checked {stem}APPROVED",
            ),
        )
    return Planted(number, receipt.registration_id, request.request_id, account.id, stem)


# -- the whole story, once per engine ----------------------------------------------------------


@dataclass
class Outcome:
    db: Database
    before: dict[str, int]
    after: dict[str, int]
    other_after: dict[str, int]
    raw_file_hits: int
    scratch_left: int
    planted: Planted


def free_text_story(
    db: Database, scratch: Database, objects: ObjectStore, buckets: Sequence[str]
) -> Outcome:
    """Plant two students, back up, restore into a scratch bucket, destroy the first; scan."""
    documents_bucket, backups_bucket, scratch_bucket = buckets
    for bucket in buckets:
        objects.ensure_bucket(bucket, versioning=True)
    documents = DocumentStore(objects, documents_bucket)
    planted = plant(db, documents, _stem())
    other = plant(db, documents, _stem(), destroy=False, quarter=2)
    before = scan(db, planted.stem)

    backups = Backups(
        db,
        objects,
        documents_bucket=documents_bucket,
        backups_bucket=backups_bucket,
        key=BackupKey.from_text(BackupKey.generate()),
    )
    manifest = backups.create()
    backups.restore(manifest.id, scratch, objects_into=(objects, scratch_bucket))
    prefixes = (f"students/{planted.number}/", f"students/{planted.registration_id}/")
    copied = [i for p in prefixes for i in objects.list_versions(scratch_bucket, prefix=p)]
    assert copied, "the scratch restore copied none of the student's documents"
    with db.engine.connect() as conn:
        assert scratch_bucket in restores.buckets(conn)

    destruction = Destruction(
        db,
        BRANCHES,
        objects,
        documents_bucket=documents_bucket,
        backups_bucket=backups_bucket,
    )
    certificate = destruction.execute(planted.request_id, OPERATOR)
    assert certificate.verification is not None
    assert certificate.verification.ok, certificate.verification.checks

    raw = sqlite_files(db) if db.dialect == "sqlite" else b""
    return Outcome(
        db=db,
        before=before,
        after=scan(db, planted.stem),
        other_after=scan(db, other.stem),
        raw_file_hits=hits(raw, planted.stem),
        scratch_left=sum(
            1 for p in prefixes for _ in objects.list_versions(scratch_bucket, prefix=p)
        ),
        planted=planted,
    )


def free_text_after_destruction(server_url: str, folder: Path) -> int:
    """The benchmark's figure: markers of a destroyed student still readable in a PostgreSQL
    database (every column of every table), plus scratch-restore objects left (goal 0)."""
    objects = LocalObjectStore(folder / "objects")
    master = MasterKey.generate()
    with throwaway_database(server_url) as url, throwaway_database(server_url) as scratch_url:
        upgrade(url)
        upgrade(scratch_url)
        db, scratch = Database(url, master), Database(scratch_url, master)
        try:
            outcome = free_text_story(db, scratch, objects, ("docs", "backups", "scratch-docs"))
        finally:
            scratch.dispose()
            db.dispose()
    return sum(outcome.after.values()) + outcome.scratch_left


# -- the tests ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def outcome(make_db: DatabaseFactory, engine: str, tmp_path: Path) -> Outcome:
    db, scratch = make_db(engine), make_db("sqlite")
    objects = LocalObjectStore(tmp_path / "objects")
    return free_text_story(db, scratch, objects, ("docs", "backups", "scratch-docs"))


def test_no_free_text_of_a_destroyed_student_is_readable_anywhere(outcome: Outcome) -> None:
    # the control: before, the marker sat in every free-text column the flows write
    assert set(outcome.before) >= FREE_TEXT, FREE_TEXT - set(outcome.before)
    # after: nowhere, in no column of any table, in no form
    assert outcome.after == {}
    assert outcome.raw_file_hits == 0  # SQLite: not in the database or WAL files either
    # the other student's free text is untouched: the scan sees what is there
    assert FREE_TEXT - {"destruction_requests.review_reason"} <= set(outcome.other_after)


def test_the_destroyed_students_web_account_is_closed_and_their_feedback_anonymous(
    outcome: Outcome, tmp_path: Path
) -> None:
    db, planted = outcome.db, outcome.planted
    accounts = AccountStore(db)
    with pytest.raises(SignInRefused):
        accounts.authenticate(planted.number, NEW_PASSWORD)
    assert accounts.find(planted.account_id) is None  # every session of it reads signed out
    with pytest.raises(AccountClosed):  # and no invitation or reset opens it again
        accounts.invite_student(planted.number, "SH01", by="admin-1", reason="asked to")
    with db.engine.connect() as conn:
        row = conn.execute(
            select(gateway_accounts).where(gateway_accounts.c.id == planted.account_id)
        ).one()
        senders = list(conn.execute(select(feedback.c.submitted_by, feedback.c.text)).all())
    assert row.disabled
    assert (row.password_hash, row.activation_sha256) == (None, None)
    assert row.session_version >= 3  # two activations, a reset: then closed
    assert [e.kind for e in accounts.events(planted.account_id)][-1] == "disabled"
    mine = [s for s in senders if s.text == ERASED]
    assert mine == [(ERASED, ERASED)]  # the feedback is kept, counted, and names no one
    assert not [s for s in senders if s.submitted_by and planted.number in s.submitted_by]
    # the services refuse the student's identity too, should a token of theirs still exist
    student = Actor(
        id=f"web:{planted.number}",
        roles={Role.STUDENT},
        branches={"SH01"},
        student_number=planted.number,
    )
    approvals = Approvals(db, BRANCHES, DocumentStore(LocalObjectStore(tmp_path / "o"), "d"))
    with pytest.raises(Destroyed):
        approvals.submit_feedback(
            _keyed(student), SubmitFeedback(branch="SH01", topic="again", text="hello")
        )


def test_a_scratch_restore_keeps_no_copy_of_a_destroyed_students_documents(
    outcome: Outcome,
) -> None:
    assert outcome.scratch_left == 0


def test_the_migration_erases_what_destructions_before_it_left(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Students destroyed before revision 0008 kept their free text and an open account: the
    migration erases and closes what destruction does now, and touches no one else."""
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
        _migration_case(url)
    else:
        server: str = request.getfixturevalue("postgres_server_url")
        with throwaway_database(server) as url:
            _migration_case(url)


def _migration_case(url: str) -> None:
    upgrade(url, "0007")
    at = datetime(2026, 3, 2, tzinfo=UTC)
    gone, kept = "SH01-26-000001-W", "SH01-26-000002-X"
    db = Database(url, MasterKey.generate())
    try:
        with db.engine.begin() as conn:
            for number in (gone, kept):
                conn.execute(
                    students.insert().values(
                        student_number=number,
                        branch="SH01",
                        status="destroyed" if number == gone else "enrolled",
                        admitted_at=at,
                        version=1,
                    )
                )
                conn.execute(
                    status_changes.insert().values(
                        student_number=number,
                        position=0,
                        to_status="enrolled",
                        actor="officer-1",
                        reason=f"admitted ZQOLD{number[-1]}",
                        effective_date=date(2026, 3, 2),
                        recorded_at=at,
                    )
                )
                conn.execute(
                    feedback.insert().values(
                        id=f"fb-{number}",
                        branch="SH01",
                        topic="privacy",
                        text=f"please delete me ZQOLD{number[-1]}",
                        submitted_at=at,
                        submitted_by=f"web:{number}",
                        version=1,
                    )
                )
                conn.execute(
                    gateway_accounts.insert().values(
                        id=f"acc-{number}",
                        login=number,
                        password_hash="$argon2id$…",
                        roles=["student"],
                        branches=["SH01"],
                        student_number=number,
                        locale="zh-CN",
                        disabled=False,
                        failed_logins=0,
                        created_at=at,
                        updated_at=at,
                        session_version=2,
                    )
                )
            conn.execute(
                tombstones.insert().values(
                    student_number=gone, branch="SH01", destroyed_at=at, certificate_id="c-1"
                )
            )
        upgrade(url)
        assert set(scan(db, "ZQOLDW")) == set()
        assert set(scan(db, "ZQOLDX")) == {"status_changes.reason", "feedback.text"}
        with db.engine.connect() as conn:
            accounts = {row.id: row for row in conn.execute(select(gateway_accounts)).all()}
            senders = set(conn.execute(select(feedback.c.submitted_by)).scalars())
        assert accounts[f"acc-{gone}"].disabled
        assert accounts[f"acc-{gone}"].password_hash is None
        assert accounts[f"acc-{gone}"].session_version == 3
        assert not accounts[f"acc-{kept}"].disabled
        assert senders == {ERASED, f"web:{kept}"}
    finally:
        db.dispose()
