"""The documentation names every error code and rule the code can produce."""

from __future__ import annotations

from pathlib import Path

from dossier.messaging.replies import STATUS_BY_CODE
from scripts.errors_doc import rules_table

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_every_error_code_is_documented_with_its_status() -> None:
    text = ERRORS_DOC.read_text(encoding="utf-8")
    for code, status in STATUS_BY_CODE.items():
        assert f"| `{code}` | {status} |" in text, f"docs/errors.md lacks {code} ({status})"


def test_the_rules_table_matches_the_catalogue() -> None:
    """Run ``python scripts/errors_doc.py`` after adding or rewording a rule."""
    assert rules_table() in ERRORS_DOC.read_text(encoding="utf-8")
