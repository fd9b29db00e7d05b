"""查阅记录 and misuse alerts in-process, on both engines: a read that reveals unmasked data is
recorded (who, role, when, which kinds — never values) and shown to the student and the
auditor; a masked read is not; the trail verifies; a snooping clerk raises one alert per rule
and window, the branch manager gets its notice, the auditor acknowledges it (audited)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from sqlalchemy import update

from dossier.approvals.handlers import Approvals
from dossier.core.branch import Branch
from dossier.core.contracts.approvals import ExportDossier
from dossier.core.contracts.intake import GetDossier, SearchDossiers
from dossier.core.contracts.read_trail import (
    AcknowledgeReadAlert,
    ListMyReads,
    ListReadAlerts,
    ListStaffReads,
    ListStudentReads,
)
from dossier.core.errors import AccessDenied, NotFound, ValidationError
from dossier.core.policy import Role
from dossier.intake.handlers import Intake
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.objects import LocalObjectStore
from dossier.storage.read_trail import ReadAlert
from dossier.storage.schema import read_trail
from tests.integration.approvals.conftest import (
    APPROVER,
    BRANCHES,
    DESK,
    NAME_MARKER,
    OFFICER,
    OTHER_BRANCH_APPROVER,
    Clock,
    admit_student,
    audit_actions,
    caller,
    keyed,
    student,
)

AUDITOR = caller("auditor-1", Role.AUDITOR)
SNOOPER = caller("web:clerk.li", Role.ENROLMENT_OFFICER)
STRICT = {**BRANCHES, "SH01": attrs.evolve(BRANCHES["SH01"], reads_per_hour=3)}


@pytest.fixture
def intake(db: Database, tmp_path: Path, clock: Clock) -> Intake:
    store = LocalObjectStore(tmp_path / "objects")
    store.ensure_bucket("documents")
    return Intake(db, STRICT, DocumentStore(store, "documents"), clock=clock)


def test_an_officers_read_is_shown_to_the_student_and_the_auditor(
    intake: Intake, approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    officer = caller("web:wang.officer", Role.ENROLMENT_OFFICER)
    view = intake.get_dossier(officer, GetDossier(student_number=number))
    assert view.personal.name == f"王{NAME_MARKER}"  # unmasked: so it is recorded

    mine = approvals.list_my_reads(student(number), ListMyReads(student_number=number))
    (line,) = mine.items
    assert (line.viewer, line.roles, line.channel) == (
        "wang.officer",
        ("enrolment_officer",),
        "web",
    )
    assert set(line.kinds) == {"personal", "contact", "id_document"}
    assert line.actor is None  # the student sees the display name and the role, nothing more

    (seen,) = approvals.list_student_reads(AUDITOR, ListStudentReads(student_number=number)).items
    assert seen.actor == "web:wang.officer"
    by_staff = approvals.list_staff_reads(
        AUDITOR, ListStaffReads(branch="SH01", actor="web:wang.officer")
    )
    assert [i.student_number for i in by_staff.items] == [number]
    with db.engine.connect() as conn:  # no value is kept, only field groups
        assert NAME_MARKER not in str(conn.execute(read_trail.select()).mappings().all())
    intake.seal_reads()
    assert db.verify_read_trail().ok

    with pytest.raises(NotFound):  # another student's trail is hidden
        approvals.list_my_reads(student("SH01-26-999999-X"), ListMyReads(student_number=number))
    with pytest.raises(AccessDenied):
        approvals.list_student_reads(DESK, ListStudentReads(student_number=number))


def test_the_trail_of_a_destroyed_student_stays_readable_by_auditors(
    intake: Intake, approvals: Approvals, db: Database
) -> None:
    """The entries hold no value, so destruction keeps them (the certificate says so), and
    an auditor still reads them; nobody else learns the student existed."""
    number = admit_student(db)
    intake.get_dossier(OFFICER, GetDossier(student_number=number))
    with db.unit_of_work() as uow:
        uow.shred(number, certificate_id="cert-1", actor="operator-1")
        uow.commit()
    (seen,) = approvals.list_student_reads(AUDITOR, ListStudentReads(student_number=number)).items
    assert seen.student_number == number
    with pytest.raises(AccessDenied):
        approvals.list_student_reads(DESK, ListStudentReads(student_number=number))


def test_a_masked_read_by_a_clerk_and_the_students_own_are_not_recorded(
    intake: Intake, approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    view = intake.get_dossier(DESK, GetDossier(student_number=number))
    assert view.personal.name != f"王{NAME_MARKER}"  # masked for the front desk
    intake.search(DESK, SearchDossiers(branch="SH01", student_number=number))
    intake.get_dossier(student(number), GetDossier(student_number=number))
    page = approvals.list_student_reads(AUDITOR, ListStudentReads(student_number=number))
    assert page.items == ()


def test_search_hits_and_exports_are_recorded_and_the_export_carries_the_trail(
    intake: Intake, approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    intake.search(OFFICER, SearchDossiers(branch="SH01", student_number=number))
    export = approvals.export_dossier(OFFICER, ExportDossier(student_number=number))
    assert [line.viewer for line in export.reads] == ["officer-1"]  # the search hit
    own = approvals.export_dossier(student(number), ExportDossier(student_number=number))
    kinds = [line.kinds for line in own.reads]
    assert ("personal", "contact", "id_document", "export") in kinds
    assert len(own.reads) == 2  # the search and the officer's export; not the student's own


def test_a_tampered_entry_is_caught(intake: Intake, db: Database) -> None:
    numbers = [admit_student(db, n=i) for i in range(3)]
    for number in numbers:
        intake.get_dossier(OFFICER, GetDossier(student_number=number))
    intake.seal_reads()
    assert db.verify_read_trail().branches == {"SH01": 3}
    with db.engine.begin() as conn:
        conn.execute(update(read_trail).where(read_trail.c.seq == 2).values(kinds=["contact"]))
    (problem,) = db.verify_read_trail().breaks
    assert (problem.branch, problem.seq, problem.problem) == ("SH01", 2, "hash")


def test_a_snooping_clerk_raises_one_alert_and_the_manager_is_told(
    intake: Intake, approvals: Approvals, db: Database
) -> None:
    raised: list[ReadAlert] = []
    intake.on_read_alert = raised.append
    numbers = [admit_student(db, n=i) for i in range(6)]
    for number in numbers:  # one dossier after another: 3 an hour is the branch's threshold
        intake.get_dossier(SNOOPER, GetDossier(student_number=number))
    intake.get_dossier(SNOOPER, GetDossier(student_number=numbers[0]))  # again: no new one
    intake.seal_reads()  # what the chainer does just after each read, off the request path

    assert [(a.rule, a.threshold) for a in raised] == [("reads_per_hour", 3)]
    assert raised[0].count >= 4
    (alert,) = approvals.list_read_alerts(APPROVER, ListReadAlerts(branch="SH01")).items
    assert alert.actor == "web:clerk.li"
    (notice,) = alert.notices  # the branch manager's notice, through the notify hook
    assert notice.startswith("outbox: ")
    assert "web:clerk.li" in notice
    with pytest.raises(AccessDenied):
        approvals.list_read_alerts(OTHER_BRANCH_APPROVER, ListReadAlerts(branch="SH01"))
    with pytest.raises(AccessDenied):  # the manager sees it; the auditor acknowledges it
        approvals.acknowledge_read_alert(
            keyed(APPROVER), AcknowledgeReadAlert(alert_id=alert.alert_id, comment="ok")
        )

    before = audit_actions(db)
    done = approvals.acknowledge_read_alert(
        keyed(AUDITOR),
        AcknowledgeReadAlert(alert_id=alert.alert_id, comment="核实：为学期注册核对"),
    )
    assert (done.acknowledged_by, done.comment) == ("auditor-1", "核实：为学期注册核对")
    assert audit_actions(db).get("read_alert.acknowledged", 0) == (
        before.get("read_alert.acknowledged", 0) + 1
    )
    assert (
        approvals.list_read_alerts(AUDITOR, ListReadAlerts(branch="SH01", open_only=True)).items
        == ()
    )
    with pytest.raises(ValidationError):
        approvals.acknowledge_read_alert(
            keyed(AUDITOR), AcknowledgeReadAlert(alert_id=alert.alert_id, comment="again")
        )


def test_a_read_outside_opening_hours_raises_an_alert(
    intake: Intake, approvals: Approvals, db: Database, clock: Clock
) -> None:
    number = admit_student(db)
    clock.advance(hours=6)  # 09:00 UTC + 6 h = 23:00 in Shanghai: closed
    intake.get_dossier(OFFICER, GetDossier(student_number=number))
    intake.seal_reads()
    (alert,) = approvals.list_read_alerts(AUDITOR, ListReadAlerts(branch="SH01")).items
    assert (alert.rule, alert.actor) == ("after_hours", "officer-1")


def test_branch_defaults() -> None:
    branch = Branch(code="SH01", name="x")
    assert (branch.reads_per_hour, branch.reads_per_day) == (30, 150)
    assert (branch.opens_at_hour, branch.closes_at_hour, branch.exports_per_hour) == (8, 21, 1)
