"""Encrypted, content-addressed student documents over both object stores."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dossier.storage.documents import DocumentStore, StoredDocument
from dossier.storage.objects import (
    IntegrityError,
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    S3ObjectStore,
)
from tests.support.s3 import unique_bucket


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    s3_store: S3ObjectStore = request.getfixturevalue("s3_store")
    return s3_store


@pytest.fixture
def bucket(store: ObjectStore) -> str:
    name = unique_bucket("documents")
    store.ensure_bucket(name)
    return name


@pytest.fixture
def documents(store: ObjectStore, bucket: str) -> DocumentStore:
    return DocumentStore(store, bucket)


@pytest.fixture
def key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _raw_versions(store: ObjectStore, bucket: str, prefix: str) -> list[bytes]:
    return [
        store.get(bucket, info.key, info.version_id)
        for info in store.list_versions(bucket, prefix)
        if not info.is_delete_marker
    ]


def test_round_trip(documents: DocumentStore, key: bytes) -> None:
    plaintext = "身份证复印件 scan".encode() + os.urandom(1000)
    stored = documents.put("S-2025-0001", key, plaintext, "image/png")

    sha = hashlib.sha256(plaintext).hexdigest()
    assert stored == StoredDocument(
        sha256=sha,
        size=len(plaintext),
        media_type="image/png",
        object_key=f"students/S-2025-0001/{sha}",
    )
    assert documents.get("S-2025-0001", key, sha) == plaintext


def test_same_content_twice_is_idempotent(
    documents: DocumentStore, store: ObjectStore, bucket: str, key: bytes
) -> None:
    first = documents.put("S-1", key, b"same bytes", "text/plain")
    second = documents.put("S-1", key, b"same bytes", "text/plain")
    assert first == second
    versions = list(store.list_versions(bucket, first.object_key))
    assert len(versions) == 2, "a re-put writes a new version (fresh nonce) under the same key"
    assert documents.get("S-1", key, first.sha256) == b"same bytes"


def test_stored_bytes_never_contain_the_plaintext(
    documents: DocumentStore, store: ObjectStore, bucket: str, key: bytes
) -> None:
    marker = f"PLAINTEXT-MARKER-{uuid.uuid4()}".encode()
    plaintext = b"header " + marker * 50 + b" trailer"
    stored = documents.put("S-7", key, plaintext, "application/pdf")
    documents.put("S-7", key, plaintext, "application/pdf")

    raws = _raw_versions(store, bucket, "students/S-7/")
    assert len(raws) == 2
    for raw in raws:
        assert marker not in raw
        assert marker[:16] not in raw
        assert raw.startswith(b"DSD1")
        assert len(raw) == 4 + 12 + len(plaintext) + 16
    assert raws[0][4:16] != raws[1][4:16], "every version has its own nonce"
    assert documents.get("S-7", key, stored.sha256) == plaintext


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]), id="flip-tag-bit"),
        pytest.param(lambda raw: raw[:20] + bytes([raw[20] ^ 0x80]) + raw[21:], id="flip-body"),
        pytest.param(lambda raw: raw[:5] + bytes([raw[5] ^ 1]) + raw[6:], id="flip-nonce"),
        pytest.param(lambda raw: b"DSD2" + raw[4:], id="wrong-magic"),
        pytest.param(lambda raw: raw[:-16], id="truncated"),
        pytest.param(lambda raw: raw[:10], id="shorter-than-header"),
        pytest.param(lambda raw: b"", id="empty"),
    ],
)
def test_tampered_object_fails_integrity(
    documents: DocumentStore,
    store: ObjectStore,
    bucket: str,
    key: bytes,
    tamper: Callable[[bytes], bytes],
) -> None:
    marker = f"SECRET-{uuid.uuid4()}".encode()
    stored = documents.put("S-9", key, marker, "text/plain")
    raw = store.get(bucket, stored.object_key)
    store.put(bucket, stored.object_key, tamper(raw))

    with pytest.raises(IntegrityError) as caught:
        documents.get("S-9", key, stored.sha256)
    message = str(caught.value)
    assert stored.sha256 in message
    assert marker.decode() not in message
    assert caught.value.code == "integrity_error"


def test_wrong_key_fails_integrity(documents: DocumentStore, key: bytes) -> None:
    stored = documents.put("S-3", key, b"for the right key only", "text/plain")
    with pytest.raises(IntegrityError, match=stored.sha256):
        documents.get("S-3", AESGCM.generate_key(bit_length=256), stored.sha256)


def test_blob_moved_to_another_key_fails(
    documents: DocumentStore, store: ObjectStore, bucket: str, key: bytes
) -> None:
    """The object key is bound as associated data: a copied blob does not decrypt elsewhere."""
    stored = documents.put("S-4", key, b"belongs to S-4", "text/plain")
    raw = store.get(bucket, stored.object_key)

    store.put(bucket, f"students/S-5/{stored.sha256}", raw)
    with pytest.raises(IntegrityError):
        documents.get("S-5", key, stored.sha256)

    other = documents.put("S-4", key, b"another document", "text/plain")
    store.put(bucket, other.object_key, raw)
    with pytest.raises(IntegrityError):
        documents.get("S-4", key, other.sha256)


def test_content_not_matching_its_address_fails(
    documents: DocumentStore, store: ObjectStore, bucket: str, key: bytes
) -> None:
    """Even correctly encrypted bytes are refused when their SHA-256 is not the address."""
    sha = hashlib.sha256(b"what the address promises").hexdigest()
    object_key = f"students/S-6/{sha}"
    nonce = os.urandom(12)
    forged = AESGCM(key).encrypt(nonce, b"something else", b"DSD1" + object_key.encode())
    store.put(bucket, object_key, b"DSD1" + nonce + forged)
    with pytest.raises(IntegrityError, match="hash_mismatch"):
        documents.get("S-6", key, sha)


def test_delete_removes_every_version(
    documents: DocumentStore, store: ObjectStore, bucket: str, key: bytes
) -> None:
    stored = documents.put("S-8", key, b"to be destroyed", "text/plain")
    documents.put("S-8", key, b"to be destroyed", "text/plain")
    kept = documents.put("S-8", key, b"kept", "text/plain")

    assert documents.delete("S-8", stored.sha256) == 2
    assert list(store.list_versions(bucket, stored.object_key)) == []
    with pytest.raises(ObjectNotFound):
        documents.get("S-8", key, stored.sha256)
    assert documents.get("S-8", key, kept.sha256) == b"kept"


def test_delete_student_removes_every_version_of_every_document(
    documents: DocumentStore, store: ObjectStore, bucket: str, key: bytes
) -> None:
    first = documents.put("S-1", key, b"passport", "image/jpeg")
    documents.put("S-1", key, b"passport", "image/jpeg")
    second = documents.put("S-1", key, b"certificate", "application/pdf")
    neighbour = documents.put("S-10", key, b"not S-1's", "text/plain")

    assert documents.delete_student("S-1") == 3

    assert list(store.list_versions(bucket, "students/S-1/")) == []
    for stored in (first, second):
        with pytest.raises(ObjectNotFound):
            documents.get("S-1", key, stored.sha256)
    assert documents.get("S-10", key, neighbour.sha256) == b"not S-1's"
    assert documents.delete_student("S-1") == 0


@pytest.mark.parametrize("student_ref", ["", "../S-1", "S-1/x", "S 1", "张三", "-lead", "x" * 129])
def test_student_refs_are_opaque_single_segments(
    documents: DocumentStore, key: bytes, student_ref: str
) -> None:
    with pytest.raises(ValueError, match="student_ref"):
        documents.put(student_ref, key, b"x", "text/plain")
    with pytest.raises(ValueError, match="student_ref"):
        documents.delete_student(student_ref)


def test_bad_keys_and_hashes_are_refused(documents: DocumentStore, key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        documents.put("S-1", key[:16], b"x", "text/plain")
    with pytest.raises(ValueError, match="sha256"):
        documents.get("S-1", key, "ABC")
    with pytest.raises(ValueError, match="sha256"):
        documents.delete("S-1", "../" + "0" * 61)
