"""Student documents, encrypted before they reach the object store.

Each document is encrypted with AES-256-GCM under the student's data key, so
destroying that key makes every copy unreadable (crypto-shredding), and is
addressed by the SHA-256 of its plaintext: ``students/<student_ref>/<sha256>``.
The stored object is ``b"DSD1" + nonce(12) + ciphertext-and-tag``; the GCM
associated data is the magic plus the object key, so a blob copied under
another key (another document, another student) fails to decrypt.

Putting the same content again is idempotent for the caller (same object
key, same sha256) but writes a new version with a fresh nonce; ``delete``
and ``delete_student`` remove every version.

``media_type`` is returned for the caller's record and not stored: the
object store only ever sees ciphertext. Documents are encrypted in memory,
hence ``MAX_DOCUMENT_SIZE``.

Staff training materials (培训材料, `put_material`) belong to no student: they are
sealed the same way under their branch's training key (``data_keys`` purpose
``training``), at ``training/<branch>/<session id>/<document id>``, and no
destruction of a student touches them.
"""

from __future__ import annotations

import hashlib
import os
import re

from attrs import frozen
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dossier.storage.objects.base import IntegrityError, ObjectStore, ObjectStoreError

__all__ = ["MATERIAL_PREFIX", "MAX_DOCUMENT_SIZE", "DocumentStore", "StoredDocument"]

MAGIC = b"DSD1"
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_SIZE = 32
MAX_DOCUMENT_SIZE = 64 * 1024 * 1024
_ATTEMPTS = 5
_STUDENT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MATERIAL_PREFIX = "training/"
"""Where staff training materials are kept: ``training/<branch>/<session id>/<document id>``."""


@frozen
class StoredDocument:
    sha256: str
    size: int
    media_type: str
    object_key: str


def _student_prefix(student_ref: str) -> str:
    if not _STUDENT_REF.fullmatch(student_ref):
        raise ValueError("student_ref must be 1-128 letters, digits, '_' or '-'")
    return f"students/{student_ref}/"


def _object_key(student_ref: str, sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return _student_prefix(student_ref) + sha256


def _material_key(branch: str, training_id: str, document_id: str) -> str:
    for part in (branch, training_id, document_id):
        if not _STUDENT_REF.fullmatch(part):
            raise ValueError("branch and ids must be 1-128 letters, digits, '_' or '-'")
    return f"{MATERIAL_PREFIX}{branch}/{training_id}/{document_id}"


def _cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_SIZE:
        raise ValueError("a document key is 32 bytes (AES-256)")
    return AESGCM(key)


def _aad(object_key: str) -> bytes:
    return MAGIC + object_key.encode("ascii")


class DocumentStore:
    """Encrypted, content-addressed documents of students (and the staff's training
    materials) in one bucket of an ObjectStore.

    The bucket must exist (``ObjectStore.ensure_bucket``). ``student_ref`` is
    an opaque reference such as a student number, never a name: it is part of
    the object key.
    """

    def __init__(self, store: ObjectStore, bucket: str) -> None:
        self._store = store
        self._bucket = bucket

    def put(
        self, student_ref: str, key: bytes, plaintext: bytes, media_type: str
    ) -> StoredDocument:
        sha256 = hashlib.sha256(plaintext).hexdigest()
        return self._seal(_object_key(student_ref, sha256), key, plaintext, media_type)

    def get(self, student_ref: str, key: bytes, sha256: str) -> bytes:
        """Decrypt and verify; ``IntegrityError`` on a wrong key, tampering or a moved blob."""
        return self._open(_object_key(student_ref, sha256), key, sha256)

    def put_material(
        self,
        branch: str,
        training_id: str,
        document_id: str,
        key: bytes,
        plaintext: bytes,
        media_type: str,
    ) -> StoredDocument:
        """A training material of ``branch``, sealed under ``key`` (the branch's training key)
        at ``training/<branch>/<training_id>/<document_id>``."""
        return self._seal(
            _material_key(branch, training_id, document_id), key, plaintext, media_type
        )

    def get_material(
        self, branch: str, training_id: str, document_id: str, key: bytes, sha256: str
    ) -> bytes:
        """A training material, decrypted and checked against ``sha256`` (as `get`)."""
        return self._open(_material_key(branch, training_id, document_id), key, sha256)

    def _seal(
        self, object_key: str, key: bytes, plaintext: bytes, media_type: str
    ) -> StoredDocument:
        if len(plaintext) > MAX_DOCUMENT_SIZE:
            raise ValueError(f"documents are limited to {MAX_DOCUMENT_SIZE} bytes")
        sha256 = hashlib.sha256(plaintext).hexdigest()
        nonce = os.urandom(NONCE_SIZE)
        blob = MAGIC + nonce + _cipher(key).encrypt(nonce, plaintext, _aad(object_key))
        self._store.put(self._bucket, object_key, blob, len(blob))
        return StoredDocument(
            sha256=sha256, size=len(plaintext), media_type=media_type, object_key=object_key
        )

    def _open(self, object_key: str, key: bytes, sha256: str) -> bytes:
        cipher = _cipher(key)
        blob = self._store.get(self._bucket, object_key)
        header = len(MAGIC) + NONCE_SIZE
        if len(blob) < header + TAG_SIZE or not blob.startswith(MAGIC):
            raise IntegrityError(sha256, "not_a_document")
        try:
            plaintext = cipher.decrypt(blob[len(MAGIC) : header], blob[header:], _aad(object_key))
        except InvalidTag:
            raise IntegrityError(sha256, "authentication_failed") from None
        if hashlib.sha256(plaintext).hexdigest() != sha256:
            raise IntegrityError(sha256, "hash_mismatch")
        return plaintext

    def delete(self, student_ref: str, sha256: str) -> int:
        """Remove every version of one document; return how many versions went."""
        return self._store.delete_all_versions(self._bucket, _object_key(student_ref, sha256))

    def delete_student(self, student_ref: str) -> int:
        """Remove every version of every document of the student; return how many went."""
        prefix = _student_prefix(student_ref)
        removed = 0
        for _ in range(_ATTEMPTS):
            keys = sorted({info.key for info in self._store.list_versions(self._bucket, prefix)})
            if not keys:
                return removed
            for object_key in keys:
                removed += self._store.delete_all_versions(self._bucket, object_key)
        raise ObjectStoreError("delete_student", "documents_keep_appearing")
