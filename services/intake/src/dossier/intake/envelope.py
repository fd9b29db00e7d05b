"""What a branch edge stores for each registration it accepts, and how headquarters opens it.

One JetStream message per accepted submission, a JSON object::

    {"header":    {"version": 1, "registration_id": "…", "branch": "SH01", "edge": "sh01",
                   "actor": {"id": "desk-1", "roles": ["front_desk"], "branches": ["SH01"],
                             "student_number": null},
                   "idempotency_key": "…", "submitted_at": "2026-…+00:00",
                   "fingerprint": "…"},
     "sealed":    {"kid": "…", "epk": "…", "nonce": "…", "ciphertext": "…"},
     "signature": "…"}

The header is in the clear and names no student: who accepted it, under which
idempotency key, when, and the registration id the branch handed out. The
form itself — names, phones, ID numbers, attachments — is the ``sealed`` box,
opened only with headquarters' X25519 key (`dossier.intake.sealing`); the
header is the box's associated data. ``signature`` is the branch edge's
Ed25519 signature over header and box, so headquarters knows the branch's
edge (which verified the actor token) wrote it, and no other client of the
branch's NATS server could.

``fingerprint`` lets the edge tell a retry (same key, same form) from a key
reused for another form without opening anything: SHA-256 of the message id,
the verb and the form, as the intake's idempotency ledger keeps it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from attrs import frozen
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from dossier.core import wire
from dossier.core.commands import SubmitRegistration
from dossier.core.errors import DossierError
from dossier.core.policy import Actor, Role
from dossier.intake.sealing import KeyRing, Sealed, SealRefused, seal

VERSION = 1
SUBJECT_ROOT = "dossier.edge"


def edge_subject(branch: str) -> str:
    """Where a branch's edge stores its accepted registrations."""
    return f"{SUBJECT_ROOT}.{branch}.registration"


def edge_stream(branch: str) -> str:
    """The branch's own JetStream stream (in the branch's JetStream domain)."""
    return f"DOSSIER_EDGE_{branch}"


def message_id(actor_id: str, idempotency_key: str) -> str:
    """``Nats-Msg-Id`` of a submission: the idempotency key scoped to its actor, as the
    intake's idempotency ledger scopes it (two desks may pick the same key)."""
    return hashlib.sha256(f"{actor_id}\n{idempotency_key}".encode()).hexdigest()


def fingerprint(msg_id: str, command: SubmitRegistration) -> str:
    digest = hashlib.sha256(f"{msg_id}\n{command.type}\n".encode())
    digest.update(wire.dumps(command))
    return digest.hexdigest()


class EnvelopeRefused(Exception):
    """An envelope headquarters will not apply: malformed, unsigned, forged or unopenable.

    ``reason`` names what failed; it never quotes the envelope.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@frozen(kw_only=True)
class EnvelopeActor:
    """The actor the edge verified: id, roles, branches (never the token itself)."""

    id: str
    roles: tuple[str, ...]
    branches: tuple[str, ...]
    student_number: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> EnvelopeActor:
        return cls(
            id=actor.id,
            roles=tuple(sorted(role.value for role in actor.roles)),
            branches=tuple(sorted(actor.branches)),
            student_number=actor.student_number,
        )

    def actor(self) -> Actor:
        try:
            roles = frozenset(Role(role) for role in self.roles)
        except ValueError:
            raise EnvelopeRefused("unknown_role") from None
        if not self.id or not roles:
            raise EnvelopeRefused("actor_incomplete")
        return Actor(
            id=self.id,
            roles=roles,
            branches=frozenset(self.branches),
            student_number=self.student_number,
        )


@frozen(kw_only=True)
class EnvelopeHeader:
    version: int
    registration_id: str
    branch: str
    edge: str
    actor: EnvelopeActor
    idempotency_key: str
    submitted_at: datetime
    fingerprint: str


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _signed_part(header: Any, sealed: Any) -> bytes:
    return b"dossier edge envelope v1\n" + _canonical({"header": header, "sealed": sealed})


def seal_envelope(
    header: EnvelopeHeader,
    command: SubmitRegistration,
    recipient: X25519PublicKey,
    signer: Ed25519PrivateKey,
) -> bytes:
    """The message body the edge stores: the form sealed to ``recipient``, signed by the edge."""
    clear = wire.unstructure(header)
    sealed = wire.unstructure(seal(recipient, wire.dumps(command), _canonical(clear)))
    signature = signer.sign(_signed_part(clear, sealed))
    return orjson.dumps(
        {"header": clear, "sealed": sealed, "signature": base64.b64encode(signature).decode()}
    )


def _parts(raw: bytes) -> tuple[Any, Any, bytes, EnvelopeHeader]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise EnvelopeRefused("malformed") from None
    if not isinstance(data, dict) or set(data) != {"header", "sealed", "signature"}:
        raise EnvelopeRefused("malformed")
    try:
        header = wire.structure(data["header"], EnvelopeHeader)
        signature = base64.b64decode(str(data["signature"]), validate=True)
    except (DossierError, ValueError):
        raise EnvelopeRefused("malformed") from None
    if base64.b64encode(signature).decode() != data["signature"]:
        raise EnvelopeRefused("malformed")  # one spelling only: no equivalent variants
    if header.version != VERSION:
        raise EnvelopeRefused("unknown_version")
    return data["header"], data["sealed"], signature, header


def read_header(raw: bytes) -> EnvelopeHeader:
    """The clear header, unverified: for the edge reading back what it stored itself (its
    signature is headquarters' concern, and survives a rotation of the edge's key)."""
    return _parts(raw)[3]


def _verify(signer: Ed25519PublicKey, signature: bytes, data: bytes) -> None:
    try:
        signer.verify(signature, data)
    except InvalidSignature:
        raise EnvelopeRefused("bad_signature") from None


def open_envelope(
    raw: bytes, signers: Mapping[str, Ed25519PublicKey], keys: KeyRing
) -> tuple[EnvelopeHeader, SubmitRegistration]:
    """Check the branch's signature, open the box, and return header and form.

    ``signers`` maps branch codes to their edge's public key: an envelope of a
    branch without one, with a signature that does not verify, a box that does
    not open, or a form of another branch than its header is refused.
    """
    clear, sealed_part, signature, header = _parts(raw)
    signer = signers.get(header.branch)
    if signer is None:
        raise EnvelopeRefused("unknown_branch")
    _verify(signer, signature, _signed_part(clear, sealed_part))
    try:
        sealed = wire.structure(sealed_part, Sealed)
    except DossierError:
        raise EnvelopeRefused("malformed") from None
    try:
        plaintext = keys.open(sealed, _canonical(clear))
    except SealRefused as refused:
        raise EnvelopeRefused(refused.reason) from None
    try:
        command = wire.loads(plaintext, SubmitRegistration)
    except DossierError:
        raise EnvelopeRefused("malformed_form") from None
    if command.branch != header.branch:
        raise EnvelopeRefused("branch_mismatch")
    return header, command
