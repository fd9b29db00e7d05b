"""The approvals use cases in-process, on SQLite and on PostgreSQL, with a clock the test moves."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dossier.approvals.handlers import Approvals, Caller
from dossier.core.branch import Branch
from dossier.core.enums import Channel, Gender, IdDocumentType, Locale, RegistrationStatus
from dossier.core.lifecycle import Context
from dossier.core.lifecycles import admit
from dossier.core.policy import Actor, Role
from dossier.core.records import IdDocument, LearningNeeds, PersonalDetails, Registration
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database, create_engine
from dossier.storage.documents import DocumentStore
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import LocalObjectStore
from dossier.storage.schema import audit_log, outbox
from dossier.storage.sql import sqlite_checkpoint
from tests.support.postgres import reset_postgres

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
BRANCHES = {
    "SH01": Branch(code="SH01", name="上海一校"),
    "BJ01": Branch(code="BJ01", name="北京一校", locale=Locale.EN),
}
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NAME_MARKER = "Qzxwvmarker"
ID_MARKER = "E93817264"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def approvals_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("approvals-template") / "dossier.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    sqlite_checkpoint(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def approvals_postgres_url(postgres_database_url: str) -> str:
    upgrade(postgres_database_url)
    return postgres_database_url


@pytest.fixture(params=ENGINES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "dossier.db"
        shutil.copyfile(request.getfixturevalue("approvals_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("approvals_postgres_url")
        reset_postgres(url)
    database = Database(url, MasterKey.generate())
    yield database
    database.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def approvals(db: Database, tmp_path: Path, clock: Clock) -> Approvals:
    store = LocalObjectStore(tmp_path / "objects")
    store.ensure_bucket("documents")
    return Approvals(db, BRANCHES, DocumentStore(store, "documents"), clock=clock)


def caller(actor_id: str, *roles: Role, branch: str = "SH01", number: str | None = None) -> Caller:
    """An actor calling without an idempotency key (`keyed` adds one)."""
    actor = Actor(
        id=actor_id, roles=frozenset(roles), branches=frozenset({branch}), student_number=number
    )
    return Caller(actor)


def student(number: str) -> Caller:
    return caller(f"student-{number}", Role.STUDENT, number=number)


DESK = caller("desk-1", Role.FRONT_DESK)
OFFICER = caller("officer-1", Role.ENROLMENT_OFFICER)
APPROVER = caller("approver-1", Role.APPROVER)
APPROVER_2 = caller("approver-2", Role.APPROVER)
OFFICER_APPROVER = caller("manager-1", Role.ENROLMENT_OFFICER, Role.APPROVER)
"""Someone who may both request (as officer) and decide (as approver): four-eyes applies."""
OTHER_BRANCH_APPROVER = caller("approver-bj", Role.APPROVER, branch="BJ01")


def keyed(c: Caller) -> Caller:
    """The same actor with a new idempotency key (a new logical request)."""
    return Caller(c.actor, f"key-{uuid.uuid4().hex}")


def admit_student(
    db: Database, *, branch: str = "SH01", birth_date: date = date(2000, 5, 17), n: int = 0
) -> str:
    """A dossier straight from storage (intake's job is tested elsewhere); markers planted."""
    with db.unit_of_work() as uow:
        number = uow.numbers.next(branch, 2026)
        registration = Registration(
            id=f"reg-{uuid.uuid4()}",
            branch=branch,
            channel=Channel.FRONT_DESK,
            applicant=PersonalDetails(
                name=f"王{NAME_MARKER}",
                birth_date=birth_date,
                id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"{ID_MARKER}{n}"),
                phone=f"+861380013{n:04d}",
                gender=Gender.FEMALE,
                email=f"wang{n}@example.cn",
            ),
            needs=LearningNeeds(target_language="en", goals="IELTS 7"),
            submitted_at=START,
            status=RegistrationStatus.ACCEPTED,
            student_number=number,
        )
        ctx = Context(actor="officer-1", reason="admitted", at=START)
        uow.apply(admit(registration, ctx), AuditSpec(action="student.admitted"))
        uow.commit()
    return number


def audit_actions(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, func.count()).group_by(audit_log.c.action))
        return {action: int(count) for action, count in rows}


def event_types(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.type, func.count()).group_by(outbox.c.type))
        return {kind: int(count) for kind, count in rows}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
    }
