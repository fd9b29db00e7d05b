"""The review exports are pure: rows in, CSV or HTML text out — escaped, self-contained, exact."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from dossier.retention.report import (
    CSV_COLUMNS,
    FindingRow,
    RunRow,
    bar_chart_svg,
    findings_csv,
    report_html,
)

AT = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)


def finding(note: str | None = None, rule: str = "missing_id_proof") -> FindingRow:
    return FindingRow(
        branch="SH01",
        quarter="2026Q2",
        run_id="run-1",
        finding_id="f-1",
        student_number="SH01-26-000001-7",
        rule=rule,
        severity="warning",
        suggested_action="request_id_proof",
        status="open" if note is None else "resolved",
        detail={"path": "personal.phone", "age": 14},
        note=note,
        resolved_at=None if note is None else AT,
    )


@given(note=st.text(max_size=40))
def test_csv_round_trips_every_note_and_never_starts_a_formula(note: str) -> None:
    text = findings_csv([finding(note), finding(None, rule="invalid_contact")])
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    got = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    if note[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert got["note"] == "'" + note
    else:
        assert got["note"] == note
    assert got["detail"] == '{"age": 14, "path": "personal.phone"}'
    assert got["resolved_at"] == AT.isoformat()
    assert [r[CSV_COLUMNS.index("rule")] for r in rows[1:]] == [
        "missing_id_proof",
        "invalid_contact",
    ]


def test_html_escapes_everything_and_loads_nothing_from_outside() -> None:
    run = RunRow(
        branch="SH01",
        quarter="2026Q2",
        status="signed_off",
        started_at=AT,
        dossiers=10,
        by_rule={"<script>alert(1)</script>": 2, "missing_id_proof": 3},
        open=0,
        signed_off_by='rev"><img src=x>',
        signed_off_at=AT,
    )
    page = report_html([run], generated_at=AT)
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    assert ' src="' not in page
    assert ' href="' not in page
    assert page.count("<svg") == 1


def test_the_chart_has_one_labelled_bar_per_quarter_scaled_to_the_peak() -> None:
    svg = bar_chart_svg([("2026Q1", 0), ("2026Q2", 5), ("2026Q3", 10)], title="t")
    assert svg.count("<rect") == 3
    assert 'data-quarter="2026Q3" data-value="10"' in svg
    assert 'height="180" fill' in svg  # the peak fills the plot
    assert 'height="90" fill' in svg
    assert bar_chart_svg([], title="empty").count("<rect") == 0
