"""保密承诺: a staff member who has not acknowledged the branch's current confidentiality policy
carries a token limited to masked data (``lim``); the services mask everything for them and
refuse what cannot be masked (documents, the export), saying why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from dossier.core.branch import Branch, load_branches
from dossier.core.errors import AccessDenied, ValidationError
from dossier.core.hookspecs import FieldKind
from dossier.core.plugins import PluginHost
from dossier.core.policy import GRANTS, Actor, Operation, Role, authorize, require
from dossier.core.views import Masker
from dossier.messaging.tokens import (
    MASKED_ONLY,
    TokenIssuer,
    TokenRejected,
    TokenVerifier,
    generate_private_key,
    private_key_from,
)
from dossier.storage.confidentiality import Acknowledgement, Policy, is_due

PRIVATE = private_key_from(generate_private_key())
ISSUER = TokenIssuer(PRIVATE)
VERIFIER = TokenVerifier(PRIVATE.public_key())
BRANCH = Branch(code="SH01", name="Shanghai")
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _officer(masked_only: bool = False) -> Actor:
    return Actor(
        id="web:officer",
        roles=frozenset({Role.ENROLMENT_OFFICER}),
        branches=frozenset({"SH01"}),
        masked_only=masked_only,
    )


def test_a_token_with_the_claim_yields_an_actor_limited_to_masked_data() -> None:
    token = ISSUER.issue(_officer(masked_only=True))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["lim"] == MASKED_ONLY == "policy"
    actor = VERIFIER.verify(token)
    assert actor.masked_only is True
    assert actor == _officer(masked_only=True)


def test_a_token_without_the_claim_is_unchanged() -> None:
    token = ISSUER.issue(_officer())
    assert "lim" not in jwt.decode(token, options={"verify_signature": False})
    assert VERIFIER.verify(token).masked_only is False


def test_an_unknown_limit_is_refused() -> None:
    now = datetime.now(UTC)
    claims = {
        "sub": "x",
        "roles": ["admin"],
        "branches": ["*"],
        "aud": "dossier",
        "iss": "dossier",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "lim": "nothing",
    }
    with pytest.raises(TokenRejected):
        VERIFIER.verify(jwt.encode(claims, PRIVATE, algorithm="EdDSA"))


def test_a_masked_only_officer_sees_masked_values() -> None:
    rules = PluginHost().rules_for(BRANCH)
    full, masked = Masker(rules, _officer()), Masker(rules, _officer(masked_only=True))
    assert full(FieldKind.PHONE, "13800138000") == "13800138000"
    assert masked(FieldKind.PHONE, "13800138000") == "138****8000"
    assert masked(FieldKind.PERSON_NAME, "张三丰") != "张三丰"
    assert masked(FieldKind.ID_DOCUMENT, "110101199003074514") != "110101199003074514"


def test_what_cannot_be_masked_is_refused_with_the_reason() -> None:
    actor = _officer(masked_only=True)
    for operation in (Operation.DOCUMENT_READ, Operation.DOSSIER_EXPORT):
        verdict = authorize(actor, operation, "SH01")
        assert (verdict.allowed, verdict.reason) == (False, "policy_not_acknowledged")
        assert authorize(_officer(), operation, "SH01").allowed
    assert authorize(actor, Operation.DOSSIER_READ, "SH01").allowed
    assert authorize(actor, Operation.CONFIDENTIALITY_ACKNOWLEDGE, "SH01").allowed
    # another branch stays out of reach, whatever the limit
    assert authorize(actor, Operation.DOCUMENT_READ, "BJ01").reason == "branch_out_of_scope"
    with pytest.raises(AccessDenied) as raised:
        require(actor, Operation.DOCUMENT_READ, "SH01")
    assert raised.value.reason == "policy_not_acknowledged"


def test_grants_of_confidentiality_and_training() -> None:
    staff = set(Role) - {Role.STUDENT}
    assert GRANTS[Operation.CONFIDENTIALITY_READ] == staff
    assert GRANTS[Operation.CONFIDENTIALITY_ACKNOWLEDGE] == staff
    assert GRANTS[Operation.CONFIDENTIALITY_PUBLISH] == {Role.APPROVER, Role.ADMIN}
    assert GRANTS[Operation.TRAINING_RECORD] == {Role.APPROVER, Role.ADMIN}
    assert GRANTS[Operation.TRAINING_STATUS] == {Role.APPROVER, Role.AUDITOR, Role.ADMIN}


def _policy(version: int) -> Policy:
    return Policy(
        branch="SH01",
        version=version,
        text_zh="保密",
        text_en="confidential",
        published_at=NOW - timedelta(days=400),
        published_by="web:manager",
    )


def _ack(version: int, days_ago: int) -> Acknowledgement:
    return Acknowledgement(
        actor="web:officer", branch="SH01", version=version, at=NOW - timedelta(days=days_ago)
    )


def test_who_is_due() -> None:
    assert not is_due(None, None, NOW, 365)  # nothing published: nothing to acknowledge
    assert is_due(_policy(1), None, NOW, 365)
    assert not is_due(_policy(1), _ack(1, 10), NOW, 365)
    assert is_due(_policy(2), _ack(1, 10), NOW, 365)  # a new version
    assert is_due(_policy(1), _ack(1, 365), NOW, 365)  # the period has passed
    assert not is_due(_policy(1), _ack(1, 20), NOW, 30)


def test_the_renewal_period_is_configured_per_branch() -> None:
    branches = load_branches({"SH01": {"name": "Shanghai", "policy_renewal_days": 180}})
    assert branches["SH01"].policy_renewal_days == 180
    assert load_branches({"BJ01": {"name": "Beijing"}})["BJ01"].policy_renewal_days == 365
    with pytest.raises(ValidationError):
        load_branches({"SH01": {"name": "Shanghai", "policy_renewal_days": 0}})
