"""AES-GCM sealing, HKDF sub-keys, HMAC, master-key wrapping and blind-index normalisation."""

from __future__ import annotations

from datetime import date

import pytest

from dossier.core.enums import IdDocumentType
from dossier.core.records import IdDocument
from dossier.storage import crypto
from dossier.storage.blind_index import BlindIndexer, IndexKind, normalise
from dossier.storage.errors import IntegrityFailure
from dossier.storage.keys import MasterKey

KEY = bytes(range(32))
AAD = crypto.aad("students", "personal_ct", "SH01-26-000001-W")


def test_seal_round_trip_and_fresh_nonce_each_time() -> None:
    first = crypto.seal(KEY, b"secret", AAD)
    second = crypto.seal(KEY, b"secret", AAD)
    assert first != second
    assert first[0:1] == crypto.FORMAT_V1
    assert len(first) == 1 + crypto.NONCE_BYTES + len(b"secret") + 16
    assert crypto.unseal(KEY, first, AAD, "x") == b"secret"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda sealed: sealed[:-1] + bytes([sealed[-1] ^ 1]),  # flipped tag bit
        lambda sealed: sealed[:5] + bytes([sealed[5] ^ 1]) + sealed[6:],  # flipped nonce bit
        lambda sealed: b"\x02" + sealed[1:],  # unknown format
        lambda sealed: sealed[:10],  # truncated
    ],
)
def test_any_change_fails_authentication(tamper: object) -> None:
    sealed = crypto.seal(KEY, b"secret", AAD)
    with pytest.raises(IntegrityFailure) as caught:
        crypto.unseal(KEY, tamper(sealed), AAD, "students/1")  # type: ignore[operator]
    assert caught.value.params == {"where": "students/1"}


def test_ciphertext_cannot_move_to_another_row_or_key() -> None:
    sealed = crypto.seal(KEY, b"secret", AAD)
    other_row = crypto.aad("students", "personal_ct", "SH01-26-000002-U")
    with pytest.raises(IntegrityFailure):
        crypto.unseal(KEY, sealed, other_row, "x")
    with pytest.raises(IntegrityFailure):
        crypto.unseal(bytes(32), sealed, AAD, "x")


def test_keys_must_be_256_bit() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        crypto.seal(b"short", b"x", AAD)


def test_derived_keys_are_distinct_per_purpose_and_deterministic() -> None:
    a = crypto.derive_key(KEY, "dossier/a")
    assert a == crypto.derive_key(KEY, "dossier/a")
    assert a != crypto.derive_key(KEY, "dossier/b")
    assert len(a) == 32
    assert a != KEY


def test_keyed_hash_is_hmac_sha256_hex() -> None:
    # RFC 4231 test case 2
    digest = crypto.keyed_hash(b"Jefe", b"what do ya want for nothing?")
    assert digest == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_master_key_wraps_bound_to_key_id_and_master() -> None:
    master = MasterKey.from_bytes(KEY)
    wrapped = master.wrap("k1", b"d" * 32)
    assert master.unwrap("k1", wrapped) == b"d" * 32
    with pytest.raises(IntegrityFailure):
        master.unwrap("k2", wrapped)
    with pytest.raises(IntegrityFailure):
        MasterKey.from_bytes(bytes(32), key_id=master.key_id).unwrap("k1", wrapped)
    assert master.key_id.startswith("mk-")
    assert KEY.hex()[:16] not in master.key_id
    assert "secret" not in repr(master)


@pytest.mark.parametrize(
    ("kind", "left", "right"),
    [
        (IndexKind.PHONE, "+86 138-0013-8000", "+8613800138000"),
        (IndexKind.PHONE, "＋８６１３８００１３８０００", "+8613800138000"),  # full-width
        (
            IndexKind.ID_DOCUMENT,
            IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number="11010519491231002x"),
            IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number="110105 19491231 002X"),
        ),
        (
            IndexKind.NAME_BIRTH_PHONE,
            ("  Zhang   WEI ", date(2000, 1, 2), "+86 138 0013 8000"),
            ("zhang wei", date(2000, 1, 2), "+8613800138000"),
        ),
    ],
)
def test_normalisation_makes_equal_things_equal(
    kind: IndexKind, left: object, right: object
) -> None:
    assert normalise(kind, left) == normalise(kind, right)  # type: ignore[arg-type]
    indexer = BlindIndexer(KEY)
    assert indexer.digest(kind, left) == indexer.digest(kind, right)  # type: ignore[arg-type]


def test_normalisation_keeps_different_things_apart() -> None:
    passport = IdDocument(type=IdDocumentType.PASSPORT, number="E123")
    hkid = IdDocument(type=IdDocumentType.HKID, number="E123")
    assert normalise(IndexKind.ID_DOCUMENT, passport) != normalise(IndexKind.ID_DOCUMENT, hkid)
    with pytest.raises(TypeError):
        normalise(IndexKind.PHONE, passport)


def test_index_digests_depend_on_the_key_and_the_kind() -> None:
    one, other = BlindIndexer(KEY), BlindIndexer(bytes(32))
    assert one.digest(IndexKind.PHONE, "+861") != other.digest(IndexKind.PHONE, "+861")
    assert "+861" not in one.digest(IndexKind.PHONE, "+861")
