"""Master key, wrapped per-student data keys, and master-key rotation (密钥管理).

Envelope encryption: every student (and every registration, before it has a
student number) gets a random 256-bit *data key* that seals its personal
fields. Data keys are stored only *wrapped* — sealed under a sub-key of the
*master key*, which lives outside the database (environment, file, or a KMS
through the ``dossier_master_key`` hook) — and each wrapped key records the id
of the master key that wrapped it.

- Crypto-shredding deletes the one ``data_keys`` row of a student: the
  ciphertext left anywhere (rows, documents, backups) can no longer be opened.
- Rotation (`KeyVault.rotate`) re-wraps every data key under a new master key
  in batches; the data rows are never touched. It is resumable: it only picks
  keys not yet wrapped by the new master.
- One more wrapped key, the chain-wide *index root* (purpose ``index``), feeds
  the blind indexes; being wrapped like the others, it survives rotation
  unchanged, so no index has to be recomputed.
- Each branch that keeps staff training materials has a *training key*
  (purpose ``training``, `training_key_id`): the materials are about no
  student, so no destruction deletes it; it is rotated like the others.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from attrs import field, frozen
from sqlalchemy import Connection, Engine, delete, select, update

from dossier.storage import crypto
from dossier.storage.errors import KeyUnavailable
from dossier.storage.schema import data_keys
from dossier.storage.sql import insert_ignoring_conflicts

STUDENT = "student"
INDEX = "index"
TRAINING = "training"
INDEX_ROOT_ID = "blind-index-root"


def training_key_id(branch: str) -> str:
    """The id of the key ``branch``'s training materials are sealed under."""
    return f"training-{branch}"


@frozen(repr=False)
class MasterKey:
    """The chain's master key (主密钥). Never logged: its repr shows the id only."""

    secret: bytes = field(eq=False)
    key_id: str

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    @classmethod
    def from_bytes(cls, secret: bytes, key_id: str | None = None) -> MasterKey:
        """A master key from 32 raw bytes; the id defaults to a fingerprint that reveals nothing."""
        if len(secret) != crypto.KEY_BYTES:
            raise ValueError("a master key is 32 bytes")
        fingerprint = crypto.keyed_hash(crypto.derive_key(secret, "dossier/master-key-id"), b"")
        return cls(secret, key_id or f"mk-{fingerprint[:16]}")

    @classmethod
    def from_base64(cls, text: str, key_id: str | None = None) -> MasterKey:
        try:
            secret = base64.b64decode(text.strip(), validate=True)
        except binascii.Error:
            raise ValueError("the master key is not valid base64") from None
        return cls.from_bytes(secret, key_id)

    @classmethod
    def from_env(
        cls, name: str = "DOSSIER_MASTER_KEY", environ: Mapping[str, str] | None = None
    ) -> MasterKey:
        """The master key from an environment variable holding 32 bytes in base64."""
        value = (os.environ if environ is None else environ).get(name)
        if not value:
            raise LookupError(f"environment variable {name} is not set")
        return cls.from_base64(value)

    @classmethod
    def from_file(cls, path: str | Path) -> MasterKey:
        """The master key from a file holding 32 bytes in base64 (a trailing newline is fine)."""
        return cls.from_base64(Path(path).read_text(encoding="ascii"))

    @classmethod
    def generate(cls) -> MasterKey:
        return cls.from_bytes(crypto.random_key())

    def to_base64(self) -> str:
        return base64.b64encode(self.secret).decode("ascii")

    def wrap(self, key_id: str, data_key: bytes) -> bytes:
        return crypto.seal(self._wrapping_key(), data_key, self._aad(key_id))

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        return crypto.unseal(self._wrapping_key(), wrapped, self._aad(key_id), f"data key {key_id}")

    def _wrapping_key(self) -> bytes:
        return crypto.derive_key(self.secret, "dossier/wrap-data-key")

    def _aad(self, key_id: str) -> bytes:
        return crypto.aad("data_keys", "wrapped", f"{key_id}@{self.key_id}")


class KeyVault:
    """Wraps, unwraps and rotates data keys under the configured master key(s).

    ``master`` wraps every new key; ``retired`` master keys are only used to
    unwrap keys not yet re-wrapped (during a rotation rolled out across
    several processes: configure the new key as master, the old as retired,
    run `rotate`, then drop the old one).
    """

    def __init__(
        self, engine: Engine, master: MasterKey, retired: Iterable[MasterKey] = ()
    ) -> None:
        self._engine = engine
        self._master = master
        self._ring = {key.key_id: key for key in (*retired, master)}
        self._index_root: bytes | None = None

    @property
    def master(self) -> MasterKey:
        return self._master

    def session(self, conn: Connection) -> DataKeys:
        """The data keys as seen from one transaction (one unit of work)."""
        return DataKeys(self, conn)

    def wrap(self, key_id: str, data_key: bytes) -> tuple[bytes, str]:
        return self._master.wrap(key_id, data_key), self._master.key_id

    def unwrap(self, key_id: str, wrapped: bytes, master_key_id: str) -> bytes:
        master = self._ring.get(master_key_id)
        if master is None:
            raise KeyUnavailable(key_id, master_key_id)
        return master.unwrap(key_id, wrapped)

    def index_root(self) -> bytes:
        """The chain-wide blind-index root key, created on first use (once, whoever races).

        Created in its own short transaction, never inside a unit of work: a
        root cached from a transaction that then rolled back would differ
        from the one another process creates.
        """
        if self._index_root is None:
            with self._engine.begin() as conn:
                self._index_root = DataKeys(self, conn).get_or_create(INDEX_ROOT_ID, INDEX)
        return self._index_root

    def rotate(self, new_master: MasterKey, *, batch_size: int = 500) -> int:
        """Re-wrap every data key under ``new_master``, one transaction per batch.

        Returns how many keys were re-wrapped. Resumable: an interrupted run
        leaves some keys under the old master, and the next run picks exactly
        those. Data rows are not touched. Afterwards this vault wraps with
        ``new_master``; the old master can be destroyed.
        """
        self._ring[new_master.key_id] = new_master
        self._master = new_master
        done = 0
        while True:
            with self._engine.begin() as conn:
                rows = conn.execute(
                    select(data_keys.c.id, data_keys.c.wrapped, data_keys.c.master_key_id)
                    .where(data_keys.c.master_key_id != new_master.key_id)
                    .order_by(data_keys.c.id)
                    .limit(batch_size)
                    .with_for_update()
                ).all()
                for key_id, wrapped, master_key_id in rows:
                    plain = self.unwrap(key_id, wrapped, master_key_id)
                    conn.execute(
                        update(data_keys)
                        .where(data_keys.c.id == key_id)
                        .values(
                            wrapped=new_master.wrap(key_id, plain), master_key_id=new_master.key_id
                        )
                    )
            done += len(rows)
            if len(rows) < batch_size:
                return done


class DataKeys:
    """Data keys inside one transaction: create, fetch (cached for the transaction), delete.

    Unwrapped keys are cached only for the life of the unit of work, never
    per process, so a shred in another process leaves no usable copy here.
    """

    def __init__(self, vault: KeyVault, conn: Connection) -> None:
        self._vault = vault
        self._conn = conn
        self._cache: dict[str, bytes] = {}

    def create(self, key_id: str, purpose: str = STUDENT) -> bytes:
        plain = crypto.random_key()
        self._conn.execute(data_keys.insert().values(self._row(key_id, purpose, plain)))
        self._cache[key_id] = plain
        return plain

    def rows(self, key_ids: Iterable[str], purpose: str = STUDENT) -> list[dict[str, object]]:
        """New keys as insert parameters (for bulk paths), cached like `create`."""
        out = []
        for key_id in key_ids:
            plain = crypto.random_key()
            self._cache[key_id] = plain
            out.append(self._row(key_id, purpose, plain))
        return out

    def get(self, key_id: str) -> bytes:
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        row = self._conn.execute(
            select(data_keys.c.wrapped, data_keys.c.master_key_id).where(data_keys.c.id == key_id)
        ).one_or_none()
        if row is None:
            raise KeyUnavailable(key_id, "-")
        plain = self._vault.unwrap(key_id, row.wrapped, row.master_key_id)
        self._cache[key_id] = plain
        return plain

    def get_or_create(self, key_id: str, purpose: str) -> bytes:
        candidate = self._row(key_id, purpose, crypto.random_key())
        self._conn.execute(insert_ignoring_conflicts(self._conn, data_keys).values(candidate))
        return self.get(key_id)

    def delete(self, key_id: str) -> None:
        self._cache.pop(key_id, None)
        self._conn.execute(delete(data_keys).where(data_keys.c.id == key_id))

    def _row(self, key_id: str, purpose: str, plain: bytes) -> dict[str, object]:
        wrapped, master_key_id = self._vault.wrap(key_id, plain)
        return {
            "id": key_id,
            "purpose": purpose,
            "wrapped": wrapped,
            "master_key_id": master_key_id,
            "created_at": datetime.now(UTC),
        }
