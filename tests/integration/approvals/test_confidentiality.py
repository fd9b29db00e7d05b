"""保密承诺与培训 in-process on a real database: publishing, acknowledging, training, the status
(who is due), their audit entries; a dossier read by a staff member limited to masked data."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import attrs
import pytest

from dossier.approvals.handlers import Approvals, Caller
from dossier.core.contracts.approvals import ExportDossier
from dossier.core.contracts.confidentiality import (
    AcknowledgePolicy,
    CurrentPolicy,
    PublishPolicy,
    RecordTraining,
    TrainingStatus,
)
from dossier.core.contracts.intake import GetDossier
from dossier.core.errors import AccessDenied, NotFound, ValidationError
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor, Role
from dossier.gateway.accounts import AccountStore
from dossier.intake.handlers import Intake
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
