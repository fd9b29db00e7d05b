"""The four lifecycles of DESIGN.md §3: every transition, allowed and refused, and every guard.

The cases are generated from the transition tables themselves (every state of
the enum × every action the lifecycle knows), so a transition added to a table
without a driver here fails `test_every_action_has_a_driver`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from enum import Enum
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dossier.core import lifecycles as lc
from dossier.core.changes import current_value, render_value
from dossier.core.enums import (
    ChangeStatus,
    DestructionStatus,
    Locale,
    RegistrationStatus,
    StudentStatus,
)
from dossier.core.errors import GuardRefused, IllegalTransition
from dossier.core.events import (
    ChangeRequestMoved,
    DestructionRequestMoved,
    DomainEvent,
    RegistrationDecided,
    RegistrationSubmitted,
    StudentAdmitted,
    StudentStatusChanged,
)
from dossier.core.lifecycle import Context, Lifecycle, Transitioned
from dossier.core.records import StatusChange
from dossier.core.wire import dumps
from tests.support.builders import (
    APPROVER,
    AT,
    BRANCH,
    EFFECTIVE,
    OTHER_STUDENT_NUMBER,
    PERSONAL_MARKERS,
    REQUESTER,
    STUDENT_NUMBER,
    change_request,
    ctx,
    destruction_request,
    dossier,
    legal_hold,
    personal,
    registration,
)

S, C, D, R = StudentStatus, ChangeStatus, DestructionStatus, RegistrationStatus
CERTIFICATE = "cert-2026-0001"
CHANGE_VALUES = tuple(
    value
    for change in change_request().changes
    for value in (change.before, change.after)
    if value is not None
)
"""Before/after values of the default change request: personal, never in an event."""


# -- drivers: one public function per (lifecycle, action) --------------------------------

Run = Callable[[Any, Context], Transitioned[Any]]
Updates = Callable[[Any, Context], dict[str, Any]]
Expect = Callable[[Any, Context, Any], DomainEvent]


@attrs.frozen
class Driver:
    """How to put a record in a state, move it with the public function, and what to expect."""

    make: Callable[[Any], Any]
    run: Run
    updates: Updates
    event: Expect


def _decided(student_number: str | None) -> Expect:
    def expect(record: Any, c: Context, target: Any) -> DomainEvent:
        return RegistrationDecided(
            branch=record.branch,
            occurred_at=c.at,
            actor=c.actor,
            registration_id=record.id,
            status=target,
            student_number=student_number,
        )

    return expect


def _decision(student_number: str | None) -> Updates:
    def updates(_record: Any, c: Context) -> dict[str, Any]:
        return {
            "decided_at": c.at,
            "decided_by": c.actor,
            "decision_reason": c.reason,
            "student_number": student_number,
        }

    return updates


def _change_moved(record: Any, c: Context, target: Any) -> DomainEvent:
    return ChangeRequestMoved(
        branch=record.branch,
        occurred_at=c.at,
        actor=c.actor,
        change_id=record.id,
        student_number=record.student_number,
        status=target,
        fields=tuple(change.field for change in record.changes),
    )


def _destruction_moved(record: Any, c: Context, target: Any) -> DomainEvent:
    return DestructionRequestMoved(
        branch=record.branch,
        occurred_at=c.at,
        actor=c.actor,
        request_id=record.id,
        student_number=record.student_number,
        status=target,
    )


def _review(comment_field: str) -> Updates:
    def updates(_record: Any, c: Context) -> dict[str, Any]:
        return {"reviewed_by": c.actor, "reviewed_at": c.at, comment_field: c.reason}

    return updates


def _nothing(_record: Any, _c: Context) -> dict[str, Any]:
    return {}


def _approved_change(record: Any, c: Context) -> dict[str, Any]:
    return {
        **_review("review_comment")(record, c),
        "approved_fields": tuple(change.field for change in record.changes),
    }


MOVED_ON = dossier(version=7, personal=personal(phone="+8613911112222"))
"""The dossier after someone else's change: another phone, a later version."""


def _rebased(record: Any, _c: Context) -> dict[str, Any]:
    return {
        "changes": tuple(
            attrs.evolve(change, before=render_value(current_value(MOVED_ON, change.field)))
            for change in record.changes
        ),
        "dossier_version": MOVED_ON.version,
    }


DRIVERS: dict[str, dict[str, Driver]] = {
    lc.REGISTRATION.name: {
        "accept": Driver(
            lambda state: registration(status=state),
            lambda r, c: lc.accept_registration(r, c, STUDENT_NUMBER),
            _decision(STUDENT_NUMBER),
            _decided(STUDENT_NUMBER),
        ),
        "reject": Driver(
            lambda state: registration(status=state),
            lc.reject_registration,
            _decision(None),
            _decided(None),
        ),
        "withdraw": Driver(
            lambda state: registration(status=state),
            lc.withdraw_registration,
            _decision(None),
            _decided(None),
        ),
    },
    lc.CHANGE.name: {
        "approve": Driver(
            lambda state: change_request(status=state),
            lambda r, c: lc.approve_change(r, c),
            _approved_change,
            _change_moved,
        ),
        "reject": Driver(
            lambda state: change_request(status=state),
            lc.reject_change,
            _review("review_comment"),
            _change_moved,
        ),
        "cancel": Driver(
            lambda state: change_request(status=state), lc.cancel_change, _nothing, _change_moved
        ),
        "rebase": Driver(
            lambda state: change_request(status=state),
            lambda r, c: lc.rebase_change(r, MOVED_ON, c),
            _rebased,
            _change_moved,
        ),
        "apply": Driver(
            lambda state: change_request(status=state),
            lc.mark_change_applied,
            lambda _r, c: {"applied_at": c.at},
            _change_moved,
        ),
        "confirm": Driver(
            lambda state: change_request(status=state),
            lc.confirm_change,
            lambda _r, c: {"answered_at": c.at},
            _change_moved,
        ),
        "dispute": Driver(
            lambda state: change_request(status=state),
            lc.dispute_change,
            lambda _r, c: {"answered_at": c.at, "dispute_reason": c.reason},
            _change_moved,
        ),
    },
    lc.DESTRUCTION.name: {
        "approve": Driver(
            lambda state: destruction_request(status=state),
            lc.approve_destruction,
            _review("review_reason"),
            _destruction_moved,
        ),
        "reject": Driver(
            lambda state: destruction_request(status=state),
            lc.reject_destruction,
            _review("review_reason"),
            _destruction_moved,
        ),
        "cancel": Driver(
            lambda state: destruction_request(status=state),
            lc.cancel_destruction,
            _nothing,
            _destruction_moved,
        ),
        "execute": Driver(
            lambda state: destruction_request(status=state),
            lambda r, c: lc.execute_destruction(r, (), c, CERTIFICATE),
            lambda _r, c: {"executed_at": c.at, "certificate_id": CERTIFICATE},
            _destruction_moved,
        ),
    },
}
"""The record lifecycles whose public functions are named by action.

The student lifecycle is driven by target status (`change_status`) and by
`destroy_student`; it has its own cases below.
"""

ACTION_LIFECYCLES: tuple[Lifecycle[Any], ...] = (lc.REGISTRATION, lc.CHANGE, lc.DESTRUCTION)
ENUM_OF: dict[str, type[Enum]] = {
    lc.REGISTRATION.name: RegistrationStatus,
    lc.STUDENT.name: StudentStatus,
    lc.CHANGE.name: ChangeStatus,
    lc.DESTRUCTION.name: DestructionStatus,
}


def _actions(lifecycle: Lifecycle[Any]) -> list[str]:
    return sorted({action for _, action in lifecycle.table})


def _cases(allowed: bool) -> Iterator[Any]:
    for lifecycle in ACTION_LIFECYCLES:
        for state in ENUM_OF[lifecycle.name]:
            for action in _actions(lifecycle):
                if ((state, action) in lifecycle.table) is allowed:
                    yield pytest.param(
                        lifecycle, state, action, id=f"{lifecycle.name}:{state.value}:{action}"
                    )


def _same_but_id(actual: DomainEvent, expected: DomainEvent) -> None:
    assert type(actual) is type(expected)
    assert actual.type == expected.type
    assert actual.event_id
    assert actual == attrs.evolve(expected, event_id=actual.event_id)


def _no_personal_data(event: DomainEvent) -> None:
    text = dumps(event).decode()
    for marker in (*PERSONAL_MARKERS, *CHANGE_VALUES):
        assert marker not in text


def _assert_illegal(exc: IllegalTransition, lifecycle: str, state: str, action: str) -> None:
    assert exc.code == "illegal_transition"
    assert (exc.lifecycle, exc.state, exc.action) == (lifecycle, state, action)
    for locale in Locale:
        message = exc.message(locale)
        assert state in message
        assert action in message
        for allowed in exc.allowed:
            assert allowed in message
        if not exc.allowed:
            assert "-" in message


# -- the tables themselves ---------------------------------------------------------------


def test_lifecycles_are_the_four_of_the_design() -> None:
    assert {lifecycle.name for lifecycle in lc.LIFECYCLES} == set(ENUM_OF)


@pytest.mark.parametrize("lifecycle", lc.LIFECYCLES, ids=lambda lifecycle: lifecycle.name)
def test_every_state_of_the_enum_appears_in_the_table(lifecycle: Lifecycle[Any]) -> None:
    assert lifecycle.states() == set(ENUM_OF[lifecycle.name])


@pytest.mark.parametrize("lifecycle", ACTION_LIFECYCLES, ids=lambda lifecycle: lifecycle.name)
def test_every_action_has_a_driver(lifecycle: Lifecycle[Any]) -> None:
    assert set(_actions(lifecycle)) == set(DRIVERS[lifecycle.name])


def test_design_edges_are_in_the_tables() -> None:
    """DESIGN.md §3, written out here: each listed move exists in the code's table."""
    design: list[tuple[Lifecycle[Any], set[tuple[Any, Any]]]] = [
        (lc.REGISTRATION, {(R.SUBMITTED, R.ACCEPTED), (R.SUBMITTED, R.REJECTED)}),
        (lc.REGISTRATION, {(R.SUBMITTED, R.WITHDRAWN)}),
        (lc.CHANGE, {(C.SUBMITTED, C.APPROVED), (C.APPROVED, C.APPLIED)}),
        (lc.CHANGE, {(C.APPLIED, C.CONFIRMED), (C.APPLIED, C.DISPUTED)}),
        (lc.CHANGE, {(C.SUBMITTED, C.REJECTED), (C.SUBMITTED, C.CANCELLED)}),
        (lc.DESTRUCTION, {(D.SUBMITTED, D.APPROVED), (D.APPROVED, D.EXECUTED)}),
        (lc.DESTRUCTION, {(D.SUBMITTED, D.REJECTED), (D.SUBMITTED, D.CANCELLED)}),
    ]
    for lifecycle, edges in design:
        table_edges = {(source, target) for (source, _), target in lifecycle.table.items()}
        assert edges <= table_edges, lifecycle.name


@pytest.mark.parametrize(
    ("lifecycle", "terminal"),
    [
        (lc.REGISTRATION, {R.ACCEPTED, R.REJECTED, R.WITHDRAWN}),
        (lc.STUDENT, {S.DESTROYED}),
        (lc.CHANGE, {C.CONFIRMED, C.REJECTED, C.CANCELLED}),
        (lc.DESTRUCTION, {D.EXECUTED, D.REJECTED, D.CANCELLED}),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
def test_terminal_states_allow_nothing(lifecycle: Lifecycle[Any], terminal: set[Enum]) -> None:
    for state in ENUM_OF[lifecycle.name]:
        assert (lifecycle.allowed(state) == set()) is (state in terminal), state


def test_a_table_with_a_duplicate_row_is_refused() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        Lifecycle.build("x", [(S.ENROLLED, "go", S.SUSPENDED), (S.ENROLLED, "go", S.COMPLETED)])


@pytest.mark.parametrize("lifecycle", lc.LIFECYCLES, ids=lambda lifecycle: lifecycle.name)
def test_engine_refuses_every_pair_outside_the_table(lifecycle: Lifecycle[Any]) -> None:
    actions = _actions(lifecycle)
    for state in ENUM_OF[lifecycle.name]:
        for action in actions:
            if (state, action) in lifecycle.table:
                continue
            with pytest.raises(IllegalTransition) as raised:
                lifecycle.target(state, action, object(), ctx())
            _assert_illegal(raised.value, lifecycle.name, state.value, action)
            assert set(raised.value.allowed) == lifecycle.allowed(state)


def test_context_needs_an_actor() -> None:
    with pytest.raises(ValueError, match="actor"):
        Context(actor="", reason="r", at=AT)


def test_effective_date_defaults_to_the_day_of_recording() -> None:
    assert ctx(effective=None).effective_date == AT.date()
    assert ctx().effective_date == EFFECTIVE


# -- registration, change request, destruction request: every pair ------------------------


@pytest.mark.parametrize(("lifecycle", "state", "action"), list(_cases(allowed=True)))
def test_allowed_transition_moves_the_record(
    lifecycle: Lifecycle[Any], state: Enum, action: str
) -> None:
    driver = DRIVERS[lifecycle.name][action]
    record = driver.make(state)
    c = ctx()
    target = lifecycle.table[(state, action)]

    moved = driver.run(record, c)

    expected = attrs.evolve(
        record, status=target, version=record.version + 1, **driver.updates(record, c)
    )
    assert moved.record == expected
    assert len(moved.events) == 1
    _same_but_id(moved.events[0], driver.event(record, c, target))
    _no_personal_data(moved.events[0])


@pytest.mark.parametrize(("lifecycle", "state", "action"), list(_cases(allowed=False)))
def test_refused_transition_names_state_action_and_allowed(
    lifecycle: Lifecycle[Any], state: Enum, action: str
) -> None:
    driver = DRIVERS[lifecycle.name][action]
    record = driver.make(state)
    before = attrs.evolve(record)

    with pytest.raises(IllegalTransition) as raised:
        driver.run(record, ctx())

    _assert_illegal(raised.value, lifecycle.name, str(state.value), action)
    assert set(raised.value.allowed) == lifecycle.allowed(state)
    assert record == before


def test_events_of_two_transitions_have_distinct_ids() -> None:
    first = lc.reject_registration(registration(), ctx()).events[0]
    second = lc.reject_registration(registration(), ctx()).events[0]
    assert first.event_id != second.event_id


# -- submission (entry into a lifecycle, no move) ---------------------------------------


def test_submit_registration_raises_the_submitted_event_and_keeps_the_record() -> None:
    record = registration()
    result = lc.submit_registration(record, ctx(actor="front-desk-1"))
    assert result.record == record
    _same_but_id(
        result.events[0],
        RegistrationSubmitted(
            branch=BRANCH,
            occurred_at=AT,
            actor="front-desk-1",
            registration_id=record.id,
            channel=record.channel,
        ),
    )
    assert len(result.events) == 1
    _no_personal_data(result.events[0])


@pytest.mark.parametrize("state", [s for s in R if s is not R.SUBMITTED])
def test_submit_registration_refuses_a_decided_one(state: RegistrationStatus) -> None:
    with pytest.raises(IllegalTransition) as raised:
        lc.submit_registration(registration(status=state), ctx())
    _assert_illegal(raised.value, lc.REGISTRATION.name, state.value, "submit")


def test_submit_change_raises_the_submitted_event_with_field_names_only() -> None:
    record = change_request()
    result = lc.submit_change(record, ctx(actor=REQUESTER))
    assert result.record == record
    _same_but_id(result.events[0], _change_moved(record, ctx(actor=REQUESTER), C.SUBMITTED))
    assert len(result.events) == 1
    _no_personal_data(result.events[0])


@pytest.mark.parametrize("state", [s for s in C if s is not C.SUBMITTED])
def test_submit_change_refuses_one_already_under_way(state: ChangeStatus) -> None:
    with pytest.raises(IllegalTransition) as raised:
        lc.submit_change(change_request(status=state), ctx())
    _assert_illegal(raised.value, lc.CHANGE.name, state.value, "submit")


# -- admission -------------------------------------------------------------------------------


def test_admit_builds_an_enrolled_dossier_from_an_accepted_registration() -> None:
    accepted = lc.accept_registration(registration(), ctx(), STUDENT_NUMBER).record
    c = ctx(actor="officer-1", reason="documents complete")

    result = lc.admit(accepted, c)

    made = result.record
    assert made.student_number == STUDENT_NUMBER
    assert made.branch == accepted.branch
    assert made.status is S.ENROLLED
    assert made.version == 1
    assert made.admitted_at == AT
    assert made.registration_id == accepted.id
    assert made.personal == accepted.applicant
    assert made.guardian == accepted.guardian
    assert made.needs == accepted.needs
    assert made.documents == accepted.documents
    assert made.history == (
        StatusChange(
            from_status=None,
            to_status=S.ENROLLED,
            actor="officer-1",
            reason="documents complete",
            effective_date=EFFECTIVE,
            recorded_at=AT,
        ),
    )
    assert len(result.events) == 1
    _same_but_id(
        result.events[0],
        StudentAdmitted(
            branch=BRANCH,
            occurred_at=AT,
            actor="officer-1",
            student_number=STUDENT_NUMBER,
            registration_id=accepted.id,
        ),
    )
    _no_personal_data(result.events[0])


def test_admit_without_effective_date_starts_on_the_day_of_recording() -> None:
    accepted = lc.accept_registration(registration(), ctx(), STUDENT_NUMBER).record
    made = lc.admit(accepted, ctx(effective=None)).record
    assert made.history[0].effective_date == AT.date()


@pytest.mark.parametrize("state", [s for s in R if s is not R.ACCEPTED])
def test_admit_refuses_a_registration_that_is_not_accepted(state: RegistrationStatus) -> None:
    with pytest.raises(IllegalTransition) as raised:
        lc.admit(registration(status=state), ctx())
    _assert_illegal(raised.value, lc.REGISTRATION.name, state.value, "admit")


def test_admit_refuses_an_accepted_registration_without_student_number() -> None:
    with pytest.raises(IllegalTransition):
        lc.admit(registration(status=R.ACCEPTED, student_number=None), ctx())


# -- student status: every (state, target) -------------------------------------------------

CLASSIFY_TARGETS = [s for s in S if s is not S.DESTROYED]


def _student_cases(allowed: bool) -> Iterator[Any]:
    reachable = {(source, target) for (source, _), target in lc.STUDENT.table.items()}
    for state in S:
        for target in CLASSIFY_TARGETS:
            if ((state, target) in reachable) is allowed:
                yield pytest.param(state, target, id=f"{state.value}->{target.value}")


def _expect_status_move(
    before: Any, moved: Transitioned[Any], target: StudentStatus, c: Context
) -> None:
    line = StatusChange(
        from_status=before.status,
        to_status=target,
        actor=c.actor,
        reason=c.reason,
        effective_date=c.effective_date,
        recorded_at=c.at,
    )
    assert moved.record == attrs.evolve(
        before, status=target, version=before.version + 1, history=(*before.history, line)
    )
    assert len(moved.events) == 1
    _same_but_id(
        moved.events[0],
        StudentStatusChanged(
            branch=before.branch,
            occurred_at=c.at,
            actor=c.actor,
            student_number=before.student_number,
            from_status=before.status,
            to_status=target,
            effective_date=c.effective_date,
        ),
    )
    _no_personal_data(moved.events[0])


@pytest.mark.parametrize(("source", "action"), sorted(lc.STUDENT.table, key=str))
def test_every_student_table_row_is_reachable_through_the_public_functions(
    source: StudentStatus, action: str
) -> None:
    target = lc.STUDENT.table[(source, action)]
    record = dossier(source)
    c = ctx(actor="officer-1", reason=f"because {action}")
    if action == "destroy":
        approved = destruction_request(status=D.APPROVED)
        moved = lc.destroy_student(record, approved, [legal_hold(lifted=True)], c)
    else:
        assert lc.status_action(source, target) == action
        moved = lc.change_status(record, target, c)
    _expect_status_move(record, moved, target, c)


@pytest.mark.parametrize(("state", "target"), list(_student_cases(allowed=True)))
def test_change_status_moves_and_writes_a_history_line(
    state: StudentStatus, target: StudentStatus
) -> None:
    record = dossier(state)
    c = ctx(actor="officer-1", reason="asked by the student")
    _expect_status_move(record, lc.change_status(record, target, c), target, c)


@pytest.mark.parametrize(("state", "target"), list(_student_cases(allowed=False)))
def test_change_status_refuses_a_move_the_table_lacks(
    state: StudentStatus, target: StudentStatus
) -> None:
    record = dossier(state)
    with pytest.raises(IllegalTransition) as raised:
        lc.change_status(record, target, ctx())
    _assert_illegal(raised.value, lc.STUDENT.name, state.value, f"to {target.value}")
    assert set(raised.value.allowed) == lc.STUDENT.allowed(state)


@pytest.mark.parametrize("state", list(S))
def test_change_status_never_destroys(state: StudentStatus) -> None:
    with pytest.raises(GuardRefused) as raised:
        lc.change_status(dossier(state), S.DESTROYED, ctx())
    assert raised.value.reason == "destruction_needs_request"
    assert raised.value.code == "transition_refused"


# -- destroying a student ----------------------------------------------------------------------


@pytest.mark.parametrize("state", list(S))
def test_destroy_student_follows_the_table(state: StudentStatus) -> None:
    record = dossier(state)
    approved = destruction_request(status=D.APPROVED)
    if (state, "destroy") in lc.STUDENT.table:
        moved = lc.destroy_student(record, approved, [], ctx())
        _expect_status_move(record, moved, S.DESTROYED, ctx())
    else:
        with pytest.raises(IllegalTransition) as raised:
            lc.destroy_student(record, approved, [], ctx())
        _assert_illegal(raised.value, lc.STUDENT.name, state.value, "destroy")


@pytest.mark.parametrize("status", [s for s in D if s is not D.APPROVED])
def test_destroy_student_needs_an_approved_request(status: DestructionStatus) -> None:
    with pytest.raises(GuardRefused) as raised:
        lc.destroy_student(dossier(S.COMPLETED), destruction_request(status=status), [], ctx())
    assert raised.value.reason == "destruction_needs_request"


def test_destroy_student_needs_a_request_for_that_student() -> None:
    other = destruction_request(status=D.APPROVED, student_number=OTHER_STUDENT_NUMBER)
    with pytest.raises(GuardRefused) as raised:
        lc.destroy_student(dossier(S.COMPLETED), other, [], ctx())
    assert raised.value.reason == "destruction_needs_request"


def test_destroy_student_is_blocked_by_an_active_hold_and_released_by_lifting_it() -> None:
    record = dossier(S.WITHDRAWN)
    approved = destruction_request(status=D.APPROVED)
    with pytest.raises(GuardRefused) as raised:
        lc.destroy_student(record, approved, [legal_hold(lifted=True), legal_hold()], ctx())
    assert raised.value.reason == "legal_hold"
    moved = lc.destroy_student(record, approved, [legal_hold(lifted=True)], ctx())
    assert moved.record.status is S.DESTROYED


# -- guards of the request lifecycles --------------------------------------------------------

FOUR_EYES_CASES = [
    pytest.param(lc.approve_change, change_request, C.SUBMITTED, id="change-approve-submitted"),
    pytest.param(lc.approve_change, change_request, C.DISPUTED, id="change-approve-disputed"),
    pytest.param(lc.reject_change, change_request, C.SUBMITTED, id="change-reject-submitted"),
    pytest.param(lc.reject_change, change_request, C.DISPUTED, id="change-reject-disputed"),
    pytest.param(
        lc.approve_destruction, destruction_request, D.SUBMITTED, id="destruction-approve"
    ),
    pytest.param(lc.reject_destruction, destruction_request, D.SUBMITTED, id="destruction-reject"),
]


@pytest.mark.parametrize(("decide", "make", "state"), FOUR_EYES_CASES)
def test_four_eyes_the_requester_cannot_decide(
    decide: Run, make: Callable[..., Any], state: Enum
) -> None:
    record = make(status=state)
    before = attrs.evolve(record)
    with pytest.raises(GuardRefused) as raised:
        decide(record, ctx(actor=REQUESTER))
    assert raised.value.reason == "four_eyes"
    assert raised.value.code == "transition_refused"
    assert raised.value.action in {"approve", "reject"}
    assert "cannot approve" in raised.value.message(Locale.EN)
    assert "申请人不能审批" in raised.value.message(Locale.ZH_CN)
    assert record == before
    assert decide(record, ctx(actor=APPROVER)).record.version == record.version + 1


def test_four_eyes_is_not_asked_when_the_state_forbids_the_action() -> None:
    with pytest.raises(IllegalTransition):
        lc.approve_change(change_request(status=C.APPLIED), ctx(actor=REQUESTER))


@pytest.mark.parametrize("state", list(S))
def test_destruction_may_be_submitted_only_for_completed_or_withdrawn(
    state: StudentStatus,
) -> None:
    request = destruction_request()
    c = ctx(actor="student-self")
    if state in {S.COMPLETED, S.WITHDRAWN}:
        result = lc.submit_destruction(request, dossier(state), c)
        assert result.record == request
        assert len(result.events) == 1
        _same_but_id(result.events[0], _destruction_moved(request, c, D.SUBMITTED))
    else:
        with pytest.raises(GuardRefused) as raised:
            lc.submit_destruction(request, dossier(state), c)
        assert raised.value.reason == "not_destroyable_status"
        assert "completed or withdrawn" in raised.value.message(Locale.EN)


@pytest.mark.parametrize("state", [s for s in D if s is not D.SUBMITTED])
def test_submit_destruction_refuses_a_request_already_under_way(state: DestructionStatus) -> None:
    with pytest.raises(IllegalTransition) as raised:
        lc.submit_destruction(destruction_request(status=state), dossier(S.COMPLETED), ctx())
    _assert_illegal(raised.value, lc.DESTRUCTION.name, state.value, "submit")


def test_submit_destruction_checks_the_dossier_belongs_to_the_request() -> None:
    request_for_another_student = destruction_request(student_number=OTHER_STUDENT_NUMBER)
    completed_someone_else = dossier(S.COMPLETED)
    with pytest.raises((GuardRefused, IllegalTransition)):
        lc.submit_destruction(request_for_another_student, completed_someone_else, ctx())


def test_execute_is_refused_while_a_hold_is_active_and_allowed_once_lifted() -> None:
    approved = destruction_request(status=D.APPROVED)
    with pytest.raises(GuardRefused) as raised:
        lc.execute_destruction(approved, [legal_hold()], ctx(), CERTIFICATE)
    assert raised.value.reason == "legal_hold"
    assert raised.value.action == "execute"
    with pytest.raises(GuardRefused):
        lc.execute_destruction(
            approved, [legal_hold(lifted=True), legal_hold(id="hold-2")], ctx(), CERTIFICATE
        )
    executed = lc.execute_destruction(approved, [legal_hold(lifted=True)], ctx(), CERTIFICATE)
    assert executed.record.status is D.EXECUTED
    assert executed.record.certificate_id == CERTIFICATE
    assert executed.record.executed_at == AT


def test_approve_change_records_exactly_the_chosen_subset_in_request_order() -> None:
    request = change_request()
    moved = lc.approve_change(request, ctx(), ["needs.goals", "personal.phone"]).record
    assert moved.status is C.APPROVED
    assert moved.approved_fields == ("personal.phone", "needs.goals")
    assert moved.version == request.version + 1


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(["personal.phone", "personal.name"], id="one-not-requested"),
        pytest.param(["guardian.phone"], id="only-not-requested"),
        pytest.param([], id="empty"),
    ],
)
def test_approve_change_refuses_fields_that_were_not_requested(fields: list[str]) -> None:
    with pytest.raises(GuardRefused) as raised:
        lc.approve_change(change_request(), ctx(), fields)
    assert raised.value.reason == "approved_fields_not_requested"


def test_events_after_a_partial_approval_name_only_the_approved_fields() -> None:
    approved = lc.approve_change(change_request(), ctx(), ["personal.phone"])
    applied = lc.mark_change_applied(approved.record, ctx())
    assert approved.events[0].fields == ("personal.phone",)  # type: ignore[attr-defined]
    assert applied.events[0].fields == ("personal.phone",)  # type: ignore[attr-defined]


def test_a_disputed_change_can_be_reviewed_again() -> None:
    c = ctx()
    approved = lc.approve_change(change_request(), c, ["personal.phone"]).record
    applied = lc.mark_change_applied(approved, c).record
    disputed = lc.dispute_change(applied, ctx(actor="student-self", reason="wrong number")).record
    assert disputed.dispute_reason == "wrong number"
    again = lc.approve_change(disputed, ctx(actor="approver-2", reason="re-checked")).record
    assert again.status is C.APPROVED
    assert again.reviewed_by == "approver-2"
    assert again.version == change_request().version + 4


# -- a random walk through the student lifecycle ----------------------------------------------

DESIGN_STUDENT_MOVES: dict[StudentStatus, set[StudentStatus]] = {
    S.ENROLLED: {S.SUSPENDED, S.COMPLETED, S.WITHDRAWN},
    S.SUSPENDED: {S.ENROLLED, S.WITHDRAWN},
    S.COMPLETED: {S.ENROLLED, S.DESTROYED},
    S.WITHDRAWN: {S.ENROLLED, S.DESTROYED},
    S.DESTROYED: set(),
}
"""DESIGN.md §3, by hand: enrolled ⇄ suspended; enrolled → completed → enrolled;
enrolled | suspended → withdrawn → enrolled; completed | withdrawn → destroyed."""


START = date(2026, 1, 1)


class StudentLifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.record = dossier(S.ENROLLED, version=1)
        self.model = S.ENROLLED
        self.moves = 0
        self.day = 0

    def _ctx(self) -> Context:
        self.day += 1
        return ctx(actor=f"officer-{self.day % 3}", effective=START + timedelta(days=self.day))

    @rule(status=st.sampled_from(CLASSIFY_TARGETS))
    def classify(self, status: StudentStatus) -> None:
        allowed = status in DESIGN_STUDENT_MOVES[self.model]
        try:
            moved = lc.change_status(self.record, status, self._ctx())
        except IllegalTransition:
            assert not allowed, f"{self.model} -> {status} refused"
            return
        assert allowed, f"{self.model} -> {status} accepted"
        self._moved(moved.record, status)

    @rule(approved=st.booleans(), held=st.booleans())
    def destroy(self, approved: bool, held: bool) -> None:
        request = destruction_request(status=D.APPROVED if approved else D.SUBMITTED)
        holds = [legal_hold()] if held else [legal_hold(lifted=True)]
        allowed = S.DESTROYED in DESIGN_STUDENT_MOVES[self.model] and approved and not held
        try:
            moved = lc.destroy_student(self.record, request, holds, self._ctx())
        except (IllegalTransition, GuardRefused):
            assert not allowed
            return
        assert allowed
        self._moved(moved.record, S.DESTROYED)

    @precondition(lambda self: self.model is S.DESTROYED)
    @rule(status=st.sampled_from(CLASSIFY_TARGETS))
    def nothing_after_destruction(self, status: StudentStatus) -> None:
        with pytest.raises(IllegalTransition):
            lc.change_status(self.record, status, self._ctx())

    def _moved(self, record: Any, target: StudentStatus) -> None:
        self.moves += 1
        self.model = target
        self.record = record

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.record.status is self.model
        assert len(self.record.history) == self.moves + 1
        assert self.record.version == 1 + self.moves
        assert self.record.history[-1].to_status is self.model
        for earlier, later in zip(self.record.history, self.record.history[1:], strict=False):
            assert later.from_status is earlier.to_status


StudentLifecycleMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None
)
test_student_lifecycle_state_machine = StudentLifecycleMachine.TestCase
