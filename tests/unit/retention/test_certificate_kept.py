"""The certificate's kept part (保留内容) is derived from the data map: every kept table, each
column either kept (and holding no personal value) or erased, each with its ground."""

from __future__ import annotations

from dossier.core import wire
from dossier.core.contracts.retention import KeptRecord
from dossier.retention.certificates import NO_PERSONAL_VALUE, kept_records
from dossier.storage.data_map import (
    ACCOUNTING_GROUND,
    AT_DESTRUCTION,
    TABLES,
    Fate,
    Kind,
)

KEPT = [table for table, rows in AT_DESTRUCTION.items() if rows.fate is Fate.KEPT]


def test_every_kept_table_is_listed_once_with_its_count() -> None:
    counts = {table: n for n, table in enumerate(KEPT, start=1)}
    records = kept_records(counts)
    assert [r.what for r in records] == KEPT
    assert {r.what: r.count for r in records} == counts
    assert {r.what: r.count for r in kept_records({})} == dict.fromkeys(KEPT, 0)


def test_every_column_is_either_kept_or_erased_and_nothing_kept_is_personal() -> None:
    for record in kept_records({}):
        columns = TABLES[record.what]
        assert set(record.fields) | set(record.erased) == set(columns), record.what
        assert not set(record.fields) & set(record.erased), record.what
        assert record.erased == AT_DESTRUCTION[record.what].erased
        for name in record.fields:
            kind = columns[name].kind
            assert kind not in {Kind.FREE_TEXT, Kind.PERSONAL_SEALED, Kind.BLIND_INDEX}, (
                f"{record.what}.{name} is listed as kept but holds {kind}"
            )


def test_each_ground_says_why_kept_and_that_nothing_personal_remains() -> None:
    for record in kept_records({}):
        rows = AT_DESTRUCTION[record.what]
        assert record.ground.startswith(rows.ground)
        kinds = sorted({TABLES[record.what][name].kind.value for name in record.fields})
        assert record.ground.endswith(NO_PERSONAL_VALUE.format(kinds=", ".join(kinds)))
        assert "no personal value" in record.ground
        assert record.pseudonymised


def test_the_free_text_that_leaked_before_is_listed_as_erased() -> None:
    """The columns found readable after a destruction (issue 16, item 7)."""
    erased = {(r.what, name) for r in kept_records({}) for name in r.erased}
    assert {
        ("status_changes", "reason"),
        ("course_enrolments", "course_name"),
        ("payments", "receipt_ref"),
        ("review_findings", "note"),
        ("feedback", "text"),
        ("feedback", "submitted_by"),
        ("destruction_requests", "reason"),
        ("gateway_account_events", "reason"),
        ("registrations", "decision_reason"),
        ("change_requests", "review_comment"),
        ("legal_holds", "reason"),
        ("disclosures", "recipient"),
    } <= erased
    payments = next(r for r in kept_records({}) if r.what == "payments")
    assert payments.ground.startswith(ACCOUNTING_GROUND)
    assert "amount_minor" in payments.fields
    assert "receipt_ref" not in payments.fields


def test_a_kept_record_travels_with_its_erased_columns_and_old_ones_still_read() -> None:
    """A certificate stored before the ``erased`` field existed reads with none erased."""
    record = next(r for r in kept_records({"payments": 1}) if r.what == "payments")
    assert wire.structure(wire.unstructure(record), KeptRecord) == record
    old = {"what": "payments", "count": 1, "fields": ["amount_minor"], "ground": "g"}
    assert wire.structure(old, KeptRecord).erased == ()
