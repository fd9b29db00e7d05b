"""Actor tokens: who is calling, signed by the issuer, verified by every service.

A token is a JWT signed with Ed25519 (EdDSA): the issuer (the `dossier token
issue` command, the gateway) holds the private key; services hold only the
public key, so a compromised service cannot mint tokens. Claims: ``sub``
(actor id), ``roles``, ``branches``, ``sn`` (student number, students only),
``aud``, ``iss``, ``iat``, ``exp``, ``jti``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from attrs import frozen
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
        self, actor: Actor, ttl: timedelta = timedelta(minutes=15), now: datetime | None = None
    ) -> str:
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
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM)


@frozen
class TokenVerifier:
    """Verifies with ``public_key``; while a signing key is being rotated, tokens signed by a
    ``retired`` key are still accepted (until they expire or the key is dropped)."""

    public_key: Ed25519PublicKey
    audience: str = AUDIENCE
    leeway: timedelta = timedelta(seconds=30)
    retired: tuple[Ed25519PublicKey, ...] = ()

    def verify(self, token: str | None) -> Actor:
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
            return _actor(claims)
        raise TokenRejected("token_invalid")


def _actor(claims: Mapping[str, Any]) -> Actor:
    roles, branches, number = claims.get("roles"), claims.get("branches", []), claims.get("sn")
    valid_roles = {role.value for role in Role}
    if (
        not isinstance(claims["sub"], str)
        or not isinstance(roles, list)
        or not roles
        or not all(isinstance(r, str) and r in valid_roles for r in roles)
        or not isinstance(branches, list)
        or not all(isinstance(b, str) for b in branches)
        or not (number is None or isinstance(number, str))
    ):
        raise TokenRejected("token_invalid")
    return Actor(
        id=claims["sub"],
        roles=frozenset(Role(r) for r in roles),
        branches=frozenset(branches),
        student_number=number,
    )
