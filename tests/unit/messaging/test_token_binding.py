"""Tokens bound to their presenter (持有者绑定): good only with a proof by the holder's key, for
this request, now, answered on the holder's own NATS user's inbox."""

from __future__ import annotations

import time

import pytest

from dossier.core.policy import Actor, Role
from dossier.messaging.tokens import (
    PROOF_WINDOW_S,
    Holder,
    Presented,
    TokenIssuer,
    TokenRejected,
    TokenVerifier,
    generate_private_key,
    private_key_from,
)

PRIVATE = private_key_from(generate_private_key())
ISSUER = TokenIssuer(PRIVATE)
VERIFIER = TokenVerifier(PRIVATE.public_key())
OFFICER = Actor(id="officer-1", roles=frozenset({Role.ENROLMENT_OFFICER}), branches=frozenset())
GATEWAY = Holder("gateway")
SUBJECT = "dossier.approvals.destruction.submit"
BODY = b'{"student_number": "SH01-2026-00001"}'


def _presented(token: str, **changes: object) -> Presented:
    fields: dict[str, object] = {
        "subject": SUBJECT,
        "token": token,
        "body": BODY,
        "idempotency_key": "k" * 32,
        "reply": "_INBOX_gateway.abc.1",
    }
    fields.update(changes)
    return Presented(**fields)  # type: ignore[arg-type]


def _signed(token: str, holder: Holder = GATEWAY, now: float | None = None) -> Presented:
    unsigned = _presented(token)
    return _presented(token, proof=holder.prove(unsigned, now=now))


def test_the_holder_s_own_request_is_accepted() -> None:
    token = ISSUER.issue(OFFICER, holder=GATEWAY)
    assert VERIFIER.verify(token, _signed(token)) == OFFICER


def test_an_unbound_token_needs_no_proof() -> None:
    token = ISSUER.issue(OFFICER)
    assert VERIFIER.verify(token, _presented(token)) == OFFICER


@pytest.mark.parametrize(
    "tamper",
    [
        {"proof": None},  # the token alone, copied from a header
        {"body": b'{"student_number": "SH01-2026-00002"}'},  # the proof on another body
        {"subject": "dossier.approvals.destruction.review"},  # to another endpoint
        {"idempotency_key": "x" * 32},  # as another attempt
        {"reply": "_INBOX_staff.abc.1"},  # from another NATS user's connection
        {"reply": None},
        {"proof": "garbage"},
        {"proof": "123.!!!"},
    ],
)
def test_a_copied_token_is_refused_elsewhere(tamper: dict[str, object]) -> None:
    token = ISSUER.issue(OFFICER, holder=GATEWAY)
    signed = _signed(token)
    fields = {
        "subject": signed.subject,
        "token": signed.token,
        "body": signed.body,
        "idempotency_key": signed.idempotency_key,
        "reply": signed.reply,
        "proof": signed.proof,
        **tamper,
    }
    with pytest.raises(TokenRejected) as refused:
        VERIFIER.verify(token, Presented(**fields))  # type: ignore[arg-type]
    assert refused.value.code == "token_invalid"


def test_another_holder_s_proof_is_refused() -> None:
    token = ISSUER.issue(OFFICER, holder=GATEWAY)
    with pytest.raises(TokenRejected):
        VERIFIER.verify(token, _signed(token, holder=Holder("gateway")))


@pytest.mark.parametrize("offset", [-PROOF_WINDOW_S - 5, PROOF_WINDOW_S + 5])
def test_a_proof_out_of_its_time_window_is_refused(offset: float) -> None:
    token = ISSUER.issue(OFFICER, holder=GATEWAY)
    with pytest.raises(TokenRejected):
        VERIFIER.verify(token, _signed(token, now=time.time() + offset))


def test_a_bound_token_without_anything_presented_is_refused() -> None:
    with pytest.raises(TokenRejected):
        VERIFIER.verify(ISSUER.issue(OFFICER, holder=GATEWAY))
