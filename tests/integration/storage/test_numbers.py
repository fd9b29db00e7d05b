"""Student numbers: once each, never reused — also with many processes on one PostgreSQL."""

from __future__ import annotations

import multiprocessing

import pytest

from dossier.core.branch import Branch
from dossier.core.plugins import PluginHost
from dossier.core.student_number import DEFAULT_FORMAT, is_valid
from dossier.storage.db import Database
from dossier.storage.keys import MasterKey
from dossier.storage.numbers import sequence_name
from tests.support import storage as build
from tests.support.postgres import reset_postgres


def test_numbers_count_up_per_branch_and_year(db: Database) -> None:
    with db.unit_of_work() as uow:
        drawn = [uow.numbers.next("SH01", 2026) for _ in range(3)]
        drawn += [uow.numbers.next("BJ02", 2026), uow.numbers.next("SH01", 2027)]
        uow.commit()
    assert drawn == [
        DEFAULT_FORMAT.format("SH01", 26, 1),
        DEFAULT_FORMAT.format("SH01", 26, 2),
        DEFAULT_FORMAT.format("SH01", 26, 3),
        DEFAULT_FORMAT.format("BJ02", 26, 1),
        DEFAULT_FORMAT.format("SH01", 27, 1),
    ]
    assert all(is_valid(n) for n in drawn)


def test_a_rolled_back_number_is_not_handed_out_again(db: Database) -> None:
    with db.unit_of_work() as uow:
        first = uow.numbers.next("SH01", 2026)
        uow.commit()
    with db.unit_of_work() as uow:
        uow.numbers.next("SH01", 2026)  # rolled back: PostgreSQL burns it, SQLite rewinds
    with db.unit_of_work() as uow:
        later = uow.numbers.next("SH01", 2026)
        uow.commit()
    assert later != first
    with db.unit_of_work() as uow:
        batch = uow.numbers.many("SH01", 2026, 4)
    assert len(set(batch)) == 4
    assert not {first, later} & set(batch)


def test_numbers_are_formatted_by_the_branch_rules(db: Database) -> None:
    rules = PluginHost({}).rules_for(Branch(code="HK01", name="Hong Kong"))
    with db.unit_of_work() as uow:
        number = uow.numbers.next("HK01", 2026, rules)
    assert number == rules.student_number_format().format("HK01", 26, 1)


@pytest.mark.parametrize("branch", ["sh01", "S", "SH01;DROP", "TOOLONG1"])
def test_sequence_names_take_only_branch_codes(branch: str) -> None:
    with pytest.raises(ValueError, match="branch code"):
        sequence_name(branch, 26)


# -- many writers -------------------------------------------------------------------

PROCESSES = 8
ADMISSIONS = 1000
WAIT = 480
"""Seconds to wait for all the admissions: about 100 on two idle cores, more while other
pytest workers share the machine (`python3 dev.py test`). Only a hang guard: pytest-timeout
ends the test at 600."""


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_admitting_at_once_never_share_a_number(
    postgres_migrated_url: str,
) -> None:
    reset_postgres(postgres_migrated_url)
    master = MasterKey.generate()
    setup = Database(postgres_migrated_url, master)
    assert setup.indexer  # the chain-wide index key exists before the race
    setup.dispose()
    # forkserver: fresh processes (no connection inherited from pytest), imports paid once
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.support.storage"])
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    workers = [
        ctx.Process(
            target=build.admit_many,
            args=(postgres_migrated_url, master.to_base64(), w, ADMISSIONS, out),
        )
        for w in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    try:
        results = [out.get(timeout=WAIT) for _ in workers]
        for w in workers:
            w.join(timeout=30)
            assert w.exitcode == 0
    finally:  # none left writing to the session's database, where the next tests run
        for w in workers:
            if w.is_alive():
                w.terminate()
                w.join(timeout=30)
    drawn = [n for numbers in results for n in numbers]
    assert len(drawn) == PROCESSES * ADMISSIONS
    assert len(set(drawn)) == len(drawn)
    db = Database(postgres_migrated_url, master)
    report = db.verify_audit()
    assert report.ok
    assert report.branches == {"SH01": PROCESSES * ADMISSIONS}
    with db.unit_of_work() as uow:
        assert len(uow.students.numbers(branch="SH01")) == PROCESSES * ADMISSIONS
    db.dispose()
