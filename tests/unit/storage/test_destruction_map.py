"""The data map says what destruction does to every table, and shredding does exactly that.

Every table is either about one student (`AT_DESTRUCTION`: how its rows are found, kept or
deleted, which columns are erased, on which ground kept) or declared about no one student
(`NOT_ABOUT_ONE_STUDENT`); every free-text column of a student's kept rows is erased; what
is kept holds no personal value; and the shredding code has a query for exactly the tables
the map names. A new free-text column fails here until the map says what destruction does
with it.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import sqlite

from dossier.core.enums import Locale
from dossier.core.policy import Role
from dossier.gateway.accounts import Account
from dossier.storage import shredding
from dossier.storage.data_map import (
    AT_DESTRUCTION,
    ERASED,
    NOT_ABOUT_ONE_STUDENT,
    PERSONAL_KINDS,
    TABLES,
    Fate,
    Kind,
    kept_columns,
)
from dossier.storage.schema import metadata

UNLINKED_FREE_TEXT = {
    ("review_runs", "sign_off_note"),
    ("read_alerts", "comment"),
    ("confidentiality_policies", "text_zh"),
    ("confidentiality_policies", "text_en"),
    ("training_sessions", "topic"),
    ("training_sessions", "trainer"),
    ("training_sessions", "materials"),
    ("training_materials", "name"),
}
"""Free text no row of which belongs to one student: a reviewer's note on a branch's run, an
auditor's comment on a misuse alert (about a staff member's reading), the branch's
confidentiality policy and its staff training records (保密承诺与培训), their material
files' names among them."""

KEPT_KINDS = {
    Kind.PSEUDONYMOUS_ID,
    Kind.RECORD_ID,
    Kind.FIELD_NAMES,
    Kind.AUDIT,
    Kind.DIGEST,
    Kind.EVENT,
    Kind.OPERATIONAL,
}
"""What a kept column of a destroyed student's row may hold: nothing personal, no free text."""


def test_every_table_is_either_about_one_student_or_declared_about_none() -> None:
    assert set(AT_DESTRUCTION) | set(NOT_ABOUT_ONE_STUDENT) == set(TABLES)
    assert not set(AT_DESTRUCTION) & set(NOT_ABOUT_ONE_STUDENT)


def test_erased_columns_exist_and_only_kept_rows_have_them() -> None:
    for table, rows in AT_DESTRUCTION.items():
        assert set(rows.erased) <= set(TABLES[table]), table
        assert len(set(rows.erased)) == len(rows.erased), table
        if rows.fate is Fate.DELETED:
            assert rows.erased == (), table
            assert rows.ground == "", table
        else:
            assert rows.ground, f"{table}: a kept table needs its ground"
        assert rows.linked_by, table


def test_every_free_text_column_linked_to_a_student_is_erased_or_deleted() -> None:
    for table, columns in TABLES.items():
        for column, entry in columns.items():
            if entry.kind is not Kind.FREE_TEXT or (table, column) in UNLINKED_FREE_TEXT:
                continue
            rows = AT_DESTRUCTION.get(table)
            assert rows is not None, f"{table}.{column}: free text about no student?"
            assert rows.fate is Fate.DELETED or column in rows.erased, (
                f"{table}.{column} is free text kept readable after a destruction"
            )
    for table, column in UNLINKED_FREE_TEXT:
        assert table in NOT_ABOUT_ONE_STUDENT
        assert TABLES[table][column].kind is Kind.FREE_TEXT


def test_what_is_kept_holds_no_personal_value() -> None:
    for table, rows in AT_DESTRUCTION.items():
        if rows.fate is not Fate.KEPT:
            continue
        kept = kept_columns(table)
        assert set(kept) | set(rows.erased) == set(TABLES[table])
        for column in kept:
            kind = TABLES[table][column].kind
            assert kind in KEPT_KINDS, f"{table}.{column} ({kind}) is kept"
            assert kind not in PERSONAL_KINDS
        for column in rows.erased:
            assert TABLES[table][column].kind is not Kind.KEY_MATERIAL


def test_shredding_has_a_query_for_exactly_the_tables_of_the_map() -> None:
    assert set(shredding.ROWS) == set(AT_DESTRUCTION)


def test_erasure_nulls_sealed_values_and_replaces_free_text() -> None:
    """What `erase` sets, column by column: NULL for sealed blobs, key ids and digests, the
    placeholder for everything else (and only where there was a value)."""
    for table, rows in AT_DESTRUCTION.items():
        if not rows.erased:
            continue
        statement = update(metadata.tables[table]).values(shredding._erasures(table))
        sql = str(
            statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
        )
        for column in rows.erased:
            kind = TABLES[table][column].kind
            if kind in {Kind.PERSONAL_SEALED, Kind.KEY_REFERENCE, Kind.DIGEST}:
                assert f"{column}=NULL" in sql, (table, column, sql)
            else:
                erased = f"CASE WHEN ({table}.{column} IS NULL) THEN NULL ELSE '{ERASED}' END"
                assert f"{column}={erased}" in sql, (table, column, sql)
        if "version" in metadata.tables[table].c:
            assert f"version=({table}.version + 1)" in sql


def test_a_students_web_actor_is_the_gateways() -> None:
    """Feedback and stored answers carry the gateway's actor id; shredding finds them by it."""
    account = Account(
        id="acc-1",
        login="SH01-26-000123-C",
        roles=frozenset({Role.STUDENT}),
        branches=frozenset({"SH01"}),
        student_number="SH01-26-000123-C",
        locale=Locale.ZH_CN,
    )
    assert account.actor.id == shredding.web_actor(account.login)
