"""保密承诺与培训 in-process on a real database: publishing, acknowledging, training, the status
(who is due), their audit entries; a dossier read by a staff member limited to masked data."""

from __future__ import annotations

import base64
import hashlib
import shutil
from datetime import date, timedelta
from pathlib import Path

import attrs
import pytest

from dossier.approvals.handlers import Approvals, Caller
from dossier.core.attachments import MAX_ATTACHMENT_BYTES
from dossier.core.contracts.approvals import ExportDossier
from dossier.core.contracts.confidentiality import (
    AcknowledgePolicy,
    CurrentPolicy,
    GetTrainingMaterial,
    PublishPolicy,
    RecordTraining,
    TrainingFile,
    TrainingStatus,
    TrainingView,
)
from dossier.core.contracts.intake import GetDossier
from dossier.core.enums import Locale
from dossier.core.errors import AccessDenied, NotFound, ValidationError
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor, Role
from dossier.gateway.accounts import AccountStore
from dossier.intake.handlers import Intake
from dossier.retention.archive import BackupKey
from dossier.retention.backups import Backups
from dossier.storage import confidentiality
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.objects import LocalObjectStore
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
    delta,
    keyed,
)

AUDITOR = Caller(Actor(id="auditor-1", roles=frozenset({Role.AUDITOR}), branches=frozenset()))


def _publish(approvals: Approvals, text: str = "一") -> int:
    command = PublishPolicy(branch="SH01", text_zh=f"保密承诺{text}", text_en=f"Policy {text}")
    return approvals.publish_policy(keyed(APPROVER), command).version


def test_publish_acknowledge_and_who_is_due(
    approvals: Approvals, db: Database, clock: Clock
) -> None:
    before = audit_actions(db)
    standing = approvals.current_policy(OFFICER, CurrentPolicy(branch="SH01"))
    assert (standing.policy, standing.due, standing.renewal_days) == (None, False, 365)
    with pytest.raises(NotFound):
        approvals.acknowledge_policy(keyed(OFFICER), AcknowledgePolicy(branch="SH01", version=1))
    with pytest.raises(AccessDenied):
        approvals.publish_policy(
            keyed(OFFICER), PublishPolicy(branch="SH01", text_zh="x", text_en="y")
        )

    assert _publish(approvals) == 1
    standing = approvals.current_policy(OFFICER, CurrentPolicy(branch="SH01"))
    assert standing.policy is not None
    assert standing.policy.text_zh == "保密承诺一"
    assert standing.due
    with db.engine.connect() as conn:
        due = confidentiality.due_branches(conn, "officer-1", ["SH01"], {}, clock.now)
        assert due == ["SH01"]

    receipt = approvals.acknowledge_policy(
        keyed(OFFICER), AcknowledgePolicy(branch="SH01", version=1)
    )
    assert (receipt.version, receipt.actor) == (1, "officer-1")
    assert not approvals.current_policy(OFFICER, CurrentPolicy(branch="SH01")).due
    with db.engine.connect() as conn:
        assert confidentiality.due_branches(conn, "officer-1", ["SH01"], {}, clock.now) == []
        assert confidentiality.due_branches(conn, "desk-1", None, {}, clock.now) == ["SH01"]

    assert _publish(approvals, "二") == 2  # a new version: due again
    assert approvals.current_policy(OFFICER, CurrentPolicy(branch="SH01")).due
    with pytest.raises(ValidationError):  # only the current version can be acknowledged
        approvals.acknowledge_policy(keyed(OFFICER), AcknowledgePolicy(branch="SH01", version=1))
    approvals.acknowledge_policy(keyed(OFFICER), AcknowledgePolicy(branch="SH01", version=2))
    clock.advance(days=365)  # the period passed: due again
    assert approvals.current_policy(OFFICER, CurrentPolicy(branch="SH01")).due

    assert delta(before, audit_actions(db)) == {
        "confidentiality.published": 2,
        "confidentiality.acknowledged": 2,
    }


def test_training_records_and_the_status(approvals: Approvals, db: Database) -> None:
    _publish(approvals)
    approvals.acknowledge_policy(keyed(OFFICER), AcknowledgePolicy(branch="SH01", version=1))
    before = audit_actions(db)
    training = approvals.record_training(
        keyed(APPROVER),
        RecordTraining(
            branch="SH01",
            topic="个人信息保护法培训",
            held_on=date(2026, 3, 1),
            trainer="李老师",
            attendees=("officer-1", "desk-1", "officer-1"),
            materials=("PIPL slides v3",),
        ),
    )
    assert training.attendees == ("officer-1", "desk-1")
    assert delta(before, audit_actions(db)) == {"training.recorded": 1}
    with pytest.raises(AccessDenied):
        approvals.record_training(
            keyed(OFFICER),
            RecordTraining(
                branch="SH01", topic="t", held_on=date(2026, 3, 1), trainer="x", attendees=("a",)
            ),
        )
    with pytest.raises(ValidationError) as refused:
        approvals.record_training(
            keyed(APPROVER),
            RecordTraining(
                branch="SH01", topic="", held_on=date(2026, 3, 1), trainer="x", attendees=()
            ),
        )
    assert {p.field for p in refused.value.problems()} == {"topic", "attendees"}

    report = approvals.training_status(AUDITOR, TrainingStatus(branch="SH01"))
    assert report.current_version == 1
    by_actor = {s.actor: s for s in report.staff}
    assert by_actor["officer-1"].acknowledged_version == 1
    assert not by_actor["officer-1"].due
    assert by_actor["officer-1"].last_training == date(2026, 3, 1)
    assert not by_actor["officer-1"].training_due
    assert by_actor["desk-1"].due
    assert by_actor["desk-1"].acknowledged_version is None
    assert [s.topic for s in report.sessions] == ["个人信息保护法培训"]
    with pytest.raises(AccessDenied):
        approvals.training_status(DESK, TrainingStatus(branch="SH01"))


def test_a_dossier_read_limited_to_masked_data_says_why(
    db: Database, tmp_path: Path, approvals: Approvals
) -> None:
    number = admit_student(db)
    store = LocalObjectStore(tmp_path / "intake-objects")
    store.ensure_bucket("documents")
    intake = Intake(db, BRANCHES, DocumentStore(store, "documents"), PluginHost({}))
    full = intake.get_dossier(OFFICER, GetDossier(student_number=number))
    assert NAME_MARKER in full.personal.name
    assert full.masked_because is None

    limited_actor = Actor(
        id="officer-1",
        roles=frozenset({Role.ENROLMENT_OFFICER}),
        branches=frozenset({"SH01"}),
        masked_only=True,
    )
    limited = Caller(limited_actor)
    masked = intake.get_dossier(limited, GetDossier(student_number=number))
    assert masked.masked_because == "policy_not_acknowledged"
    assert NAME_MARKER not in masked.personal.name
    assert masked.personal.phone != full.personal.phone
    assert "*" in masked.personal.phone
    with pytest.raises(AccessDenied) as refused:
        approvals.export_dossier(limited, ExportDossier(student_number=number))
    assert refused.value.reason == "policy_not_acknowledged"
    other = caller("officer-bj", Role.ENROLMENT_OFFICER, branch="BJ01")
    with pytest.raises(NotFound):  # out of reach stays not found
        intake.get_dossier(other, GetDossier(student_number=number))


def test_the_gateway_asks_each_staff_account_what_it_must_acknowledge(
    approvals: Approvals, db: Database, clock: Clock
) -> None:
    accounts = AccountStore(db)
    officer = accounts.create("officer-a", None, [Role.ENROLMENT_OFFICER], ["SH01"])
    elsewhere = accounts.create("officer-b", None, [Role.ENROLMENT_OFFICER], ["BJ01"])
    admin = accounts.create("admin-a", None, [Role.ADMIN], ["*"])
    renewal = {code: branch.policy_renewal_days for code, branch in BRANCHES.items()}
    assert accounts.policy_due(officer, renewal, clock.now) == ()  # nothing published
    assert not officer.actor.masked_only

    _publish(approvals)
    assert accounts.policy_due(officer, renewal, clock.now) == ("SH01",)
    assert accounts.policy_due(elsewhere, renewal, clock.now) == ()
    assert accounts.policy_due(admin, renewal, clock.now) == ("SH01",)
    limited = attrs.evolve(officer, policy_due=("SH01",))
    assert limited.actor.masked_only

    approvals.acknowledge_policy(
        keyed(Caller(officer.actor)), AcknowledgePolicy(branch="SH01", version=1)
    )
    assert accounts.policy_due(officer, renewal, clock.now) == ()
    assert accounts.policy_due(officer, renewal, clock.now + timedelta(days=365)) == ("SH01",)
    assert accounts.policy_due(officer, {"SH01": 30}, clock.now + timedelta(days=31)) == ("SH01",)


# -- training materials as documents (培训材料文件) --------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + b"training-slide"
PDF = b"%PDF-1.7\n" + b"pipl-handout " * 40


def _file(name: str, media_type: str, data: bytes) -> TrainingFile:
    return TrainingFile(name=name, media_type=media_type, content=base64.b64encode(data).decode())


def _record(approvals: Approvals, *files: TrainingFile) -> TrainingView:
    return approvals.record_training(
        keyed(APPROVER),
        RecordTraining(
            branch="SH01",
            topic="保密培训",
            held_on=date(2026, 3, 1),
            trainer="李老师",
            attendees=("officer-1",),
            materials=("PIPL slides v3",),
            files=files,
        ),
    )


def _material(training: TrainingView, index: int, branch: str = "SH01") -> GetTrainingMaterial:
    return GetTrainingMaterial(
        branch=branch,
        training_id=training.training_id,
        document_id=training.files[index].document_id,
    )


def test_training_materials_are_sealed_documents_read_back_whole(
    approvals: Approvals, db: Database, tmp_path: Path
) -> None:
    before = audit_actions(db)
    training = _record(
        approvals,
        _file("slides.png", "image/png", PNG),
        _file("讲义.pdf", "application/pdf", PDF),
    )
    assert training.materials == ("PIPL slides v3",)  # the text references stay
    assert [(f.name, f.media_type, f.size, f.sha256) for f in training.files] == [
        ("slides.png", "image/png", len(PNG), hashlib.sha256(PNG).hexdigest()),
        ("讲义.pdf", "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest()),
    ]
    assert delta(before, audit_actions(db)) == {"training.recorded": 1}
    for index, data in enumerate((PNG, PDF)):
        for reader in (AUDITOR, APPROVER):
            found = approvals.training_material(reader, _material(training, index))
            assert base64.b64decode(found.content) == data
            assert found.ref == training.files[index]

    store = LocalObjectStore(tmp_path / "objects")
    keys = sorted(info.key for info in store.list("documents"))
    assert keys == sorted(
        f"training/SH01/{training.training_id}/{f.document_id}" for f in training.files
    )
    for key in keys:  # sealed: the object store never sees the content
        blob = store.get("documents", key)
        assert b"training-slide" not in blob
        assert b"pipl-handout" not in blob

    report = approvals.training_status(AUDITOR, TrainingStatus(branch="SH01"))
    assert report.sessions[0].files == training.files
    with pytest.raises(AccessDenied):  # who may not read the status may not read its files
        approvals.training_material(DESK, _material(training, 0))
    with pytest.raises(AccessDenied):
        approvals.training_material(OTHER_BRANCH_APPROVER, _material(training, 0))
    with pytest.raises(NotFound):  # asked as another branch's: none there
        approvals.training_material(OTHER_BRANCH_APPROVER, _material(training, 0, "BJ01"))
    with pytest.raises(NotFound):
        approvals.training_material(
            APPROVER,
            GetTrainingMaterial(
                branch="SH01", training_id=training.training_id, document_id="no-such-file"
            ),
        )


def test_a_material_file_too_large_or_of_the_wrong_type_is_refused_in_both_languages(
    approvals: Approvals, db: Database, tmp_path: Path
) -> None:
    before = audit_actions(db)
    script = b"#!/bin/sh\necho hello\n"
    with pytest.raises(ValidationError) as refused:
        _record(
            approvals,
            _file("big.pdf", "application/pdf", b"%PDF-1.7\n" + b"x" * MAX_ATTACHMENT_BYTES),
            _file("slides.png", "image/png", script),
            _file("run.sh", "application/x-sh", script),
            _file(" ", "image/png", PNG),
        )
    problems = {p.field: p for p in refused.value.problems()}
    assert {field: p.rule for field, p in problems.items()} == {
        "files[0].content": "too_large",
        "files[1].content": "content_type_mismatch",
        "files[2].media_type": "not_allowed_value",
        "files[3].name": "required",
    }
    large = problems["files[0].content"]
    assert large.params == {"max": MAX_ATTACHMENT_BYTES}
    english, chinese = large.message(Locale.EN), large.message(Locale.ZH_CN)
    assert "material file 1" in english.lower()
    assert "第 1 个培训材料文件" in chinese
    assert english != chinese
    assert "第 2 个培训材料文件" in problems["files[1].content"].message(Locale.ZH_CN)
    assert "material file 3" in problems["files[2].media_type"].message(Locale.EN).lower()
    assert delta(before, audit_actions(db)) == {}
    assert list(LocalObjectStore(tmp_path / "objects").list("documents")) == []


def test_a_backup_carries_the_materials_and_a_restore_brings_them_back(
    approvals: Approvals,
    db: Database,
    tmp_path: Path,
    clock: Clock,
    approvals_sqlite_template: Path,
) -> None:
    training = _record(approvals, _file("slides.png", "image/png", PNG))
    store = LocalObjectStore(tmp_path / "objects")
    backups = Backups(
        db,
        store,
        documents_bucket="documents",
        backups_bucket="backups",
        key=BackupKey.from_text(BackupKey.generate()),
    )
    manifest = backups.create()
    assert manifest.objects == 1

    path = tmp_path / "restored.db"
    shutil.copyfile(approvals_sqlite_template, path)
    restored = Database(f"sqlite:///{path}", db.vault.master)  # the same master key
    try:
        backups.restore(manifest.id, restored, objects_into=(store, "restored"))
        again = Approvals(restored, BRANCHES, DocumentStore(store, "restored"), clock=clock)
        found = again.training_material(AUDITOR, _material(training, 0))
        assert base64.b64decode(found.content) == PNG
    finally:
        restored.dispose()
