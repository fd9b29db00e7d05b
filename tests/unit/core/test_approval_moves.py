"""The moves the approvals service builds on: staleness and re-basing of change requests, legal
holds, consents (the guardian's under 14), disclosures under consent, feedback."""

from __future__ import annotations

from datetime import date

import attrs
import pytest

from dossier.core import consent as cn
from dossier.core import lifecycles as lc
from dossier.core.changes import describe_changes
from dossier.core.enums import ChangeStatus, ConsentGiver, ConsentPurpose, Locale
from dossier.core.errors import (
    ConsentRequired,
    GuardRefused,
    IllegalTransition,
    NotFound,
    StaleChange,
    ValidationError,
)
from dossier.core.events import (
    ConsentChanged,
    DisclosureRecorded,
    FeedbackChanged,
    LegalHoldChanged,
)
from dossier.core.records import Consent, Disclosure, Feedback
from dossier.core.wire import dumps
from tests.support.builders import (
    AT,
    PERSONAL_MARKERS,
    STUDENT_NUMBER,
    change_request,
    ctx,
    dossier,
    field_change,
    legal_hold,
    personal,
)

TODAY = date(2026, 3, 2)


def consent(purpose: ConsentPurpose = ConsentPurpose.EXAM_BOARD, **overrides: object) -> Consent:
    values: dict[str, object] = {
        "id": "con-1",
        "student_number": STUDENT_NUMBER,
        "purpose": purpose,
        "given_by": ConsentGiver.STUDENT,
        "granted_at": AT,
        "recorded_by": "staff-officer",
    }
    values.update(overrides)
    return Consent(**values)  # type: ignore[arg-type]


def disclosure(purpose: ConsentPurpose = ConsentPurpose.EXAM_BOARD) -> Disclosure:
    return Disclosure(
        id="dis-1",
        student_number=STUDENT_NUMBER,
        branch="SH01",
        recipient="exam board",
        purpose=purpose,
        fields=("personal.name",),
        disclosed_at=AT,
        disclosed_by="staff-officer",
    )


# -- change requests: staleness and re-basing ------------------------------------------------


def test_approval_against_another_version_of_the_dossier_is_stale() -> None:
    change = change_request(status=ChangeStatus.SUBMITTED, dossier_version=3)
    with pytest.raises(StaleChange) as stale:
        lc.approve_change(change, ctx(), dossier=dossier(version=4))
    assert stale.value.code == "stale_change"
    assert stale.value.params == {"ref": change.id, "based_on": 3, "current": 4}
    for locale in Locale:
        assert change.id in stale.value.message(locale)
    approved = lc.approve_change(change, ctx(), dossier=dossier(version=3))
    assert approved.record.status is ChangeStatus.APPROVED


def test_staleness_is_judged_after_state_and_four_eyes() -> None:
    confirmed = change_request(status=ChangeStatus.CONFIRMED, dossier_version=3)
    with pytest.raises(IllegalTransition):
        lc.approve_change(confirmed, ctx(), dossier=dossier(version=9))
    own = change_request(status=ChangeStatus.SUBMITTED, dossier_version=3)
    with pytest.raises(GuardRefused) as four_eyes:
        lc.approve_change(own, ctx(actor=own.requested_by), dossier=dossier(version=9))
    assert four_eyes.value.reason == "four_eyes"


def test_a_disputed_change_is_not_judged_stale() -> None:
    disputed = change_request(status=ChangeStatus.DISPUTED, dossier_version=3)
    upheld = lc.approve_change(disputed, ctx(), dossier=dossier(version=5))
    assert upheld.record.status is ChangeStatus.APPROVED


def test_approval_needs_the_request_s_own_dossier() -> None:
    change = change_request(status=ChangeStatus.SUBMITTED, dossier_version=3)
    other = dossier(student_number="SH01-26-000124-A", version=3)
    with pytest.raises(GuardRefused) as refused:
        lc.approve_change(change, ctx(), dossier=other)
    assert refused.value.reason == "student_mismatch"


def test_rebase_refreshes_before_values_and_base_and_stays_submitted() -> None:
    change = change_request(status=ChangeStatus.SUBMITTED, dossier_version=3)
    now = dossier(version=6, personal=personal(phone="+8613911112222"))
    rebased = lc.rebase_change(change, now, ctx(), {"personal.phone": "+8613800000001"})
    record = rebased.record
    assert (record.status, record.dossier_version, record.version) == (
        ChangeStatus.SUBMITTED,
        6,
        change.version + 1,
    )
    phone = next(c for c in record.changes if c.field == "personal.phone")
    assert (phone.before, phone.after) == ("+8613911112222", "+8613800000001")
    assert [c.field for c in record.changes] == [c.field for c in change.changes]
    assert rebased.events[0].status is ChangeStatus.SUBMITTED  # type: ignore[attr-defined]


@pytest.mark.parametrize("state", [s for s in ChangeStatus if s is not ChangeStatus.SUBMITTED])
def test_only_a_submitted_change_is_rebased(state: ChangeStatus) -> None:
    with pytest.raises(IllegalTransition):
        lc.rebase_change(change_request(status=state), dossier(), ctx())


def test_describe_changes_renders_before_from_the_dossier_and_after_from_values() -> None:
    described = describe_changes(
        dossier(),
        [field_change("personal.birth_date", "1999-1-1"), field_change("needs.goals", "DELE")],
        {"personal.birth_date": date(1999, 1, 1)},
    )
    assert [(c.field, c.before, c.after) for c in described] == [
        ("personal.birth_date", "1999-12-31", "1999-01-01"),
        ("needs.goals", "IELTS 7", "DELE"),
    ]


def test_applied_records_the_base_it_produced() -> None:
    approved = change_request(status=ChangeStatus.APPROVED, dossier_version=3)
    assert lc.mark_change_applied(approved, ctx(), 4).record.dossier_version == 4
    assert lc.mark_change_applied(approved, ctx()).record.dossier_version == 3


# -- legal holds -------------------------------------------------------------------------------


def test_a_hold_is_set_and_lifted_once() -> None:
    hold = legal_hold()
    set_ = lc.set_legal_hold(hold, ctx())
    assert set_.record == hold
    assert set_.events[0] == LegalHoldChanged(
        branch=hold.branch,
        occurred_at=AT,
        actor=ctx().actor,
        hold_id=hold.id,
        student_number=hold.student_number,
        active=True,
        event_id=set_.events[0].event_id,
    )
    lifted = lc.lift_legal_hold(hold, ctx(reason="settled"))
    assert not lifted.record.active
    assert (lifted.record.lift_reason, lifted.record.lifted_by) == ("settled", ctx().actor)
    with pytest.raises(IllegalTransition):
        lc.lift_legal_hold(lifted.record, ctx())
    with pytest.raises(IllegalTransition):
        lc.set_legal_hold(lifted.record, ctx())


# -- consents and disclosures ------------------------------------------------------------------


def test_granting_a_consent_bumps_the_dossier_and_raises_its_event() -> None:
    granted = cn.grant_consent(dossier(), consent(), ctx(), TODAY)
    assert granted.record.consents == (consent(),)
    assert granted.record.version == dossier().version + 1
    event = granted.events[0]
    assert isinstance(event, ConsentChanged)
    assert (event.consent_id, event.active) == ("con-1", True)


def test_one_active_consent_per_purpose() -> None:
    with_one = dossier(consents=(consent(),))
    with pytest.raises(GuardRefused) as twice:
        cn.grant_consent(with_one, consent(id="con-2"), ctx(), TODAY)
    assert twice.value.reason == "consent_already_active"
    other = cn.grant_consent(with_one, consent(ConsentPurpose.PHOTOS, id="con-2"), ctx(), TODAY)
    assert len(other.record.consents) == 2


def test_under_14_only_the_guardian_consents() -> None:
    child = dossier(personal=personal(birth_date=date(2013, 3, 3)))  # 12 on TODAY
    with pytest.raises(ValidationError) as refused:
        cn.grant_consent(child, consent(), ctx(), TODAY)
    assert [(p.field, p.rule, dict(p.params)) for p in refused.value.problems()] == [
        ("given_by", "guardian_consent_required", {"age": 14})
    ]
    guardian = consent(given_by=ConsentGiver.GUARDIAN)
    assert cn.grant_consent(child, guardian, ctx(), TODAY).record.consents == (guardian,)
    fourteen = dossier(personal=personal(birth_date=date(2012, 3, 2)))
    assert cn.grant_consent(fourteen, consent(), ctx(), TODAY).record.consents


def test_withdrawing_keeps_the_consent_on_record() -> None:
    withdrawn = cn.withdraw_consent(dossier(consents=(consent(),)), "con-1", ctx())
    (kept,) = withdrawn.record.consents
    assert not kept.active
    assert (kept.withdrawn_at, kept.withdrawn_by) == (AT, ctx().actor)
    assert withdrawn.events[0].active is False  # type: ignore[attr-defined]
    with pytest.raises(IllegalTransition):
        cn.withdraw_consent(withdrawn.record, "con-1", ctx())
    with pytest.raises(NotFound):
        cn.withdraw_consent(dossier(), "con-9", ctx())


def test_a_disclosure_needs_an_active_consent_for_its_purpose() -> None:
    with pytest.raises(ConsentRequired) as none:
        cn.record_disclosure(disclosure(), dossier(), ctx(), TODAY)
    assert none.value.code == "consent_required"
    other_purpose = dossier(consents=(consent(ConsentPurpose.PHOTOS),))
    with pytest.raises(ConsentRequired):
        cn.record_disclosure(disclosure(), other_purpose, ctx(), TODAY)
    withdrawn = dossier(consents=(consent(withdrawn_at=AT, withdrawn_by="x"),))
    with pytest.raises(ConsentRequired):
        cn.record_disclosure(disclosure(), withdrawn, ctx(), TODAY)
    recorded = cn.record_disclosure(disclosure(), dossier(consents=(consent(),)), ctx(), TODAY)
    event = recorded.events[0]
    assert isinstance(event, DisclosureRecorded)
    assert event.fields == ("personal.name",)
    assert "exam board" not in dumps(event).decode()  # the recipient stays in the record


def test_a_child_s_disclosure_needs_the_guardian_s_consent() -> None:
    child = personal(birth_date=date(2013, 3, 3))
    own = dossier(personal=child, consents=(consent(),))
    with pytest.raises(ConsentRequired):
        cn.record_disclosure(disclosure(), own, ctx(), TODAY)
    guardian = dossier(personal=child, consents=(consent(given_by=ConsentGiver.GUARDIAN),))
    assert cn.record_disclosure(disclosure(), guardian, ctx(), TODAY).record == disclosure()


# -- feedback ------------------------------------------------------------------------------------


def test_feedback_is_answered_once() -> None:
    item = Feedback(
        id="fb-1", branch="SH01", topic="registration", text="too long", submitted_at=AT
    )
    submitted = lc.submit_feedback(item, ctx())
    assert isinstance(submitted.events[0], FeedbackChanged)
    assert submitted.events[0].responded is False
    answered = lc.respond_feedback(item, "shortened", ctx())
    assert (answered.record.response, answered.record.responded_at) == ("shortened", AT)
    with pytest.raises(IllegalTransition):
        lc.respond_feedback(answered.record, "again", ctx())
    with pytest.raises(IllegalTransition):
        lc.submit_feedback(answered.record, ctx())


def test_the_new_events_carry_no_personal_value() -> None:
    events = [
        *lc.set_legal_hold(legal_hold(), ctx()).events,
        *cn.grant_consent(dossier(), consent(), ctx(), TODAY).events,
        *cn.record_disclosure(disclosure(), dossier(consents=(consent(),)), ctx(), TODAY).events,
        *lc.rebase_change(change_request(), attrs.evolve(dossier(), version=8), ctx()).events,
    ]
    for event in events:
        text = dumps(event).decode()
        for marker in PERSONAL_MARKERS:
            assert marker not in text
