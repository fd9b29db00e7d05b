"""Retention fixtures: databases of either engine, filled through the intake use cases."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.commands import ReviewRegistration
from dossier.core.contracts.intake import AddDocument
from dossier.core.enums import Decision, DocumentKind
from dossier.core.policy import Actor, Role
from dossier.intake.handlers import Intake
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import LocalObjectStore
from tests.support.load import registration
from tests.support.postgres import throwaway_database

BRANCHES = {"SH01": Branch(code="SH01", name="上海一校")}
DESK = Actor(id="desk-1", roles={Role.FRONT_DESK}, branches={"SH01"})
OFFICER = Actor(id="officer-1", roles={Role.ENROLMENT_OFFICER}, branches={"SH01"})

DatabaseFactory = Callable[[str], Database]


@pytest.fixture
def master_key() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def make_db(
    tmp_path: Path, postgres_server_url: str, master_key: MasterKey
) -> Iterator[DatabaseFactory]:
    """``make_db("sqlite")`` / ``make_db("postgresql")``: a fresh, migrated database."""
    with ExitStack() as stack:
        opened: list[Database] = []

        def make(engine: str) -> Database:
            if engine == "sqlite":
                url = f"sqlite:///{tmp_path}/db-{len(opened)}.sqlite"
            else:
                url = stack.enter_context(throwaway_database(postgres_server_url))
            upgrade(url)
            db = Database(url, master_key)
            opened.append(db)
            return db

        yield make
        for db in opened:
            db.dispose()


def admit_students(db: Database, documents: DocumentStore, count: int, first: int = 0) -> list[str]:
    """Admit ``count`` students through the intake use cases, each with two documents."""
    intake = Intake(db, BRANCHES, documents)
    numbers = []
    for n in range(first, first + count):
        receipt = intake.submit_registration(Caller(DESK), registration(n))
        outcome = intake.review_registration(
            Caller(OFFICER),
            ReviewRegistration(
                registration_id=receipt.registration_id, decision=Decision.APPROVE, reason="ok"
            ),
        )
        assert outcome.student_number is not None
        intake.add_document(
            Caller(OFFICER),
            AddDocument(
                student_number=outcome.student_number,
                kind=DocumentKind.PAYMENT_RECEIPT,
                media_type="application/pdf",
                content=base64.b64encode(f"%PDF-1.4 receipt {n}".encode()).decode(),
            ),
        )
        numbers.append(outcome.student_number)
    return numbers


@pytest.fixture
def local_store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")
