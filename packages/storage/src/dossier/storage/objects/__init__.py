"""Versioned object storage: the contract, the local folder default and the S3 implementation."""

from dossier.storage.objects.base import (
    BucketNotFound,
    IntegrityError,
    InvalidObjectKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreError,
)
from dossier.storage.objects.local import LocalObjectStore
from dossier.storage.objects.s3 import RetentionMode, S3ObjectStore

__all__ = [
    "BucketNotFound",
    "IntegrityError",
    "InvalidObjectKey",
    "LocalObjectStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "RetentionMode",
    "S3ObjectStore",
]
