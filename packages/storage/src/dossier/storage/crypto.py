"""The few symmetric primitives storage uses: AES-256-GCM, HKDF-SHA256 and HMAC-SHA256.

Every other module (keys, blind indexes, the audit chain) goes through these
functions, so the algorithm choices live in one place:

- `seal` / `unseal`: AES-256-GCM with a fresh random 96-bit nonce per value and
  associated data (AAD) that binds the ciphertext to where it is stored (see
  `aad`), so a blob copied into another row or column fails authentication.
- `derive_key`: HKDF-SHA256 sub-keys, one per purpose, so one secret never
  serves two jobs (an index key is not a wrapping key is not an audit key).
- `keyed_hash`: HMAC-SHA256, hex, for blind indexes and audit value hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dossier.storage.errors import IntegrityFailure

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_V1 = b"\x01"
"""First byte of every sealed value: 0x01 ‖ nonce (12) ‖ ciphertext ‖ tag (16)."""

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot occur in table, column or id names


def random_key() -> bytes:
    """A fresh 256-bit key from the operating system's CSPRNG."""
    return os.urandom(KEY_BYTES)


def aad(table: str, column: str, row_id: str) -> bytes:
    """Associated data binding a sealed value to its table, column and row."""
    return _SEPARATOR.join((table, column, row_id)).encode("utf-8")


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """Encrypt ``plaintext`` with AES-256-GCM under ``key``, bound to ``associated``."""
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def unseal(key: bytes, sealed: bytes, associated: bytes, where: str) -> bytes:
    """Decrypt a value made by `seal`; `IntegrityFailure` (naming ``where``) if it fails."""
    _check_key(key)
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != FORMAT_V1:
        raise IntegrityFailure(where)
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, associated)
    except InvalidTag:
        raise IntegrityFailure(where) from None


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit sub-key of ``secret`` for one ``purpose`` (HKDF-SHA256, info = purpose)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode())
    return hkdf.derive(secret)


def keyed_hash(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under ``key``, as 64 hex digits."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256-GCM needs a 32-byte key")
