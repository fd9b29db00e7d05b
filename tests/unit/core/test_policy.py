"""The access policy (DESIGN.md §6): the full matrix role × operation × branch, and the
facts of the written process checked against a table written by hand."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.core.enums import Locale
from dossier.core.errors import AccessDenied
from dossier.core.policy import (
    ALL_BRANCHES,
    CHAIN_WIDE_ROLES,
    FOUR_EYES,
    GRANTS,
    Actor,
    Operation,
    Role,
    Subject,
    Verdict,
    authorize,
    require,
)

Op = Operation
OWN_BRANCH = "SH01"
OTHER_BRANCH = "BJ02"
OWN_NUMBER = "SH01-26-000123-C"
OTHER_NUMBER = "SH01-26-000124-A"
ACTOR_ID = "actor-7f3a9c"
SCOPED_STAFF = frozenset(Role) - CHAIN_WIDE_ROLES - {Role.STUDENT}
STUDENT_WITHOUT_NUMBER = frozenset(
    {Op.REGISTRATION_SUBMIT, Op.REGISTRATION_STATUS, Op.FEEDBACK_SUBMIT}
)


def actor(
    *roles: Role, branches: tuple[str, ...] = (OWN_BRANCH,), number: str | None = None
) -> Actor:
    if Role.STUDENT in roles and number is None:
        number = OWN_NUMBER
    return Actor(
        id=ACTOR_ID, roles=frozenset(roles), branches=frozenset(branches), student_number=number
    )


def own(number: str = OWN_NUMBER) -> Subject:
    return Subject(student_number=number)


# -- the table covers everything ---------------------------------------------------------


def test_every_operation_has_a_grant() -> None:
    assert set(GRANTS) == set(Operation)


def test_every_grant_names_at_least_one_role() -> None:
    assert all(GRANTS[op] for op in Operation)


def test_every_role_can_do_something() -> None:
    assert {role for roles in GRANTS.values() for role in roles} == set(Role)


def test_chain_wide_roles_are_admin_and_auditor() -> None:
    assert {Role.ADMIN, Role.AUDITOR} == CHAIN_WIDE_ROLES


def test_four_eyes_operations_are_the_two_reviews() -> None:
    assert {Op.CHANGE_REVIEW, Op.DESTRUCTION_REVIEW} == FOUR_EYES


# -- the full matrix, generated from GRANTS ------------------------------------------------


def _matrix() -> list[Any]:
    return [
        pytest.param(role, op, branch, id=f"{role.value}:{op.value}:{where}")
        for role in Role
        for op in Operation
        for where, branch in (("own", OWN_BRANCH), ("other", OTHER_BRANCH))
    ]


@pytest.mark.parametrize(("role", "op", "branch"), _matrix())
def test_matrix(role: Role, op: Operation, branch: str) -> None:
    verdict = authorize(actor(role), op, branch, own())
    granted = role in GRANTS[op]
    if not granted:
        expected: tuple[bool, str | None] = (False, "role_not_permitted")
    elif role is Role.STUDENT or role in CHAIN_WIDE_ROLES or branch == OWN_BRANCH:
        expected = (True, None)
    else:
        expected = (False, "branch_out_of_scope")
    assert (verdict.allowed, verdict.reason) == expected
    assert verdict.operation is op
    assert bool(verdict) is verdict.allowed


@pytest.mark.parametrize("op", list(Operation))
def test_chain_wide_requests_are_for_chain_wide_roles_and_star_scopes(op: Operation) -> None:
    for role in GRANTS[op] - {Role.STUDENT}:
        scoped_here = authorize(actor(role), op, None, own())
        everywhere = authorize(actor(role, branches=(ALL_BRANCHES,)), op, None, own())
        assert everywhere.allowed
        if role in CHAIN_WIDE_ROLES:
            assert scoped_here.allowed
        else:
            assert (scoped_here.allowed, scoped_here.reason) == (False, "branch_out_of_scope")


@pytest.mark.parametrize("op", [op for op in Operation if Role.STUDENT in GRANTS[op]])
def test_students_act_only_on_their_own_record(op: Operation) -> None:
    student = actor(Role.STUDENT)
    assert authorize(student, op, OTHER_BRANCH, own()).allowed
    other = authorize(student, op, OWN_BRANCH, own(OTHER_NUMBER))
    anonymous = authorize(actor(Role.STUDENT, number=""), op, OWN_BRANCH, Subject())
    if op in STUDENT_WITHOUT_NUMBER:
        assert other.allowed
        assert authorize(Actor(id=ACTOR_ID, roles={Role.STUDENT}), op, OWN_BRANCH).allowed
    else:
        assert (other.allowed, other.reason) == (False, "not_own_record")
        assert not anonymous.allowed
        no_number = Actor(id=ACTOR_ID, roles={Role.STUDENT})
        assert authorize(no_number, op, OWN_BRANCH, Subject()).reason == "not_own_record"


# -- the written process, by hand ----------------------------------------------------------

FO, EO, AP, RV, OP, AU, AD, ST = (
    Role.FRONT_DESK,
    Role.ENROLMENT_OFFICER,
    Role.APPROVER,
    Role.REVIEWER,
    Role.OPERATOR,
    Role.AUDITOR,
    Role.ADMIN,
    Role.STUDENT,
)

HAND_WRITTEN: list[tuple[Role, Operation, bool]] = [
    # 1.1–1.3: the front desk collects, the enrolment officer reviews and admits
    (FO, Op.REGISTRATION_SUBMIT, True),
    (FO, Op.REGISTRATION_REVIEW, False),
    (EO, Op.REGISTRATION_REVIEW, True),
    (FO, Op.STATUS_CHANGE, False),
    (EO, Op.STATUS_CHANGE, True),
    (AP, Op.STATUS_CHANGE, False),
    # 2.1–2.3: the officer enters, the operator backs up
    (EO, Op.COURSE_MANAGE, True),
    (EO, Op.PAYMENT_RECORD, True),
    (OP, Op.BACKUP_MANAGE, True),
    (OP, Op.BACKUP_RESTORE, True),
    (AP, Op.BACKUP_MANAGE, False),
    (AP, Op.BACKUP_RESTORE, False),
    (FO, Op.BACKUP_RESTORE, False),
    (AU, Op.BACKUP_RESTORE, False),
    # 3: the approver decides changes; only the student answers them
    (AP, Op.CHANGE_REVIEW, True),
    (EO, Op.CHANGE_REVIEW, False),
    (FO, Op.CHANGE_REVIEW, False),
    (ST, Op.CHANGE_ANSWER, True),
    (AD, Op.CHANGE_ANSWER, False),
    (AP, Op.CHANGE_ANSWER, False),
    # 4.2: the reviewer runs and signs off the quarterly review
    (RV, Op.REVIEW_RUN, True),
    (RV, Op.REVIEW_SIGN_OFF, True),
    (FO, Op.REVIEW_SIGN_OFF, False),
    # 5: the approver decides destruction, the operator executes it
    (ST, Op.DESTRUCTION_SUBMIT, True),
    (AP, Op.DESTRUCTION_REVIEW, True),
    (OP, Op.DESTRUCTION_EXECUTE, True),
    (AP, Op.DESTRUCTION_EXECUTE, False),
    (OP, Op.DESTRUCTION_REVIEW, False),
    (FO, Op.DESTRUCTION_SUBMIT, False),
    # 6: auditors read the trail, never the dossiers
    (AU, Op.AUDIT_READ, True),
    (AU, Op.AUDIT_VERIFY, True),
    (AU, Op.DOSSIER_READ, False),
    (AU, Op.DOSSIER_SEARCH, False),
    (AU, Op.DOSSIER_EXPORT, False),
    (AU, Op.DOCUMENT_READ, False),
    (AU, Op.REGISTRATION_READ, False),
    (FO, Op.AUDIT_READ, False),
    (EO, Op.AUDIT_READ, False),
    # 8: everyone may give feedback
    *((role, Op.FEEDBACK_SUBMIT, True) for role in Role),
    # administration is the admin's alone
    *((role, Op.TOKEN_ISSUE, role is AD) for role in Role),
    *((role, Op.BRANCH_ADMIN, role is AD) for role in Role),
]


@pytest.mark.parametrize(
    ("role", "op", "allowed"),
    [pytest.param(r, o, a, id=f"{r.value}:{o.value}:{a}") for r, o, a in HAND_WRITTEN],
)
def test_written_process(role: Role, op: Operation, allowed: bool) -> None:
    verdict = authorize(actor(role), op, OWN_BRANCH, own())
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.reason == "role_not_permitted"


@pytest.mark.parametrize("branch", [OWN_BRANCH, OTHER_BRANCH, "GZ03", None])
def test_auditor_reads_audit_in_every_branch_but_never_a_dossier(branch: str | None) -> None:
    auditor = actor(AU, branches=())
    assert authorize(auditor, Op.AUDIT_READ, branch).allowed
    assert not authorize(auditor, Op.DOSSIER_READ, branch, own()).allowed


@pytest.mark.parametrize("role", sorted(CHAIN_WIDE_ROLES))
@pytest.mark.parametrize("branch", [OWN_BRANCH, OTHER_BRANCH, None])
def test_admin_and_auditor_need_no_branch_in_their_token(role: Role, branch: str | None) -> None:
    assert authorize(actor(role, branches=()), Op.AUDIT_READ, branch).allowed


@pytest.mark.parametrize("role", sorted(SCOPED_STAFF))
def test_a_star_scope_covers_every_branch(role: Role) -> None:
    op = next(op for op in Operation if role in GRANTS[op])
    star = actor(role, branches=(ALL_BRANCHES,))
    for branch in (OWN_BRANCH, OTHER_BRANCH, "GZ03", None):
        assert authorize(star, op, branch, own()).allowed
    assert not authorize(actor(role), op, OTHER_BRANCH, own()).allowed
    assert not authorize(actor(role), op, None, own()).allowed


@pytest.mark.parametrize("op", sorted(FOUR_EYES))
@pytest.mark.parametrize("role", [AP, AD])
def test_nobody_decides_their_own_request(op: Operation, role: Role) -> None:
    decider = actor(role)
    mine = Subject(student_number=OWN_NUMBER, requested_by=ACTOR_ID)
    verdict = authorize(decider, op, OWN_BRANCH, mine)
    assert (verdict.allowed, verdict.reason) == (False, "self_approval")
    theirs = Subject(student_number=OWN_NUMBER, requested_by="someone-else")
    assert authorize(decider, op, OWN_BRANCH, theirs).allowed
    with pytest.raises(AccessDenied) as raised:
        require(decider, op, OWN_BRANCH, mine)
    assert raised.value.reason == "self_approval"
    assert "four-eyes" in raised.value.message(Locale.EN)
    assert "双人审核" in raised.value.message(Locale.ZH_CN)


def test_four_eyes_does_not_block_other_operations_on_ones_own_request() -> None:
    officer = actor(EO)
    mine = Subject(student_number=OWN_NUMBER, requested_by=ACTOR_ID)
    assert authorize(officer, Op.CHANGE_READ, OWN_BRANCH, mine).allowed


def test_a_refusal_from_one_role_does_not_hide_the_grant_of_another() -> None:
    both = actor(FO, EO)
    assert authorize(both, Op.REGISTRATION_REVIEW, OWN_BRANCH).allowed


def test_out_of_scope_is_reported_before_not_permitted() -> None:
    verdict = authorize(actor(FO, AP), Op.REGISTRATION_WITHDRAW, OTHER_BRANCH)
    assert (verdict.allowed, verdict.reason) == (False, "branch_out_of_scope")


def test_an_actor_without_roles_may_do_nothing() -> None:
    verdict = authorize(Actor(id=ACTOR_ID, roles=set()), Op.FEEDBACK_SUBMIT, OWN_BRANCH)
    assert (verdict.allowed, verdict.reason) == (False, "role_not_permitted")


# -- require: the refusal a caller sees ---------------------------------------------------

REFUSALS = [
    pytest.param(actor(FO), Op.STATUS_CHANGE, OWN_BRANCH, own(), "role_not_permitted", id="role"),
    pytest.param(
        actor(EO), Op.STATUS_CHANGE, OTHER_BRANCH, own(), "branch_out_of_scope", id="scope"
    ),
    pytest.param(
        actor(ST), Op.DOSSIER_READ, OWN_BRANCH, own(OTHER_NUMBER), "not_own_record", id="own"
    ),
    pytest.param(
        actor(AP),
        Op.CHANGE_REVIEW,
        OWN_BRANCH,
        Subject(student_number=OWN_NUMBER, requested_by=ACTOR_ID),
        "self_approval",
        id="self",
    ),
]


@pytest.mark.parametrize(("who", "op", "branch", "subject", "reason"), REFUSALS)
def test_require_raises_access_denied_without_personal_data(
    who: Actor, op: Operation, branch: str, subject: Subject, reason: str
) -> None:
    with pytest.raises(AccessDenied) as raised:
        require(who, op, branch, subject)
    error = raised.value
    assert error.code == "access_denied"
    assert error.reason == reason
    assert error.operation == op.value
    for locale in Locale:
        message = error.message(locale)
        assert message
        assert "{" not in message
        for secret in (ACTOR_ID, OWN_NUMBER, OTHER_NUMBER):
            assert secret not in message
    assert ACTOR_ID not in str(error)
    assert OWN_NUMBER not in str(error)


def test_require_is_silent_when_allowed() -> None:
    require(actor(EO), Op.STATUS_CHANGE, OWN_BRANCH, own())


# -- properties over random actors ---------------------------------------------------------

BRANCHES = [OWN_BRANCH, OTHER_BRANCH, "GZ03"]
actors = st.builds(
    Actor,
    id=st.sampled_from([ACTOR_ID, "someone-else"]),
    roles=st.frozensets(st.sampled_from(Role)),
    branches=st.frozensets(st.sampled_from([*BRANCHES, ALL_BRANCHES])),
    student_number=st.sampled_from([None, OWN_NUMBER, OTHER_NUMBER]),
)
subjects = st.builds(
    Subject,
    student_number=st.sampled_from([None, OWN_NUMBER, OTHER_NUMBER]),
    requested_by=st.sampled_from([None, ACTOR_ID, "someone-else"]),
)
branches = st.sampled_from([*BRANCHES, None])


def _alone(who: Actor, role: Role) -> Actor:
    return Actor(id=who.id, roles={role}, branches=who.branches, student_number=who.student_number)


@settings(max_examples=400, deadline=None)
@given(who=actors, op=st.sampled_from(Operation), branch=branches, subject=subjects)
def test_allowed_iff_one_role_alone_allows(
    who: Actor, op: Operation, branch: str | None, subject: Subject
) -> None:
    verdict: Verdict = authorize(who, op, branch, subject)
    alone = [authorize(_alone(who, role), op, branch, subject).allowed for role in who.roles]
    assert verdict.allowed is any(alone)
    if not verdict.allowed:
        assert verdict.reason is not None


@settings(max_examples=400, deadline=None)
@given(
    roles=st.frozensets(st.sampled_from(sorted(SCOPED_STAFF)), min_size=1),
    scope=st.frozensets(st.sampled_from(BRANCHES)),
    op=st.sampled_from(Operation),
    branch=branches,
    subject=subjects,
)
def test_scoped_staff_never_act_outside_their_branches(
    roles: frozenset[Role],
    scope: frozenset[str],
    op: Operation,
    branch: str | None,
    subject: Subject,
) -> None:
    who = Actor(id=ACTOR_ID, roles=roles, branches=scope)
    verdict = authorize(who, op, branch, subject)
    if branch not in scope:
        assert not verdict.allowed
    else:
        assert verdict.allowed is (
            any(role in GRANTS[op] for role in roles)
            and not (op in FOUR_EYES and subject.requested_by == ACTOR_ID)
        )
