"""`reveal`: out of reach reads as not found whatever the role, so existence cannot be probed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dossier.core.errors import AccessDenied, NotFound
from dossier.core.policy import Actor, Operation, Role, Subject, authorize, reveal, within_reach

BRANCHES = ("SH01", "HK01")
actors = st.builds(
    Actor,
    id=st.just("someone"),
    roles=st.frozensets(st.sampled_from(list(Role)), min_size=1, max_size=3),
    branches=st.frozensets(st.sampled_from(BRANCHES), max_size=2),
    student_number=st.sampled_from([None, "SH01-26-000001-W", "SH01-26-000002-U"]),
)


@given(actors, st.sampled_from(list(Operation)), st.sampled_from(BRANCHES))
def test_an_actor_out_of_reach_learns_only_not_found(
    actor: Actor, operation: Operation, branch: str
) -> None:
    subject = Subject(student_number="SH01-26-000001-W")
    allowed = authorize(actor, operation, branch, subject).allowed
    try:
        reveal(actor, operation, branch, "student", "SH01-26-000001-W", subject)
        outcome = "allowed"
    except NotFound:
        outcome = "not_found"
    except AccessDenied:
        outcome = "denied"
    if allowed:
        assert outcome == "allowed"
    elif not within_reach(actor, branch, subject):
        assert outcome == "not_found"
    else:
        assert outcome in {"not_found", "denied"}


def test_a_clerk_of_another_branch_without_the_role_gets_not_found_not_denied() -> None:
    clerk = Actor(id="hk-clerk", roles={Role.FRONT_DESK}, branches={"HK01"})
    with pytest.raises(NotFound):
        reveal(clerk, Operation.STATUS_CHANGE, "SH01", "student", "SH01-26-000001-W")
    own = Actor(id="sh-clerk", roles={Role.FRONT_DESK}, branches={"SH01"})
    with pytest.raises(AccessDenied):
        reveal(own, Operation.STATUS_CHANGE, "SH01", "student", "SH01-26-000001-W")
