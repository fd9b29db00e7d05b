"""Sealed boxes for headquarters: what a branch stores, only headquarters can open.

A branch edge (`dossier.intake.edge`) seals each registration it accepts to
headquarters' X25519 public key before it writes it to the branch's
JetStream store: an ephemeral X25519 key agrees a secret with that public
key (ECDH), HKDF-SHA256 turns it into a one-time AES-256-GCM key, and the
envelope's clear header is the associated data, so it cannot be altered
without the box failing to open. The branch keeps no key that opens its own
boxes; headquarters holds the private key (`KeyRing`, several during a
rotation, chosen by key id).

Keys are 32 raw bytes in base64, like the actor-token keys.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Mapping

from attrs import frozen
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

INFO = b"dossier edge seal v1"
NONCE_BYTES = 12


class SealRefused(Exception):
    """The box does not open: another recipient's, unknown key id, or altered bytes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise SealRefused(f"{what}_malformed") from None


def generate_private_key() -> str:
    """A new X25519 key for headquarters' inbox, as base64 of its 32 raw bytes."""
    return _b64(X25519PrivateKey.generate().private_bytes_raw())


def private_key_from(text: str) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(base64.b64decode(text.strip(), validate=True))


def public_key_from(text: str) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_text(private: X25519PrivateKey) -> str:
    return _b64(_raw(private.public_key()))


def key_id(public: X25519PublicKey) -> str:
    """A short, stable name of a recipient key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


@frozen
class Sealed:
    """One box: the recipient's key id, the ephemeral public key, the nonce, the ciphertext."""

    kid: str
    epk: str
    nonce: str
    ciphertext: str


def _key(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=INFO).derive(
        shared
    )


def seal(recipient: X25519PublicKey, plaintext: bytes, associated: bytes) -> Sealed:
    ephemeral = X25519PrivateKey.generate()
    epk = _raw(ephemeral.public_key())
    key = _key(ephemeral.exchange(recipient), epk, _raw(recipient))
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, associated)
    return Sealed(key_id(recipient), _b64(epk), _b64(nonce), _b64(ciphertext))


class KeyRing:
    """Headquarters' private keys by key id: the current one and any still being rotated out."""

    def __init__(self, keys: Iterable[X25519PrivateKey]) -> None:
        self._keys: Mapping[str, X25519PrivateKey] = {key_id(k.public_key()): k for k in keys}
        if not self._keys:
            raise ValueError("a key ring needs at least one key")

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def open(self, sealed: Sealed, associated: bytes) -> bytes:
        private = self._keys.get(sealed.kid)
        if private is None:
            raise SealRefused("unknown_key")
        epk = _unb64(sealed.epk, "epk")
        nonce = _unb64(sealed.nonce, "nonce")
        ciphertext = _unb64(sealed.ciphertext, "ciphertext")
        if len(epk) != 32 or len(nonce) != NONCE_BYTES:
            raise SealRefused("malformed")
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(epk))
            key = _key(shared, epk, _raw(private.public_key()))
            return AESGCM(key).decrypt(nonce, ciphertext, associated)
        except (InvalidTag, ValueError):
            raise SealRefused("does_not_open") from None
