"""The data map classifies everything Dossier stores or publishes, and nothing that is gone.

Like Moodle's privacy provider test: a table or column, an object key or an
event field that `dossier.storage.data_map` does not classify fails here, as
does a map entry for something that no longer exists. The database side is
checked on the SQLAlchemy metadata and on databases migrated by alembic on
SQLite and on PostgreSQL (the migrations are the schema's truth).
"""

from __future__ import annotations

import base64
import types
from collections.abc import Iterator
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import attrs
import pytest
import sqlalchemy
from sqlalchemy import inspect

from dossier.approvals.handlers import Approvals
from dossier.core import events as core_events
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.commands import ReviewRegistration
from dossier.core.contracts.confidentiality import RecordTraining, TrainingFile
from dossier.core.contracts.intake import AddDocument
from dossier.core.enums import Decision, DocumentKind
from dossier.core.events import ALL_EVENTS, DomainEvent
from dossier.core.policy import Actor, Role
from dossier.intake.handlers import Intake
from dossier.retention import backups as backups_module
from dossier.retention import ledger
from dossier.retention.archive import BackupKey
from dossier.retention.backups import Backups
from dossier.storage import documents as documents_module
from dossier.storage.data_map import (
    CHANGE_FIELDS,
    DESCRIPTIONS,
    EVENT_KINDS,
    EVENTS,
    OBJECTS,
    PERSON_FIELDS,
    PERSONAL_KINDS,
    TABLES,
    Kind,
    classify_object,
    stale_columns,
    unclassified_columns,
)
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import LocalObjectStore
from dossier.storage.repositories.base import PersonBlob
from dossier.storage.repositories.change_requests import ChangeBlob
from dossier.storage.schema import PERSONAL_TABLES, metadata
from scripts.privacy_doc import DOC, generated
from tests.support.load import registration
from tests.support.postgres import throwaway_database

ALEMBIC = "alembic_version"


def _metadata_columns() -> dict[str, set[str]]:
    tables = {name: {c.name for c in table.columns} for name, table in metadata.tables.items()}
    return {**tables, ALEMBIC: {"version_num"}}


def _database_columns(url: str) -> dict[str, set[str]]:
    engine = sqlalchemy.create_engine(url)
    try:
        found = inspect(engine)
        return {t: {c["name"] for c in found.get_columns(t)} for t in found.get_table_names()}
    finally:
        engine.dispose()


# -- tables and columns ------------------------------------------------------------------------


def test_every_table_and_column_of_the_schema_is_classified_and_nothing_else() -> None:
    columns = _metadata_columns()
    assert unclassified_columns(columns) == {}, "classify these in dossier/storage/data_map.py"
    assert stale_columns(columns) == {}, "these map entries name nothing in the schema"
    assert set(TABLES) == set(columns)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the parametrised engine, migrated to head by alembic."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/migrated.db"
        upgrade(url)
        yield url
        return
    server: str = request.getfixturevalue("postgres_server_url")
    with throwaway_database(server) as url:
        upgrade(url)
        yield url


def test_every_table_and_column_of_a_migrated_database_is_classified(migrated_url: str) -> None:
    columns = _database_columns(migrated_url)
    assert unclassified_columns(columns) == {}, "classify these in dossier/storage/data_map.py"
    assert stale_columns(columns) == {}, "these map entries name nothing the migrations create"


def test_every_class_is_described_and_personal_fields_sit_only_in_personal_places() -> None:
    assert set(DESCRIPTIONS) == set(Kind)
    for table, columns in TABLES.items():
        for column, entry in columns.items():
            assert bool(entry.holds) == (entry.kind in PERSONAL_KINDS - {Kind.KEY_MATERIAL}), (
                f"{table}.{column}: only sealed or digested columns list personal fields"
            )
    sealed = {
        (table, column)
        for table, columns in TABLES.items()
        for column, entry in columns.items()
        if entry.kind is Kind.PERSONAL_SEALED
    }
    assert sealed == {(table.name, "personal_ct") for table in PERSONAL_TABLES}
    for table in PERSONAL_TABLES:
        assert TABLES[table.name]["key_id"].kind is Kind.KEY_REFERENCE


def _leaves(cls: type, prefix: str = "") -> set[str]:
    """Every leaf attribute path of an attrs class: ``person.id_document.number``, ``a[].b``."""
    attrs.resolve_types(cls)
    found: set[str] = set()
    for attribute in attrs.fields(cls):
        found |= _leaf(attribute.type, f"{prefix}{attribute.name}")
    return found


def _leaf(kind: Any, path: str) -> set[str]:
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        return set().union(*(_leaf(a, path) for a in args if a is not type(None)))
    if origin is tuple:
        return _leaf(args[0], f"{path}[]")
    if isinstance(kind, type) and attrs.has(kind):
        return _leaves(kind, f"{path}.")
    return {path}


def test_the_sealed_blobs_hold_exactly_the_fields_the_map_lists() -> None:
    """A new personal attribute must be added to the map (and docs/privacy.md) to pass."""
    assert _leaves(PersonBlob) == set(PERSON_FIELDS)
    assert _leaves(ChangeBlob) == set(CHANGE_FIELDS)
    assert TABLES["registrations"]["personal_ct"].holds == PERSON_FIELDS
    assert TABLES["students"]["personal_ct"].holds == PERSON_FIELDS
    assert TABLES["change_requests"]["personal_ct"].holds == CHANGE_FIELDS


# -- events ------------------------------------------------------------------------------------


def _event_classes() -> set[type[DomainEvent]]:
    found: set[type[DomainEvent]] = set()
    todo = [DomainEvent]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return found


SAFE_LEAVES = (str, bool, int, date, datetime, Enum)


def _safe_type(kind: Any) -> bool:
    """Scalars and tuples of scalars: no record (a `PersonalDetails`…) can ride in an event."""
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        return all(_safe_type(a) for a in args if a is not type(None))
    if origin is tuple:
        return all(_safe_type(a) for a in args if a is not Ellipsis)
    return isinstance(kind, type) and issubclass(kind, SAFE_LEAVES) and not attrs.has(kind)


def test_every_event_class_is_mapped_and_carries_no_personal_value() -> None:
    classes = _event_classes()
    assert set(ALL_EVENTS) == classes, "dossier.core.events.ALL_EVENTS misses an event class"
    assert {cls.type for cls in classes} == set(EVENTS), "the event map is out of date"
    for cls in classes:
        attrs.resolve_types(cls, globalns=vars(core_events))
        mapped = EVENTS[cls.type]
        fields = {a.name: a for a in attrs.fields(cls)}
        assert set(fields) == set(mapped), f"{cls.type}: fields and map differ"
        for name, entry in mapped.items():
            assert entry.kind in EVENT_KINDS, f"{cls.type}.{name} is {entry.kind}"
            assert not entry.holds, f"{cls.type}.{name} holds personal fields"
            assert _safe_type(fields[name].type), f"{cls.type}.{name}: {fields[name].type}"


# -- object store ------------------------------------------------------------------------------

BRANCHES = {"SH01": Branch(code="SH01", name="上海一校")}
DESK = Actor(id="desk-1", roles={Role.FRONT_DESK}, branches={"SH01"})
OFFICER = Actor(id="officer-1", roles={Role.ENROLMENT_OFFICER}, branches={"SH01"})
MANAGER = Actor(id="approver-1", roles={Role.APPROVER}, branches={"SH01"})


def test_every_object_the_code_writes_matches_a_prefix_of_the_map(tmp_path: Path) -> None:
    """Registrations and dossiers with documents, a training material, a backup, a ledger entry:
    all classified."""
    assert documents_module._student_prefix("SH01-26-000001-X") == "students/SH01-26-000001-X/"
    assert documents_module.MATERIAL_PREFIX == "training/"
    assert (backups_module.PREFIX, backups_module.MANIFEST, ledger.PREFIX) == (
        "backups/",
        "manifest.json",
        "ledger/",
    )
    buckets = {"documents": "docs", "backups": "backups"}
    store = LocalObjectStore(tmp_path / "objects")
    store.ensure_bucket(buckets["documents"])
    db = Database(f"sqlite:///{tmp_path}/db.sqlite", MasterKey.generate())
    try:
        db.upgrade()
        intake = Intake(db, BRANCHES, DocumentStore(store, buckets["documents"]))
        pending = intake.submit_registration(Caller(DESK), registration(1))
        receipt = intake.submit_registration(Caller(DESK), registration(2))
        outcome = intake.review_registration(
            Caller(OFFICER),
            ReviewRegistration(
                registration_id=receipt.registration_id, decision=Decision.APPROVE, reason="ok"
            ),
        )
        assert outcome.student_number is not None
        assert pending.registration_id
        intake.add_document(
            Caller(OFFICER),
            AddDocument(
                student_number=outcome.student_number,
                kind=DocumentKind.PAYMENT_RECEIPT,
                media_type="application/pdf",
                content=base64.b64encode(b"%PDF-1.4 receipt").decode(),
            ),
        )
        Approvals(db, BRANCHES, DocumentStore(store, buckets["documents"])).record_training(
            Caller(MANAGER),
            RecordTraining(
                branch="SH01",
                topic="保密培训",
                held_on=date(2026, 3, 1),
                trainer="李老师",
                attendees=("officer-1",),
                files=(
                    TrainingFile(
                        name="slides.pdf",
                        media_type="application/pdf",
                        content=base64.b64encode(b"%PDF-1.4 slides").decode(),
                    ),
                ),
            ),
        )
        Backups(
            db,
            store,
            documents_bucket=buckets["documents"],
            backups_bucket=buckets["backups"],
            key=BackupKey.from_text(BackupKey.generate()),
            part_size=4096,
        ).create()
        ledger.record(
            store,
            buckets["backups"],
            ledger.LedgerEntry(
                student_number=outcome.student_number,
                branch="SH01",
                destroyed_at=datetime.now(UTC),
                certificate_id="cert-1",
            ),
        )
    finally:
        db.dispose()
    matched: set[str] = set()
    for role, bucket in buckets.items():
        keys = [info.key for info in store.list(bucket)]
        assert keys, bucket
        for key in keys:
            prefix = classify_object(role, key)
            assert prefix is not None, f"{role}: {key} matches no prefix of the data map"
            matched.add(prefix.pattern)
    assert matched == {p.pattern for p in OBJECTS}, "a prefix of the map matched nothing"


# -- the document ------------------------------------------------------------------------------


def test_docs_privacy_is_generated_from_the_map() -> None:
    """Run ``.venv/bin/python scripts/privacy_doc.py`` after changing the data map."""
    assert DOC.read_text(encoding="utf-8").endswith(generated())
