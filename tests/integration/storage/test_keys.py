"""Master key sources and rotation: re-wrap every data key, touch no data row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from dossier.core import lifecycles
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database
from dossier.storage.errors import KeyUnavailable
from dossier.storage.hookspecs import hookimpl
from dossier.storage.keys import MasterKey
from dossier.storage.schema import data_keys
from dossier.storage.settings import StorageSettings, load_master_key
from tests.support import storage as build

DatabaseFactory = Callable[..., Database]


def fill(db: Database, count: int) -> list[str]:
    numbers = []
    for _ in range(count):
        marker = build.new_marker()
        reg = build.registration(marker)
        with db.unit_of_work() as uow:
            uow.apply(lifecycles.submit_registration(reg, build.ctx()), AuditSpec(action="s"))
            number = uow.numbers.next("SH01", 2026)
            accepted = lifecycles.accept_registration(reg, build.ctx(), number)
            uow.apply(accepted, AuditSpec(action="a"))
            uow.apply(lifecycles.admit(accepted.record, build.ctx()), AuditSpec(action="adm"))
            uow.change_requests.add(build.change_request(marker, number))
            uow.commit()
        numbers.append(number)
    return numbers


def data_rows(db: Database) -> dict[str, str]:
    rows = build.table_rows_as_text(db)
    rows.pop("data_keys")
    return rows


def test_rotation_rewraps_every_key_and_touches_no_data(
    open_db: DatabaseFactory, master_key: MasterKey
) -> None:
    db = open_db()
    numbers = fill(db, 7)
    before = data_rows(db)
    new_master = MasterKey.generate()

    assert db.rotate_master_key(new_master, batch_size=3) == 7 + 1  # students + index root

    assert data_rows(db) == before
    with db.engine.connect() as conn:
        assert set(conn.execute(select(data_keys.c.master_key_id)).scalars()) == {new_master.key_id}
    with open_db(new_master).unit_of_work() as uow:  # the new key reads everyone
        for number in numbers:
            assert uow.students.get(number).student_number == number
            assert uow.change_requests.for_student(number)
    with pytest.raises(KeyUnavailable):  # the old one no longer unwraps anything
        open_db(master_key).unit_of_work()
    stale = open_db(master_key)
    stale._indexer = db.indexer  # as if the process had the index key cached from before
    with stale.unit_of_work() as uow, pytest.raises(KeyUnavailable):
        uow.students.get(numbers[0])
    assert open_db(new_master).verify_audit().ok


def test_rotation_resumes_after_an_interruption(
    open_db: DatabaseFactory, master_key: MasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = open_db()
    numbers = fill(db, 5)
    new_master = MasterKey.generate()
    real_wrap = MasterKey.wrap
    calls = 0

    def flaky_wrap(self: MasterKey, key_id: str, data_key: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("power cut")
        return real_wrap(self, key_id, data_key)

    monkeypatch.setattr(MasterKey, "wrap", flaky_wrap)
    with pytest.raises(RuntimeError):
        db.rotate_master_key(new_master, batch_size=2)
    monkeypatch.setattr(MasterKey, "wrap", real_wrap)

    # a restarted process: new master configured, old one kept as retired until done
    resumed = open_db(new_master, retired_keys=[master_key])
    with resumed.unit_of_work() as uow:  # mixed state still reads fine
        assert [uow.students.get(n).student_number for n in numbers] == numbers
    assert resumed.rotate_master_key(new_master, batch_size=2) == 6 - 2
    with open_db(new_master).unit_of_work() as uow:
        assert [uow.students.get(n).student_number for n in numbers] == numbers


def test_new_keys_are_wrapped_by_the_new_master_after_rotation(
    open_db: DatabaseFactory,
) -> None:
    db = open_db()
    new_master = MasterKey.generate()
    db.rotate_master_key(new_master)
    (number,) = fill(db, 1)
    with open_db(new_master).unit_of_work() as uow:
        assert uow.students.get(number).student_number == number


def test_master_key_from_env_file_and_hook(tmp_path: Path) -> None:
    key = MasterKey.generate()
    assert MasterKey.from_env("K", {"K": key.to_base64()}) == key
    path = tmp_path / "master.key"
    path.write_text(key.to_base64() + "\n", encoding="ascii")
    assert MasterKey.from_file(path) == key
    assert key.secret.hex() not in repr(key)
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKey.from_base64("dG9vIHNob3J0")
    with pytest.raises(LookupError):
        MasterKey.from_env("DOSSIER_NOT_SET_ANYWHERE", {})

    settings = StorageSettings(master_key_file=path, master_key_env="UNSET")
    assert load_master_key(settings, plugins={}) == key

    from_kms = MasterKey.generate()

    class Kms:
        @hookimpl
        def dossier_master_key(self, settings: StorageSettings) -> MasterKey:
            return from_kms

    assert load_master_key(settings, plugins={"kms": Kms()}) == from_kms
