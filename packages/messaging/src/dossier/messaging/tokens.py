"""Actor tokens: who is calling, signed by the issuer, verified by every service.

A token is a JWT signed with Ed25519 (EdDSA): the issuer (the `dossier token
issue` command, the gateway) holds the private key; services hold only the
public key, so a compromised service cannot mint tokens. Claims: ``sub``
(actor id), ``roles``, ``branches``, ``sn`` (student number, students only),
``aud``, ``iss``, ``iat``, ``exp``, ``jti``; and ``lim`` (`MASKED_ONLY`) on the
token of a staff member who has not acknowledged their branch's current
confidentiality policy (保密承诺): the services show them masked data only.

A token may be bound to its presenter (持有者绑定; like OAuth's DPoP): the
issuer puts the presenter's `Holder` key in ``cnf`` and its NATS user in
``via``. Such a token is accepted only with a proof (header ``Dossier-Proof``)
signed by that key over this request — subject, time, the token, the body and
its idempotency key — and only when the answer goes to that user's own inbox
(``_INBOX_<via>.``, which no other user may read). The holder key never leaves
the presenter's memory, so a token copied from a request is worth nothing on
any other connection, and cannot be put on another body or key. The gateway
binds every token it mints.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from attrs import field, frozen
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from dossier.core.errors import DossierError, declare_code
from dossier.core.policy import Actor, Role

AUDIENCE = "dossier"
ISSUER = "dossier"
ALGORITHM = "EdDSA"


class TokenRejected(DossierError):
    """The actor token is missing, malformed, forged, expired or meant for someone else."""

    code = "token_invalid"
    status = 401

    def __init__(self, code: str) -> None:
        """``code`` is ``token_missing``, ``token_invalid`` or ``token_expired``."""
        self.code = self.rule = code
        super().__init__()


MASKED_ONLY = "policy"
"""The ``lim`` claim of a token limited to masked personal data (`Actor.masked_only`)."""

PROOF_WINDOW_S = 120.0
"""How far a proof's time may be from the service's clock (either way)."""


def _sha(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def _proof_message(at_ms: int, presented: Presented) -> bytes:
    return "\n".join(
        (
            presented.subject,
            str(at_ms),
            _sha(presented.token),
            _sha(presented.body),
            presented.idempotency_key or "",
        )
    ).encode()


@frozen
class Presented:
    """What a request presents with its token: where it went, what it carries, and its proof."""

    subject: str
    token: str
    body: bytes
    idempotency_key: str | None = None
    reply: str | None = None
    proof: str | None = None


@frozen
class Holder:
    """A presenter's proof key (持有者密钥): made in memory when a process starts, never
    stored or sent; tokens issued for it are good only in requests it signs."""

    user: str
    """The NATS user this process signs in as."""
    key: Ed25519PrivateKey = field(factory=Ed25519PrivateKey.generate, repr=False)

    @property
    def public_text(self) -> str:
        return public_key_text(self.key)

    def prove(self, presented: Presented, now: float | None = None) -> str:
        at_ms = int((time.time() if now is None else now) * 1000)
        signature = self.key.sign(_proof_message(at_ms, presented))
        return f"{at_ms}.{base64.urlsafe_b64encode(signature).decode()}"


def _proven(claims: Mapping[str, Any], presented: Presented | None) -> bool:
    """A bound token's proof holds: right key, this request, now, answered to its user."""
    confirmation, via = claims.get("cnf"), claims.get("via")
    if not isinstance(confirmation, str) or not isinstance(via, str) or presented is None:
        return False
    if not (presented.reply or "").startswith(f"_INBOX_{via}."):
        return False
    at_text, _, signature_text = (presented.proof or "").partition(".")
    try:
        at_ms = int(at_text)
        signature = base64.urlsafe_b64decode(signature_text)
        if abs(time.time() - at_ms / 1000) > PROOF_WINDOW_S:
            return False
        public_key_from(confirmation).verify(signature, _proof_message(at_ms, presented))
    except (ValueError, InvalidSignature):
        return False
    return True


for _code in ("token_missing", "token_expired"):
    declare_code(_code, TokenRejected.status)


def generate_private_key() -> str:
    """A new Ed25519 signing key, as base64 of its 32 raw bytes (for configuration files)."""
    key = Ed25519PrivateKey.generate()
    return base64.b64encode(key.private_bytes_raw()).decode()


def private_key_from(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def public_key_from(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def public_key_text(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


@frozen
class TokenIssuer:
    private_key: Ed25519PrivateKey
    audience: str = AUDIENCE

    def issue(
        self,
        actor: Actor,
        ttl: timedelta = timedelta(minutes=15),
        now: datetime | None = None,
        holder: Holder | None = None,
    ) -> str:
        """A token for ``actor``; bound to ``holder`` (its key and NATS user) when given."""
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": actor.id,
            "roles": sorted(role.value for role in actor.roles),
            "branches": sorted(actor.branches),
            "aud": self.audience,
            "iss": ISSUER,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
            "jti": str(uuid.uuid4()),
        }
        if actor.student_number is not None:
            claims["sn"] = actor.student_number
        if actor.masked_only:
            claims["lim"] = MASKED_ONLY
        if holder is not None:
            claims["cnf"], claims["via"] = holder.public_text, holder.user
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM)


@frozen
class TokenVerifier:
    """Verifies with ``public_key``; while a signing key is being rotated, tokens signed by a
    ``retired`` key are still accepted (until they expire or the key is dropped)."""

    public_key: Ed25519PublicKey
    audience: str = AUDIENCE
    leeway: timedelta = timedelta(seconds=30)
    retired: tuple[Ed25519PublicKey, ...] = ()

    def verify(self, token: str | None, presented: Presented | None = None) -> Actor:
        """The token's actor; a bound token also needs ``presented`` to carry its proof."""
        if not token:
            raise TokenRejected("token_missing")
        for key in (self.public_key, *self.retired):
            try:
                claims: Mapping[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    audience=self.audience,
                    issuer=ISSUER,
                    leeway=self.leeway,
                    options={"require": ["sub", "exp", "iat", "aud", "iss"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise TokenRejected("token_expired") from None
            except jwt.PyJWTError:
                raise TokenRejected("token_invalid") from None
            if "cnf" in claims and not _proven(claims, presented):
                raise TokenRejected("token_invalid")
            return _actor(claims)
        raise TokenRejected("token_invalid")


def _actor(claims: Mapping[str, Any]) -> Actor:
    roles, branches, number = claims.get("roles"), claims.get("branches", []), claims.get("sn")
    limit = claims.get("lim")
    valid_roles = {role.value for role in Role}
    if (
        not isinstance(claims["sub"], str)
        or not isinstance(roles, list)
        or not roles
        or not all(isinstance(r, str) and r in valid_roles for r in roles)
        or not isinstance(branches, list)
        or not all(isinstance(b, str) for b in branches)
        or not (number is None or isinstance(number, str))
        or limit not in (None, MASKED_ONLY)
    ):
        raise TokenRejected("token_invalid")
    return Actor(
        id=claims["sub"],
        roles=frozenset(Role(r) for r in roles),
        branches=frozenset(branches),
        student_number=number,
        masked_only=limit == MASKED_ONLY,
    )
