"""One contract, two object stores: a local folder, and S3 (moto's server via the minio client)."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pytest
import urllib3
from minio import Minio

from dossier.storage.objects import (
    BucketNotFound,
    InvalidObjectKey,
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreError,
    S3ObjectStore,
)
from tests.support.s3 import S3Server, free_port, unique_bucket

MIB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    s3_store: S3ObjectStore = request.getfixturevalue("s3_store")
    return s3_store


@pytest.fixture
def bucket(store: ObjectStore) -> str:
    name = unique_bucket("contract")
    assert store.ensure_bucket(name) is False
    return name


def _random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(size // MIB):
            chunk = os.urandom(MIB)
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _stream_sha256(stream: BinaryIO, chunk: int = MIB) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while data := stream.read(chunk):
        digest.update(data)
        size += len(data)
    return digest.hexdigest(), size


def test_both_implement_the_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)


def test_put_get_round_trip(store: ObjectStore, bucket: str) -> None:
    info = store.put(
        bucket,
        "students/S-0001/report",
        b"hello dossier",
        content_type="text/plain",
        metadata={"kind": "report"},
    )
    assert info.key == "students/S-0001/report"
    assert info.size == len(b"hello dossier")
    assert info.version_id

    assert store.get(bucket, "students/S-0001/report") == b"hello dossier"
    assert store.exists(bucket, "students/S-0001/report")
    stat = store.stat(bucket, "students/S-0001/report")
    assert stat.size == len(b"hello dossier")
    assert stat.version_id == info.version_id
    assert stat.content_type == "text/plain"
    assert stat.metadata == {"kind": "report"}
    assert stat.etag == info.etag
    assert stat.last_modified is not None


def test_put_from_stream_with_and_without_length(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "known", io.BytesIO(b"0123456789abc"), 10)
    assert store.get(bucket, "known") == b"0123456789"
    info = store.put(bucket, "unknown", io.BytesIO(b"x" * 1000))
    assert info.size == 1000
    assert store.get(bucket, "unknown") == b"x" * 1000
    with pytest.raises(ValueError, match="length"):
        store.put(bucket, "mismatch", b"abc", 4)


def test_empty_object(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "empty", b"")
    assert store.get(bucket, "empty") == b""
    assert store.stat(bucket, "empty").size == 0


def test_large_object_streams_in_bounded_memory(
    store: ObjectStore, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    expected = _random_file(source, 20 * MIB)
    with source.open("rb") as data:
        info = store.put(bucket, "backups/big.bin", data, 20 * MIB)
    assert info.size == 20 * MIB

    tracemalloc.start()
    try:
        with store.open(bucket, "backups/big.bin") as stream:
            digest, size = _stream_sha256(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (digest, size) == (expected, 20 * MIB)
    assert peak < 8 * MIB, f"reading 20 MiB peaked at {peak / MIB:.1f} MiB"


def test_large_stream_of_unknown_length(store: ObjectStore, bucket: str) -> None:
    payload = os.urandom(6 * MIB + 123)
    info = store.put(bucket, "unknown-big", io.BytesIO(payload))
    assert info.size == len(payload)
    assert store.get(bucket, "unknown-big") == payload


def test_every_put_is_a_new_version(store: ObjectStore, bucket: str) -> None:
    first = store.put(bucket, "doc", b"first")
    second = store.put(bucket, "doc", b"second")
    assert first.version_id != second.version_id

    versions = list(store.list_versions(bucket, "doc"))
    assert [v.version_id for v in versions] == [second.version_id, first.version_id]
    assert [v.is_latest for v in versions] == [True, False]
    assert not any(v.is_delete_marker for v in versions)
    assert [v.size for v in versions] == [6, 5]

    assert store.get(bucket, "doc") == b"second"
    assert store.get(bucket, "doc", first.version_id) == b"first"
    with store.open(bucket, "doc", first.version_id) as stream:
        assert stream.read() == b"first"
    assert store.stat(bucket, "doc", first.version_id).is_latest is False
    assert store.stat(bucket, "doc").version_id == second.version_id

    latest = list(store.list(bucket, "doc"))
    assert [(i.key, i.version_id) for i in latest] == [("doc", second.version_id)]


def test_list_by_prefix(store: ObjectStore, bucket: str) -> None:
    for key in ["a/b", "a/bc", "a/b/c", "a/B", "b", "a/é"]:
        store.put(bucket, key, key.encode())
    assert [i.key for i in store.list(bucket)] == sorted(
        ["a/b", "a/bc", "a/b/c", "a/B", "b", "a/é"]
    )
    assert [i.key for i in store.list(bucket, "a/b")] == ["a/b", "a/b/c", "a/bc"]
    assert [i.key for i in store.list(bucket, "a/b/")] == ["a/b/c"]
    assert [i.key for i in store.list(bucket, "zzz")] == []
    assert store.get(bucket, "a/B") == b"a/B"
    assert store.get(bucket, "a/b") == b"a/b"


def test_delete_all_versions_leaves_nothing(store: ObjectStore, bucket: str) -> None:
    first = store.put(bucket, "students/S-1/doc", b"one")
    store.put(bucket, "students/S-1/doc", b"two")
    store.put(bucket, "students/S-1/doc2", b"neighbour")
    store.put(bucket, "students/S-1/doc/child", b"child")

    assert store.delete_all_versions(bucket, "students/S-1/doc") == 2

    assert [v.key for v in store.list_versions(bucket, "students/S-1/doc")] == [
        "students/S-1/doc/child",
        "students/S-1/doc2",
    ]
    with pytest.raises(ObjectNotFound):
        store.get(bucket, "students/S-1/doc")
    with pytest.raises(ObjectNotFound):
        store.get(bucket, "students/S-1/doc", first.version_id)
    with pytest.raises(ObjectNotFound):
        store.stat(bucket, "students/S-1/doc")
    assert not store.exists(bucket, "students/S-1/doc")
    assert store.delete_all_versions(bucket, "students/S-1/doc") == 0
    assert store.get(bucket, "students/S-1/doc2") == b"neighbour"

    again = store.put(bucket, "students/S-1/doc", b"three")
    assert again.version_id != first.version_id
    assert store.get(bucket, "students/S-1/doc") == b"three"


def test_missing_things_raise_not_found(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        store.get(bucket, "nope")
    assert caught.value.code == "not_found"
    assert "nope" in str(caught.value)
    with pytest.raises(ObjectNotFound):
        store.open(bucket, "nope")
    with pytest.raises(ObjectNotFound):
        store.stat(bucket, "nope")
    assert store.exists(bucket, "nope") is False
    assert list(store.list_versions(bucket, "nope")) == []

    missing = unique_bucket("missing")
    with pytest.raises(BucketNotFound):
        store.get(missing, "nope")
    with pytest.raises(BucketNotFound):
        store.put(missing, "k", b"x")
    with pytest.raises(BucketNotFound):
        store.exists(missing, "k")
    with pytest.raises(BucketNotFound):
        list(store.list(missing))


def test_ensure_bucket_is_idempotent(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "kept", b"x")
    assert store.ensure_bucket(bucket) is False
    assert store.get(bucket, "kept") == b"x"
    with pytest.raises(ValueError, match="versioning"):
        store.ensure_bucket(unique_bucket(), versioning=False, object_lock=True)


def test_unversioned_bucket_keeps_one_version(store: ObjectStore) -> None:
    name = unique_bucket("plain")
    store.ensure_bucket(name, versioning=False)
    store.put(name, "k", b"one")
    store.put(name, "k", b"two")
    assert [v.size for v in store.list_versions(name, "k")] == [3]
    assert store.get(name, "k") == b"two"
    assert store.delete_all_versions(name, "k") == 1
    assert list(store.list_versions(name)) == []


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../escape",
        "a/../../escape",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "trailing/",
        "nul\x00byte",
        "back\\slash",
        "new\nline",
        "x" * 1025,
    ],
)
def test_bad_keys_are_refused(store: ObjectStore, bucket: str, key: str) -> None:
    with pytest.raises(InvalidObjectKey) as caught:
        store.put(bucket, key, b"x")
    assert key not in str(caught.value) or not key
    with pytest.raises(InvalidObjectKey):
        store.get(bucket, key)
    with pytest.raises(InvalidObjectKey):
        store.delete_all_versions(bucket, key)


@pytest.mark.parametrize("name", ["", "ab", "UPPER", "../up", "a/b", "a..b", "-dash"])
def test_bad_bucket_names_are_refused(store: ObjectStore, name: str) -> None:
    with pytest.raises(InvalidObjectKey):
        store.ensure_bucket(name)


def test_local_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    local = LocalObjectStore(root)
    local.ensure_bucket("bucket")
    for key in ["../x", "../../x", "a/../../../x", "/abs/x", "..", "a/.."]:
        with pytest.raises(InvalidObjectKey):
            local.put("bucket", key, b"escaped")
    for key in ["..x", "x..", ".hidden", "%2e%2e", "C:", "con", "Doc", "doc"]:
        local.put("bucket", key, key.encode())
        assert local.get("bucket", key) == key.encode()
    assert local.get("bucket", "Doc") != local.get("bucket", "doc")
    outside = [p for p in tmp_path.rglob("*") if root not in p.parents and p != root]
    assert outside == []


def test_local_skips_a_version_reserved_but_not_written(tmp_path: Path) -> None:
    local = LocalObjectStore(tmp_path)
    local.ensure_bucket("bucket")
    info = local.put("bucket", "k", b"done")
    assert info.version_id is not None
    key_dir = next((tmp_path / "bucket" / "keys").glob("*.k"))
    (key_dir / f"{int(info.version_id) + 1:020d}.ver").touch()
    assert local.get("bucket", "k") == b"done"
    assert [v.version_id for v in local.list_versions("bucket")] == [info.version_id]
    assert local.delete_all_versions("bucket", "k") == 1
    assert not key_dir.exists()


def test_object_lock(store: ObjectStore) -> None:
    name = unique_bucket("locked")
    locked = store.ensure_bucket(name, object_lock=True)
    until = datetime.now(UTC) + timedelta(days=1)
    if isinstance(store, LocalObjectStore):
        assert locked is False
        with pytest.raises(ObjectStoreError, match="object_lock_not_active"):
            store.put(name, "k", b"x", retain_until=until)
        return

    assert locked is True
    assert store.ensure_bucket(name, object_lock=True) is True
    small = store.put(name, "small", b"retained", retain_until=until)
    assert small.retain_until is not None
    big = os.urandom(6 * MIB)
    store.put(name, "big", io.BytesIO(big), len(big), retain_until=until)
    store.put(name, "big-unknown", io.BytesIO(big), retain_until=until)
    store.put(name, "big-bytes", big, retain_until=until)
    store.put(name, "unretained", b"plain")
    for key in ["small", "big", "big-unknown", "big-bytes"]:
        retain_until = store.stat(name, key).retain_until
        assert retain_until is not None
        assert abs((retain_until - until).total_seconds()) < 1
    assert store.stat(name, "unretained").retain_until is None
    assert store.get(name, "big") == big

    assert store.delete_all_versions(name, "small") == 1
    assert store.delete_all_versions(name, "big") == 1
    assert list(store.list_versions(name, "small")) == []


def test_retention_needs_object_lock(store: ObjectStore, bucket: str) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(ObjectStoreError, match="object_lock_not_active"):
        store.put(bucket, "k", b"x", retain_until=until)
    with pytest.raises(ValueError, match="timezone"):
        store.put(bucket, "k", b"x", retain_until=datetime(2030, 1, 1))


def test_compliance_retention_refuses_deletion(s3_server: S3Server) -> None:
    store = S3ObjectStore(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        region=s3_server.region,
        retention_mode="COMPLIANCE",
    )
    name = unique_bucket("compliance")
    assert store.ensure_bucket(name, object_lock=True)
    store.put(name, "k", b"kept", retain_until=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(ObjectStoreError) as caught:
        store.delete_all_versions(name, "k")
    assert caught.value.reason == "AccessDenied"
    assert store.get(name, "k") == b"kept"


def test_s3_errors_do_not_leak_server_text(s3_store: S3ObjectStore) -> None:
    with pytest.raises(BucketNotFound) as caught:
        s3_store.stat(unique_bucket("absent"), "k")
    assert "S3 operation failed" not in str(caught.value)
    assert "request_id" not in str(caught.value).lower()


def test_unreachable_server_is_an_object_store_error() -> None:
    no_retries = urllib3.PoolManager(retries=False, timeout=2)
    store = S3ObjectStore(
        f"127.0.0.1:{free_port()}", "k", "s", region="us-east-1", http_client=no_retries
    )
    with pytest.raises(ObjectStoreError) as caught:
        store.exists("bucket", "k")
    assert caught.value.reason == "connection_error"


def test_delete_markers_are_listed_and_removed(
    s3_server: S3Server, s3_store: S3ObjectStore
) -> None:
    name = unique_bucket("markers")
    s3_store.ensure_bucket(name)
    first = s3_store.put(name, "k", b"before the marker")
    other_client = Minio(
        s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        secure=False,
        region=s3_server.region,
    )
    other_client.remove_object(name, "k")

    versions = list(s3_store.list_versions(name, "k"))
    assert [(v.is_delete_marker, v.is_latest) for v in versions] == [(True, True), (False, False)]
    assert list(s3_store.list(name)) == []
    assert not s3_store.exists(name, "k")
    with pytest.raises(ObjectNotFound):
        s3_store.get(name, "k")
    old = s3_store.stat(name, "k", first.version_id)
    assert old.is_latest is False
    assert s3_store.get(name, "k", first.version_id) == b"before the marker"

    assert s3_store.delete_all_versions(name, "k") == 2
    assert list(s3_store.list_versions(name, "k")) == []


def test_concurrent_puts_to_one_key_keep_every_version(store: ObjectStore, bucket: str) -> None:
    payloads = [f"writer {i}".encode() for i in range(24)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        infos = list(pool.map(lambda p: store.put(bucket, "contended", p), payloads))

    version_ids = {info.version_id for info in infos}
    assert len(version_ids) == len(payloads)
    listed = list(store.list_versions(bucket, "contended"))
    assert {v.version_id for v in listed} == version_ids
    contents = {store.get(bucket, "contended", v) for v in version_ids}
    assert contents == set(payloads)
    assert store.delete_all_versions(bucket, "contended") == len(payloads)


def test_header_injection_is_refused(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(ValueError, match="content_type"):
        store.put(bucket, "k", b"x", content_type="text/plain\r\nx-amz-acl: public-read")
    with pytest.raises(InvalidObjectKey):
        store.put(bucket, "k", b"x", metadata={"Bad Name": "x"})
    with pytest.raises(InvalidObjectKey):
        store.put(bucket, "k", b"x", metadata={"name": "line\nbreak"})
    assert not store.exists(bucket, "k")
