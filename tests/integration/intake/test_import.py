"""Bulk import (批量导入) against real SQLite and PostgreSQL: report, strict, resume, duplicates."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from dossier.core.caller import Caller
from dossier.core.commands import SubmitRegistration
from dossier.core.contracts.intake import (
    GetImportStatus,
    ImportFormat,
    ImportReport,
    ImportState,
    ResumeImport,
    StartImport,
)
from dossier.core.enums import Channel, IdDocumentType, StudentStatus
from dossier.core.errors import AccessDenied, NotFound, ValidationError
from dossier.core.policy import Role
from dossier.core.records import IdDocument, LearningNeeds, PersonalDetails
from dossier.core.student_number import is_valid
from dossier.intake.handlers import Intake
from dossier.intake.imports.importer import Importer, ImportProgress
from dossier.messaging.client import DossierClient, RemoteError
from dossier.storage.db import Database, create_engine
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import IdempotencyKeyReused
from dossier.storage.migrations import upgrade
from dossier.storage.schema import outbox, registrations, students
from tests.integration.intake.conftest import (
    BRANCHES,
    NOW,
    OFFICER,
    caller,
    count,
    counts,
    csv_file,
    student_row,
)
from tests.support.nats import BusServer, sign_in
from tests.support.postgres import throwaway_database
from tests.support.stack import stack

MARKER = "Qx7Plant"
BAD_ROWS: dict[int, tuple[dict[str, str], str, str]] = {
    10: ({"phone": f"1{MARKER}"}, "phone", "phone_format"),
    50: ({"birth_date": f"1990-13-{MARKER}"}, "birth_date", "invalid_date"),
    100: ({"id_type": "hkid"}, "id_type", "id_type_not_accepted"),
    200: ({"name": f"X1{MARKER}"}, "name", "name_characters"),
    300: ({"email": f"{MARKER}@"}, "email", "email_format"),
    400: ({"status": MARKER}, "status", "not_allowed_value"),
    500: ({"admitted_on": "2030-01-01"}, "admitted_on", "date_in_future"),
    600: ({"target_language": ""}, "target_language", "required"),
    700: ({"birth_date": "2010-01-01"}, "guardian_name", "guardian_required"),
    800: ({"id_number": f"E!{MARKER}"}, "id_number", "id_number_format"),
}
"""Data row index → (changed cells, the column and rule the report must name)."""


def thousand_with_ten_bad() -> bytes:
    rows = [student_row(n) for n in range(1_000)]
    return csv_file(rows, overrides={i: cells for i, (cells, _, _) in BAD_ROWS.items()})


def expected_problems() -> set[tuple[int, str, str]]:
    return {(index + 2, column, rule) for index, (_, column, rule) in BAD_ROWS.items()}


def run(importer: Importer, data: bytes, who: Caller = OFFICER, **options: object) -> ImportReport:
    return importer.import_file(
        who,
        io.BytesIO(data),
        branch="SH01",
        format=ImportFormat.CSV,
        source_system="OldSIS",
        **options,  # type: ignore[arg-type]
    )


def test_valid_rows_are_imported_and_every_bad_one_reported(
    importer: Importer, db: Database
) -> None:
    report = run(importer, thousand_with_ten_bad())

    assert (report.state, report.rows_total, report.rows_done) == (
        ImportState.COMPLETED,
        1000,
        1000,
    )
    assert (report.valid, report.invalid, report.imported) == (990, 10, 990)
    assert {(p.row, p.column, p.rule) for p in report.problems} == expected_problems()
    assert report.problems_omitted == 0
    assert MARKER not in repr(report)
    assert counts(db) == {
        "students": 990,
        "registrations": 990,
        "imported_entries": 990,
        "admitted_events": 990,
    }
    assert db.verify_audit().ok


def test_every_imported_student_has_a_number_an_audit_entry_an_event_and_the_file_terms(
    importer: Importer, db: Database
) -> None:
    rows = [student_row(n) for n in range(40)]
    report = run(importer, csv_file(rows))
    assert report.imported == 40
    with db.engine.connect() as conn:
        numbers = list(conn.execute(select(students.c.student_number)).scalars())
        admitted = set(
            conn.execute(
                select(outbox.c.payload).where(outbox.c.type == "student.admitted")
            ).scalars()
        )
    assert len(set(numbers)) == 40
    assert all(is_valid(number) and number.startswith("SH01-26-") for number in numbers)
    assert all(any(number in str(payload) for payload in admitted) for number in numbers)
    zone = ZoneInfo("Asia/Shanghai")
    with db.unit_of_work() as uow:
        for number in numbers:
            dossier = uow.students.get(number)
            (entry,) = uow.audit.for_student(number)
            assert (entry.action, entry.actor) == ("student.imported", OFFICER.actor.id)
            source = next(
                r for r in rows if f"+86{r['phone']}" == dossier.personal.phone
            )  # which file row this student came from
            admitted_on = date.fromisoformat(source["admitted_on"])
            assert dossier.status is StudentStatus(source["status"])
            assert dossier.admitted_at == datetime.combine(admitted_on, time(0), zone)
            (line,) = dossier.history
            assert (line.from_status, line.to_status) == (None, dossier.status)
            assert (line.reason, line.actor) == ("imported from OldSIS", OFFICER.actor.id)
            assert line.effective_date == admitted_on
            registration = uow.registrations.get(dossier.registration_id or "")
            assert registration.channel is Channel.IMPORT
    assert db.verify_audit().ok


def test_strict_mode_imports_nothing_when_a_row_is_invalid(
    importer: Importer, db: Database
) -> None:
    report = run(importer, thousand_with_ten_bad(), strict=True)

    assert (report.state, report.valid, report.invalid, report.imported) == (
        ImportState.REJECTED,
        990,
        10,
        0,
    )
    assert {(p.row, p.column, p.rule) for p in report.problems} == expected_problems()
    assert counts(db) == dict.fromkeys(counts(db), 0)
    assert count(db, outbox) == 0


def test_strict_mode_imports_a_clean_file_in_chunks(
    make_importer: Callable[..., Importer], db: Database
) -> None:
    seen: list[ImportProgress] = []
    report = run(
        make_importer(chunk_size=10),
        csv_file([student_row(n) for n in range(35)]),
        strict=True,
        progress=seen.append,
    )
    assert (report.state, report.valid, report.invalid, report.imported) == (
        ImportState.COMPLETED,
        35,
        0,
        35,
    )
    phases = [(p.state, p.rows_done) for p in seen]
    assert phases[:4] == [(ImportState.VALIDATING, n) for n in (10, 20, 30, 35)]
    assert phases[4:] == [
        (ImportState.IMPORTING, 10),
        (ImportState.IMPORTING, 20),
        (ImportState.IMPORTING, 30),
        (ImportState.COMPLETED, 35),
    ]
    assert counts(db)["students"] == 35


def test_strict_mode_stops_when_the_chain_changed_after_validation(
    make_importer: Callable[..., Importer], db: Database
) -> None:
    importer = make_importer(chunk_size=10)
    rows = [student_row(n) for n in range(25)]

    def meanwhile(step: ImportProgress) -> None:
        if step.state is ImportState.VALIDATING and step.rows_done == 25:
            run(importer, csv_file([student_row(99, id_number=rows[22]["id_number"])]))

    report = run(importer, csv_file(rows), strict=True, progress=meanwhile)
    assert (report.state, report.rows_done, report.imported) == (ImportState.FAILED, 20, 20)
    assert [(p.row, p.column, p.rule) for p in report.problems] == [
        (24, "id_number", "duplicate_in_chain")
    ]
    assert counts(db)["students"] == 21


def test_the_report_lists_a_thousand_problems_and_counts_the_rest(
    importer: Importer, db: Database
) -> None:
    rows = [student_row(n, phone=f"12{n:09d}") for n in range(1_100)]
    report = run(importer, csv_file(rows))
    assert (report.imported, report.invalid, len(report.problems)) == (0, 1100, 1000)
    assert report.problems_omitted == 100
    assert report.problems[-1].row == 1001
    again = importer.status(OFFICER, GetImportStatus(job_id=report.job_id))
    assert again == report


class Killed(Exception):
    pass


def test_a_killed_import_resumes_after_its_last_chunk_and_imports_no_row_twice(
    make_importer: Callable[..., Importer], db: Database
) -> None:
    rows = [student_row(n) for n in range(1_000)]
    rows[650] = student_row(650, id_number=rows[50]["id_number"])  # a duplicate across the cut
    data = csv_file(rows)
    told: list[ImportProgress] = []

    def progress(step: ImportProgress) -> None:
        told.append(step)
        if len(told) == 2:
            raise Killed()

    importer = make_importer(chunk_size=100)
    with pytest.raises(Killed):
        run(importer, data, progress=progress)
    job_id = told[-1].job_id
    assert counts(db)["students"] == 200

    status = importer.status(OFFICER, GetImportStatus(job_id=job_id))
    assert (status.state, status.rows_done, status.imported) == (ImportState.IMPORTING, 200, 200)

    with pytest.raises(ValidationError) as other_file:
        importer.resume(OFFICER, ResumeImport(job_id=job_id, content=b64(data[:-40])))
    assert other_file.value.problems()[0].rule == "different_file"

    resumed = make_importer(chunk_size=100).resume(
        caller(Role.ADMIN, "*"), ResumeImport(job_id=job_id, content=b64(data))
    )
    assert (resumed.state, resumed.rows_done, resumed.imported) == (
        ImportState.COMPLETED,
        1000,
        999,
    )
    assert [(p.row, p.column, p.rule, p.params) for p in resumed.problems] == [
        (652, "id_number", "duplicate_in_file", {"first_row": "52", "matched_on": "id_document"})
    ]
    assert counts(db) == {
        "students": 999,
        "registrations": 999,
        "imported_entries": 999,
        "admitted_events": 999,
    }
    with db.engine.connect() as conn:
        ids = list(conn.execute(select(registrations.c.id)).scalars())
    assert len(set(ids)) == 999

    again = importer.resume(OFFICER, ResumeImport(job_id=job_id, content=b64(data)))
    assert again.imported == 999
    assert counts(db)["students"] == 999
    assert db.verify_audit().ok


def test_duplicates_within_the_file_and_against_the_chain_are_reported(
    importer: Importer, db: Database, documents: DocumentStore
) -> None:
    run(importer, csv_file([student_row(n) for n in range(5)]))
    intake = Intake(db, BRANCHES, documents, importer.plugins, clock=lambda: NOW)
    intake.submit_registration(
        caller(Role.FRONT_DESK),
        SubmitRegistration(
            branch="SH01",
            channel=Channel.FRONT_DESK,
            applicant=PersonalDetails(
                name="韩梅梅",
                birth_date=date(1992, 2, 2),
                id_document=IdDocument(type=IdDocumentType.PASSPORT, number="G55555555"),
                phone="13700000001",
            ),
            needs=LearningNeeds(target_language="fr"),
        ),
    )
    twin = student_row(13)
    rows = [
        student_row(10),
        student_row(11, id_number=student_row(10)["id_number"]),  # same ID as row 2
        twin,
        student_row(14, name=twin["name"], birth_date=twin["birth_date"], phone=twin["phone"]),
        student_row(20, id_number=student_row(3)["id_number"]),  # an existing student's ID
        student_row(21, name="韩梅梅", birth_date="1992-02-02", phone="137 0000 0001"),
        student_row(22, id_number="g5555 5555"),  # the pending registration's ID document
    ]
    report = run(importer, csv_file(rows))
    assert "韩梅梅" not in repr(report)
    assert "5555" not in repr(report)
    assert {(p.row, p.column, p.rule) for p in report.problems} == {
        (3, "id_number", "duplicate_in_file"),
        (5, "name", "duplicate_in_file"),
        (6, "id_number", "duplicate_in_chain"),
        (7, "name", "duplicate_in_chain"),
        (8, "id_number", "duplicate_in_chain"),
    }
    by_row = {p.row: p.params for p in report.problems}
    assert by_row[3] == {"first_row": "2", "matched_on": "id_document"}
    assert by_row[5] == {"first_row": "4", "matched_on": "name_birth_phone"}
    assert (report.imported, report.invalid) == (2, 5)
    assert counts(db)["students"] == 7


def test_access_is_refused_outside_the_callers_branches_and_roles(
    importer: Importer, db: Database
) -> None:
    data = csv_file([student_row(n) for n in range(3)])
    for who in (
        caller(Role.ENROLMENT_OFFICER, "BJ01"),
        caller(Role.FRONT_DESK, "SH01"),
        caller(Role.APPROVER, "SH01"),
        caller(Role.STUDENT, "SH01", student_number="SH01-26-000001-0"),
    ):
        with pytest.raises(AccessDenied) as refused:
            run(importer, data, who=who)
        assert refused.value.code == "access_denied"
    assert counts(db)["students"] == 0

    report = run(importer, data, who=caller(Role.ADMIN, "*"))
    assert report.imported == 3
    with pytest.raises(NotFound):
        importer.status(
            caller(Role.ENROLMENT_OFFICER, "BJ01"), GetImportStatus(job_id=report.job_id)
        )
    with pytest.raises(AccessDenied):
        importer.status(caller(Role.FRONT_DESK, "SH01"), GetImportStatus(job_id=report.job_id))
    assert importer.status(OFFICER, GetImportStatus(job_id=report.job_id)).imported == 3


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_start_over_the_wire_shape_is_idempotent_per_key(importer: Importer, db: Database) -> None:
    data = csv_file([student_row(n) for n in range(12)])
    command = StartImport(
        branch="SH01", format=ImportFormat.CSV, content=b64(data), source_system="x"
    )
    keyed = Caller(OFFICER.actor, "import-key-0001")
    first = importer.start(keyed, command)
    second = importer.start(keyed, command)
    assert first.job_id == second.job_id
    assert (second.state, second.imported) == (ImportState.COMPLETED, 12)
    assert counts(db)["students"] == 12
    other = StartImport(
        branch="SH01", format=ImportFormat.CSV, content=b64(data[:-30]), source_system="x"
    )
    with pytest.raises(IdempotencyKeyReused):
        importer.start(keyed, other)
    with pytest.raises(ValidationError) as not_base64:
        importer.start(
            OFFICER,
            StartImport(branch="SH01", format=ImportFormat.CSV, content="%%", source_system="x"),
        )
    assert not_base64.value.problems()[0].field == "content"


def test_a_file_with_a_bad_header_is_rejected_whole(importer: Importer, db: Database) -> None:
    data = csv_file([student_row(n) for n in range(3)]).replace(b"phone", b"phon", 1)
    report = run(importer, data)
    assert report.state is ImportState.REJECTED
    assert {(p.row, p.column, p.rule) for p in report.problems} == {
        (1, "F", "unknown_column"),
        (1, "phone", "missing_column"),
    }
    assert counts(db)["students"] == 0


def test_an_xlsx_file_imports_like_a_csv(importer: Importer, db: Database) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        ["姓名", "性别", "出生日期", "证件类型", "证件号码", "手机", "目标语言", "状态", "入学日期"]
    )
    for n in range(5):
        row = student_row(n)
        sheet.append(
            [
                row["name"],
                "男",
                date.fromisoformat(row["birth_date"]),
                "护照",
                row["id_number"],
                int(row["phone"]),
                "英语",
                "已结课",
                datetime.fromisoformat(row["admitted_on"]),
            ]
        )
    sheet.append([])
    data = io.BytesIO()
    book.save(data)
    report = importer.import_file(
        OFFICER, data, branch="SH01", format=ImportFormat.XLSX, source_system="Excel"
    )
    assert (report.state, report.imported, report.problems) == (ImportState.COMPLETED, 5, ())
    with db.engine.connect() as conn:
        assert set(conn.execute(select(students.c.status)).scalars()) == {"completed"}


@pytest.mark.postgres
def test_the_intake_service_answers_import_start_status_and_resume_over_nats(
    tmp_path: Path, postgres_server_url: str, nats_own_server: BusServer
) -> None:
    data = csv_file([student_row(n) for n in range(30)], overrides={4: {"phone": "12345"}})
    with throwaway_database(postgres_server_url) as url:
        upgrade(url)
        with stack(tmp_path / "home", url, nats_own_server) as running:
            running.start("intake")
            running.wait_until_serving("intake")
            officer = running.token("officer-1", Role.ENROLMENT_OFFICER)
            elsewhere = running.token("officer-9", Role.ENROLMENT_OFFICER, branches=("HK01",))

            async def scenario() -> None:
                nc = await sign_in(running.url_for("staff"))
                try:
                    client = DossierClient(nc, officer, timeout=60, locale="en")
                    report = await client.send(
                        StartImport(
                            branch="SH01",
                            format=ImportFormat.CSV,
                            content=b64(data),
                            source_system="OldSIS",
                        )
                    )
                    assert (report.state, report.imported, report.invalid) == (
                        "completed",
                        29,
                        1,
                    )
                    (problem,) = report.problems
                    assert (problem.row, problem.column, problem.rule) == (
                        6,
                        "phone",
                        "phone_format",
                    )
                    assert problem.message.startswith("Mobile phone is not a valid phone number")
                    job = GetImportStatus(job_id=report.job_id)
                    assert (await client.send(job)).rows_done == 30
                    resumed = await client.send(
                        ResumeImport(job_id=report.job_id, content=b64(data))
                    )
                    assert resumed.imported == 29
                    with pytest.raises(RemoteError) as refused:
                        await DossierClient(nc, elsewhere).send(
                            StartImport(
                                branch="SH01",
                                format=ImportFormat.CSV,
                                content=b64(data),
                                source_system="OldSIS",
                            )
                        )
                    assert (refused.value.code, refused.value.status) == ("access_denied", 403)
                finally:
                    await nc.close()

            asyncio.run(scenario())
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(select(func.count()).select_from(students)).scalar() == 29
        finally:
            engine.dispose()
